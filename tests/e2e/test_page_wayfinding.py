"""The page as an official with seconds uses it, in a real Chromium: requests listed by
title and state, an address for every view (reload, share, back and forward), maps that
name the countries at any zoom with a scale, the launch site and the aircraft's range,
conflicts listed once with the other operation drawn (only its extent and time when it is
another operator's), a compose form that opens on a clean default with 24-hour UTC times,
and the common picture with its time slider."""

from __future__ import annotations

import json
import re

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import document
from tests.e2e.pagekit import (
    Site,
    authority_card,
    bearer,
    browser,
    page,
    sign_in,
    site,
    submit_over_api,
    watched_page,
)

__all__ = ["browser", "page", "site"]  # fixtures

OUALLAM_TITLE = (
    "isr (unarmed) · US.AFRICOM · Tillabéri region near the Mali border (illustrative)"
    " · 2017-11-21 06:00Z"
)


def submit_as(site: Site, operator: str, doc: dict[str, object]) -> dict[str, object]:
    made = httpx.post(
        f"{site.base_url}/v1/requests", json=doc, headers=bearer(site.operator(operator))
    )
    assert made.status_code == 201, made.text
    body: dict[str, object] = made.json()
    return body


def on(doc: dict[str, object], start: str, end: str) -> dict[str, object]:
    for volume in doc["volumes"]:  # type: ignore[attr-defined]
        volume["time_start"]["value"], volume["time_end"]["value"] = start, end
    return doc


def composed(page: Page) -> dict[str, object]:
    doc: dict[str, object] = json.loads(
        page.get_by_label("Request document (JSON or YAML)").input_value()
    )
    return doc


def test_requests_are_listed_by_title_and_state_not_by_id(page: Page, site: Site) -> None:
    cleared = str(submit_over_api(site, "01")["id"])
    pending = str(submit_over_api(site, "05")["id"])
    sign_in(page, site.operator())
    item = page.locator(f'#requests-items li[data-id="{cleared}"]')
    expect(item.get_by_role("link", name=OUALLAM_TITLE)).to_be_visible()
    expect(item.locator(".state")).to_have_text("cleared")
    assert cleared not in item.inner_text()
    sign_in(page, site.member("US.DoD"))
    queued = page.locator(f'#queue-items li[data-id="{pending}"]')
    expect(queued).to_contain_text("armed-overwatch (armed) · US.AFRICOM · ")
    expect(queued).to_contain_text("2020-03-02 04:00Z")
    assert pending not in queued.inner_text()
    queued.get_by_role("link").click()
    expect(page.locator("#request-h")).to_contain_text("armed-overwatch (armed) · US.AFRICOM")
    expect(page.locator("#request-id")).to_have_text(pending)


def test_every_view_has_an_address_to_reload_share_and_go_back_to(
    page: Page, site: Site, browser: Browser
) -> None:
    rid = str(submit_over_api(site, "01")["id"])
    sign_in(page, site.operator())
    expect(page).to_have_url(re.compile(r"#/compose$"))
    page.locator(f'#requests-items li[data-id="{rid}"] a').click()
    expect(page).to_have_url(re.compile(f"#/requests/{rid}$"))
    page.reload()  # the session's token is kept: the same request again
    expect(page.locator("#request-id")).to_have_text(rid)
    expect(page.locator("#request")).to_be_visible()
    page.get_by_role("button", name="Overview", exact=True).click()
    expect(page).to_have_url(re.compile(r"#/overview$"))
    expect(page.locator("#overview")).to_be_visible()
    page.get_by_role("button", name="Picture", exact=True).click()
    expect(page).to_have_url(re.compile(r"#/picture"))
    page.go_back()
    expect(page.locator("#overview")).to_be_visible()
    page.go_back()
    expect(page.locator("#request")).to_be_visible()
    expect(page.locator("#request-id")).to_have_text(rid)
    page.go_forward()
    expect(page.locator("#overview")).to_be_visible()

    # shared: another tab given the address shows that request once signed in
    for other in watched_page(browser, site):
        other.goto(f"{site.base_url}/#/requests/{rid}")
        sign_in(other, site.member("NE.Defense"))
        expect(other.locator("#request-id")).to_have_text(rid)
        expect(other.locator("#request-h")).to_have_text(OUALLAM_TITLE)
    # given to someone who may not see it: it does not exist for them, and the rest works
    for other in watched_page(browser, site):
        other.goto(f"{site.base_url}/#/requests/{rid}")
        sign_in(other, site.operator("FR.Barkhane"))
        expect(other.locator("#message")).to_contain_text(f"no request '{rid}'")
        expect(other.locator("#requests-items li")).to_have_text("No request.")

    # a member's queue has an address too
    sign_in(page, site.member("US.DoD"))
    page.get_by_role("button", name="Queue", exact=True).click()
    expect(page).to_have_url(re.compile(r"#/queue/US\.DoD$"))
    page.reload()
    expect(page.locator("#queue-h")).to_be_focused()


def test_the_request_map_names_countries_when_zoomed_in_and_shows_scale_site_and_range(
    page: Page, site: Site
) -> None:
    rid = str(submit_over_api(site, "01")["id"])  # ISR around Ouallam, from Niamey, MQ-1B
    sign_in(page, site.operator())
    page.goto(f"{site.base_url}/#/requests/{rid}")
    the_map = page.locator("#map")
    expect(the_map.locator(".leaflet-control-scale-line")).to_have_text(re.compile(r"^\d+ k?m$"))
    expect(the_map.locator("path.launch-site")).to_have_count(1)  # Niamey Air Base 101
    expect(the_map.locator("path.range")).to_have_count(1)  # the MQ-1B's 740 km
    for _ in range(3):  # well inside Niger, far from where its name would sit unzoomed
        the_map.get_by_role("button", name="Zoom in").click()
        page.wait_for_timeout(300)
    niger = the_map.locator(".party-label span", has_text=re.compile(r"^Niger$"))
    expect(niger).to_have_count(1)
    expect(niger).to_be_visible()
    box, label = the_map.bounding_box(), niger.bounding_box()
    assert box is not None
    assert label is not None
    assert box["x"] <= label["x"]
    assert label["x"] + label["width"] <= box["x"] + box["width"]
    assert box["y"] <= label["y"]
    assert label["y"] + label["height"] <= box["y"] + box["height"]


def test_a_conflict_is_listed_once_and_the_other_operation_is_drawn(page: Page, site: Site) -> None:
    first = str(submit_over_api(site, "02")["id"])  # two volumes
    doc = document("02")
    doc["aircraft"] = "US-MQ9-1"  # the same two volumes again: both conflict
    again = submit_as(site, "US.AFRICOM", doc)
    assert again["state"] == "infeasible"
    sign_in(page, site.operator())
    page.goto(f"{site.base_url}/#/requests/{again['id']}")
    expect(page.locator("#conflicts li")).to_have_count(1)
    expect(page.locator("#violations li")).to_have_count(0)
    expect(page.locator("#violations-none")).to_be_visible()
    expect(page.locator("#map path.other-volume")).to_have_count(2)
    page.locator("#conflicts li").get_by_role("button", name=f"Open request {first}").click()
    expect(page.locator("#request-id")).to_have_text(first)
    # while composing the same again, the evaluation draws what it would conflict with
    page.get_by_role("button", name="Compose", exact=True).click()
    page.get_by_label("Request document (JSON or YAML)").fill(json.dumps(doc))
    expect(page.locator("#evaluation-outcome")).to_have_text("infeasible")
    expect(page.locator("#compose-map path.other-volume")).to_have_count(2)


def test_another_operators_operation_in_a_conflict_shows_only_where_and_when(
    page: Page, site: Site
) -> None:
    submit_as(site, "FR.Barkhane", document("06"))  # armed overwatch near Ouallam, 24 Nov
    ours = submit_as(
        site, "US.AFRICOM", on(document("01"), "2017-11-24T06:00:00Z", "2017-11-24T10:00:00Z")
    )
    sign_in(page, site.operator())
    page.goto(f"{site.base_url}/#/requests/{ours['id']}")
    conflict = page.locator("#conflicts li")
    expect(conflict).to_have_count(1)
    expect(conflict).to_contain_text("another operator's operation")
    expect(conflict).to_contain_text("2017-11-24T04:00:00Z to 2017-11-24T16:00:00Z")
    expect(conflict.get_by_role("button")).to_have_count(0)  # nothing to open
    expect(page.locator("#map path.other-volume")).to_have_count(1)  # its extent
    assert "FR" not in conflict.inner_text().replace("FROM", "")


def test_compose_opens_on_a_default_that_evaluates_cleanly_with_no_error(
    page: Page, site: Site
) -> None:
    sign_in(page, site.operator())
    expect(page.locator("#evaluation-outcome")).to_have_text(re.compile(r"^(cleared|pending)$"))
    expect(page.locator("#evaluation-problem")).to_be_hidden()
    expect(page.locator("#message")).to_be_hidden()
    expect(page.locator(".field-problem:visible")).to_have_count(0)
    doc = composed(page)
    assert doc["payload"] == "unarmed"
    assert len(doc["volumes"]) == 1  # type: ignore[arg-type]
    compose_map = page.locator("#compose-map")
    expect(compose_map.locator("path.launch-site")).to_have_count(1)
    expect(compose_map.locator("path.range")).to_have_count(1)
    expect(compose_map.locator(".leaflet-control-scale-line")).to_be_visible()
    # another aircraft: its range follows
    page.get_by_label("Aircraft").select_option("US-MQ9-1")
    expect(compose_map.locator("path.range")).to_have_count(1)


def test_time_fields_take_24_hour_utc_times(page: Page, site: Site) -> None:
    sign_in(page, site.operator())
    start, end = page.get_by_label("Start (UTC)"), page.get_by_label("End (UTC)")
    expect(start).to_have_attribute("type", "text")
    start.fill("2017-11-21 18:30")
    end.fill("2017-11-21 23:45")
    volume = composed(page)["volumes"][0]  # type: ignore[index]
    assert volume["time_start"]["value"] == "2017-11-21T18:30:00Z"
    assert volume["time_end"]["value"] == "2017-11-21T23:45:00Z"
    expect(page.locator("#evaluation-outcome")).to_have_text(re.compile(r"^(cleared|pending)$"))

    start.fill("2017-11-21 6:30 PM")  # not a 24-hour time: said beside the field
    expect(page.locator("#c-start-problem")).to_contain_text("YYYY-MM-DD HH:MM, 24-hour")
    expect(start).to_have_attribute("aria-invalid", "true")
    assert composed(page)["volumes"][0]["time_start"]["value"] == "2017-11-21T18:30:00Z"  # type: ignore[index]
    start.fill("2017-11-21 24:00")
    expect(page.locator("#c-start-problem")).to_be_visible()
    start.fill("2017-11-21 19:00")
    expect(page.locator("#c-start-problem")).to_be_hidden()
    expect(start).to_have_attribute("aria-invalid", "false")

    # a member's conditions take the same 24-hour times
    rid = str(submit_over_api(site, "05")["id"])
    sign_in(page, site.member("US.DoD"))
    page.goto(f"{site.base_url}/#/requests/{rid}")
    page.get_by_label("What the operator must do").fill("Land by evening")
    page.get_by_label("Only until (UTC)").fill("2020-03-02 15:30")
    page.get_by_role("button", name="Approve").click()
    expect(authority_card(page, "US.DoD")).to_contain_text("2020-03-02T15:30:00Z")


def test_the_picture_colours_operations_by_state_and_the_slider_moves_in_time(
    page: Page, site: Site
) -> None:
    submit_over_api(site, "01")  # cleared, 2017-11-21 06:00-14:00
    submit_over_api(site, "02")  # cleared, 2017-11-22 05:00-09:00 and 09:00-13:00
    pending = str(submit_over_api(site, "05")["id"])  # pending, 2020-03-02 04:00-16:00
    submit_as(site, "FR.Barkhane", document("07"))  # another operator's: not US.DoD's chain
    sign_in(page, site.member("NE.Defense"))  # in the chain of all of them
    page.get_by_role("button", name="Picture", exact=True).click()
    shown = page.locator("#picture-map path.picture-volume")
    when = page.locator("#picture-when")
    # the service's clock says 2017-11-20; the first operation flies the next morning
    expect(when).to_have_text("2017-11-21 06:00 UTC")
    expect(shown).to_have_count(1)
    expect(page.locator("#picture-map path.state-cleared")).to_have_count(1)
    expect(page.locator("#picture-map path.state-cleared")).to_have_attribute("stroke", "#146c2e")
    expect(page.locator("#picture-active li")).to_have_count(1)
    expect(page.locator("#picture-active li")).to_contain_text(OUALLAM_TITLE)

    page.get_by_label("Instant (UTC)").fill(str(1_511_330_400))  # 2017-11-22 06:00
    expect(when).to_have_text("2017-11-22 06:00 UTC")
    expect(shown).to_have_count(1)  # 02's first volume only
    expect(page).to_have_url(re.compile(r"#/picture/2017-11-22T06:00:00.000Z$"))
    page.get_by_role("button", name="Next start or end").click()
    expect(when).to_have_text("2017-11-22 09:00 UTC")  # its first volume ends, the second starts
    expect(shown).to_have_count(1)

    page.goto(f"{site.base_url}/#/picture/2020-03-02T06:00:00Z")
    expect(page.locator("#picture-map path.state-pending")).to_have_count(1)
    expect(page.locator("#picture-map path.state-pending")).to_have_attribute("stroke", "#b7791f")
    expect(page.locator(f'#picture-active li[data-id="{pending}"]')).to_contain_text("pending")
    expect(page.locator("#picture-legend li[data-state='pending']")).to_contain_text("pending: 1")

    # US.DoD is not in the French chain: at the French flight's time it sees nothing
    sign_in(page, site.member("US.DoD"))
    page.goto(f"{site.base_url}/#/picture/2017-11-25T08:00:00Z")
    expect(when).to_have_text("2017-11-25 08:00 UTC")
    expect(shown).to_have_count(0)
    expect(page.locator("#picture-none")).to_be_visible()
