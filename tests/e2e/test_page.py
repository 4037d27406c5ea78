"""The page, in a real headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright), against the API served by uvicorn on 127.0.0.1: an operator submits, the
four authorities decide in stage order, and the page never talks to another host."""

from __future__ import annotations

import json
import re
import time

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import document
from tests.e2e.pagekit import CHAIN, Site, authority_card, browser, page, sign_in, site

__all__ = ["browser", "page", "site"]  # fixtures


def test_an_armed_request_is_submitted_and_cleared_through_the_page(page: Page, site: Site) -> None:
    started = time.monotonic()
    sign_in(page, site.operator())
    expect(page.locator("#who")).to_contain_text("operator US.AFRICOM")
    expect(page.get_by_role("heading", name="Queue")).to_be_hidden()
    page.get_by_label("Request document (JSON or YAML)").fill(json.dumps(document("05")))
    page.get_by_role("button", name="Submit request").click()
    expect(page.locator("#request-state")).to_have_text("pending")
    request_id = page.locator("#request-id").inner_text()
    assert request_id
    expect(authority_card(page, "US.DoD")).to_have_class("authority awaiting")
    expect(page.locator("#events li")).to_have_count(1)
    expect(page.get_by_role("button", name="Approve")).to_be_hidden()  # an operator decides nothing

    # NE.Defense, whose stage is not open yet, sees the request but no decision button,
    # and the API refuses a forged decision for US.DoD's approval with its token.
    ne_defense = site.member("NE.Defense")
    sign_in(page, ne_defense)
    expect(page.locator("#queue-empty")).to_be_visible()
    page.get_by_label("Request id").fill(request_id)
    page.get_by_role("button", name="Open", exact=True).click()
    expect(page.locator("#request-state")).to_have_text("pending")
    expect(authority_card(page, "US.DoD")).to_contain_text("holds the request")
    expect(page.get_by_role("button", name="Approve")).to_be_hidden()
    expect(page.get_by_role("button", name="Deny")).to_be_hidden()
    forged = page.request.post(
        f"{site.base_url}/v1/requests/{request_id}/decisions",
        data={"authority": "US.DoD", "decision": "approve", "comment": "forged"},
        headers={"Authorization": f"Bearer {ne_defense}"},
    )
    assert forged.status == 403, forged.text()
    assert forged.json()["detail"]

    # Each authority in stage order: its queue shows the request, it opens and approves.
    for authority in CHAIN:
        sign_in(page, site.member(authority))
        queued = page.locator(f'#queue-items li[data-id="{request_id}"]')
        expect(queued).to_contain_text("waiting")
        queued.get_by_role("link").click()
        expect(authority_card(page, authority)).to_have_class("authority awaiting")
        awaiting = httpx.get(
            f"{site.base_url}/v1/requests/{request_id}",
            headers={"Authorization": f"Bearer {site.operator()}"},
        ).json()["awaiting"]
        expect(page.locator("#stages .authority.awaiting")).to_have_count(len(awaiting))
        for other in CHAIN:
            card = authority_card(page, other)
            if other in awaiting:
                expect(card).to_have_class("authority awaiting")
            else:
                expect(card).not_to_have_class("authority awaiting")
        page.get_by_label("Comment").fill(f"{authority} agrees")
        page.get_by_role("button", name="Approve").click()
        card = authority_card(page, authority)
        expect(card).to_contain_text("approved")
        expect(card).to_contain_text(f"by {authority}-member")
        expect(card).to_contain_text(f"{authority} agrees")
        expect(page.locator("#message")).to_contain_text(f"Approved for {authority}")
        expect(page.get_by_role("button", name="Approve")).to_be_hidden()

    expect(page.locator("#request-state")).to_have_text("cleared")
    assert page.locator("#events li").count() >= 1 + len(CHAIN)
    # one live state; the evaluation made at submission is shown apart, with its time
    expect(page.locator("#request-outcome")).to_have_text("pending")
    expect(page.locator("#request-evaluated-at")).to_have_text(re.compile(r"^2017-11-20T"))
    sign_in(page, site.operator())
    page.get_by_label("Request id").fill(request_id)
    page.get_by_role("button", name="Open", exact=True).click()
    expect(page.locator("#request-state")).to_have_text("cleared")
    assert time.monotonic() - started < 60


def test_errors_show_the_problem_detail(page: Page, site: Site) -> None:
    page.get_by_label("API token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    message = page.locator("#message")
    expect(message).to_be_visible()
    unauthorised = httpx.get(
        f"{site.base_url}/v1/me", headers={"Authorization": "Bearer not-a-token"}
    ).json()
    expect(message).to_have_text(unauthorised["detail"])

    sign_in(page, site.operator())
    bad = document("05") | {"payload": "nonsense"}
    page.get_by_label("Request document (JSON or YAML)").fill(json.dumps(bad))
    page.get_by_role("button", name="Submit request").click()
    expect(message).to_be_visible()
    expect(message).not_to_contain_text("Traceback")
    expect(page.locator("#request")).to_be_hidden()

    page.get_by_label("Request document (JSON or YAML)").fill("{not json")
    page.get_by_role("button", name="Submit request").click()
    expect(message).to_contain_text("not valid YAML")  # not JSON, so read as YAML


def test_the_page_works_at_narrow_widths_and_the_api_stays_reachable(
    page: Page, site: Site
) -> None:
    page.set_viewport_size({"width": 380, "height": 800})
    sign_in(page, site.operator())
    expect(page.locator("#compose-h")).to_be_focused()  # the view's heading takes focus
    page.keyboard.press("Tab")  # and the keyboard goes on to the form's controls
    focused = page.evaluate("document.activeElement.tagName")
    assert focused in {"BUTTON", "INPUT", "TEXTAREA", "SELECT"}, focused
    assert page.evaluate("document.documentElement.scrollWidth") <= 380
    page.get_by_label("Request document (JSON or YAML)").fill(json.dumps(document("05")))
    page.get_by_role("button", name="Submit request").click()
    expect(page.locator("#request-state")).to_have_text("pending")
    expect(page.locator("#audit-entries li[data-ok]")).to_have_count(1)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 380, width
    assert httpx.get(f"{site.base_url}/healthz").json() == {"status": "ok"}
    assert "/v1/me" in httpx.get(f"{site.base_url}/openapi.json").json()["paths"]


def test_the_request_view_maps_territories_sites_and_volumes_from_its_own_origin(
    page: Page, site: Site
) -> None:
    """Leaflet draws the scenario's territories and sites as SVG paths (no tiles, no
    other host: the ``page`` fixture checks every request) and the request's volumes."""
    sign_in(page, site.operator())
    page.get_by_label("Request document (JSON or YAML)").fill(
        json.dumps(document("05"))
    )  # a circle
    page.get_by_role("button", name="Submit request").click()
    expect(page.locator("#request-state")).to_have_text("pending")
    map_ = page.locator("#map")
    territories = len(site.workflow.current_scenario().territories)
    assert territories == 12
    expect(map_.locator("svg path.territory")).to_have_count(territories)
    expect(map_.locator("svg path.site")).to_have_count(len(site.workflow.current_scenario().sites))
    expect(map_.locator("svg path.volume")).to_have_count(1)
    expect(map_.locator("svg path.volume")).to_be_visible()
    expect(map_.locator(".party-label").get_by_text("Niger", exact=True)).to_have_count(1)

    first = page.locator("#request-id").inner_text()
    page.get_by_role("button", name="Compose").click()
    page.get_by_label("Request document (JSON or YAML)").fill(
        json.dumps(document("02"))
    )  # a polygon
    page.get_by_role("button", name="Submit request").click()
    expect(page.locator("#request-id")).not_to_have_text(first)
    expect(map_.locator("svg path.volume")).to_have_count(len(document("02")["volumes"]))
    expect(map_.locator("svg path.territory")).to_have_count(territories)
    assert map_.locator("img").count() == 0  # no tiles, no marker images


def test_the_browser_itself_refuses_the_page_any_other_host(browser: Browser, site: Site) -> None:
    """The Content-Security-Policy sent with the page makes Chromium block a request to
    another host, should any script of the page ever try one."""
    response = httpx.get(f"{site.base_url}/")
    policy = response.headers["content-security-policy"]
    assert "connect-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    context = browser.new_context()
    try:
        tab = context.new_page()
        blocked: list[str] = []
        tab.on("console", lambda m: blocked.append(m.text))
        tab.goto(site.base_url + "/")
        outcome = tab.evaluate(
            """() => fetch("http://127.0.0.2:9/elsewhere").then(() => "sent", (e) => "refused")"""
        )
        assert outcome == "refused"
        assert any("Content Security Policy" in text for text in blocked), blocked
    finally:
        context.close()
