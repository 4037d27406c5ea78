"""The request page's other panels and the overview, in a real Chromium: conditions and
denials, the queue by keyboard, waiting times per authority, conflicts, conformance with
the flown path, and the audit entries the browser checks itself (and catches when the
server's data is altered)."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

import httpx
from playwright.sync_api import Page, Route, expect

from clearance.domain.airspace.volumes import LatLng
from clearance.service.monitoring import simulated_track_csv
from tests.e2e.conftest import NOW, document, set_now
from tests.e2e.pagekit import (
    Site,
    authority_card,
    bearer,
    browser,
    open_by_id,
    page,
    sign_in,
    site,
    submit_over_api,
)

__all__ = ["browser", "page", "site"]  # fixtures


def decide_over_api(site: Site, request_id: str, authority: str, decision: str = "approve") -> None:
    decided = httpx.post(
        f"{site.base_url}/v1/requests/{request_id}/decisions",
        json={"authority": authority, "decision": decision},
        headers=bearer(site.member(authority)),
    )
    assert decided.status_code == 200, decided.text


def test_a_member_approves_with_conditions_from_the_queue_by_keyboard(
    page: Page, site: Site
) -> None:
    older = str(submit_over_api(site, "05")["id"])
    newer = str(submit_over_api(site, "05", days_later=1)["id"])
    sign_in(page, site.member("US.DoD"))
    items = page.locator("#queue-items li")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_have_attribute("data-id", older)  # oldest first

    page.keyboard.press("j")
    expect(items.nth(0)).to_have_class("selected")
    page.keyboard.press("j")
    expect(items.nth(1)).to_have_class("selected")
    page.keyboard.press("k")
    expect(items.nth(0)).to_have_class("selected")
    page.keyboard.press("o")
    expect(page.locator("#request-id")).to_have_text(older)
    expect(page.locator("#request-h")).to_be_focused()

    page.get_by_label("What the operator must do").fill("Report to Niamey tower on landing")
    page.get_by_label("Only until (UTC)").fill("2020-03-02T12:00")
    page.get_by_role("button", name="Approve").click()
    card = authority_card(page, "US.DoD")
    expect(card).to_contain_text("Conditions: Report to Niamey tower on landing")
    expect(card).to_contain_text("2020-03-02T12:00:00Z")
    shown = httpx.get(f"{site.base_url}/v1/requests/{older}", headers=bearer(site.operator()))
    (dod,) = [a for a in shown.json()["approvals"] if a["authority"] == "US.DoD"]
    assert dod["conditions"]["text"] == "Report to Niamey tower on landing"
    assert dod["conditions"]["time_end"] == "2020-03-02T12:00:00Z"

    page.keyboard.press("r")  # the queue now holds only the newer one
    expect(items).to_have_count(1)
    expect(items.nth(0)).to_have_attribute("data-id", newer)


def test_conditions_outside_the_requests_window_are_refused_with_the_reason(
    page: Page, site: Site
) -> None:
    rid = str(submit_over_api(site, "05")["id"])
    sign_in(page, site.member("US.DoD"))
    open_by_id(page, rid)
    page.get_by_label("What the operator must do").fill("Land before dark")
    page.get_by_label("Only until (UTC)").fill("2020-03-03T12:00")  # after the request ends
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#message")).to_contain_text("the window must lie within the request's")
    expect(authority_card(page, "US.DoD")).to_contain_text("needs review")
    page.get_by_label("Only until (UTC)").fill("")
    page.get_by_label("What the operator must do").fill("")
    page.get_by_label("Only from (UTC)").fill("2020-03-02T05:00")
    page.get_by_role("button", name="Approve").click()  # a window needs words too
    expect(page.locator("#message")).to_contain_text("conditions need a text")


def test_a_denial_with_a_comment_ends_the_request(page: Page, site: Site) -> None:
    rid = str(submit_over_api(site, "05")["id"])
    decide_over_api(site, rid, "US.DoD")
    sign_in(page, site.member("US.State"))
    open_by_id(page, rid)
    page.get_by_label("Comment").fill("Not during the talks in Niamey")
    page.get_by_role("button", name="Deny").click()
    expect(page.locator("#request-state")).to_have_text("denied")
    card = authority_card(page, "US.State")
    expect(card).to_contain_text("denied by US.State-member")
    expect(card).to_contain_text("Not during the talks in Niamey")
    expect(page.get_by_role("button", name="Deny")).to_be_hidden()


def test_the_overview_shows_waiting_times_and_the_slowest_authority(page: Page, site: Site) -> None:
    rid = str(submit_over_api(site, "05")["id"])
    set_now(site.workflow, NOW + timedelta(hours=2))
    decide_over_api(site, rid, "US.DoD")
    set_now(site.workflow, NOW + timedelta(days=3, hours=2))  # US.State takes three days
    decide_over_api(site, rid, "US.State")
    set_now(site.workflow, NOW + timedelta(days=3, hours=3))
    sign_in(page, site.member("NE.PM"))
    expect(page.locator("#overview")).to_be_visible()
    expect(page.locator("#by-state li[data-state='pending'] strong")).to_have_text("1")
    dod = page.locator("#waits-rows tr[data-authority='US.DoD']")
    expect(dod.locator("td").nth(1)).to_have_text("2h 0m")
    state = page.locator("#waits-rows tr[data-authority='US.State']")
    expect(state.locator("td").nth(1)).to_have_text("3d 0h")  # median
    expect(state.locator("td").nth(2)).to_have_text("3d 0h")  # 90th percentile
    expect(state).to_have_class("bottleneck")
    expect(page.locator("#bottleneck")).to_contain_text("US.State")
    pm = page.locator("#waits-rows tr[data-authority='NE.PM']")
    expect(pm.locator("td").nth(3)).to_have_text("1")  # waiting now
    expect(pm.locator("td").nth(4)).to_have_text("1h 0m")  # for an hour


def test_a_conflict_names_the_other_request_and_opens_it(page: Page, site: Site) -> None:
    first = str(submit_over_api(site, "01")["id"])  # ISR over Ouallam, cleared
    doc = document("01")
    doc["aircraft"] = "US-MQ9-1"  # another flight in the same airspace and time
    made = httpx.post(
        f"{site.base_url}/v1/requests", json=doc, headers=bearer(site.operator())
    ).json()
    assert made["state"] == "infeasible"
    sign_in(page, site.operator())
    open_by_id(page, made["id"])
    conflicts = page.locator("#conflicts li")
    expect(conflicts).to_have_count(1)
    expect(conflicts).to_contain_text(first)
    expect(page.locator("#violations li[data-code='conflict']")).to_have_count(0)  # listed once
    conflicts.get_by_role("button", name=f"Open request {first}").click()
    expect(page.locator("#request-id")).to_have_text(first)
    expect(page.locator("#request-state")).to_have_text("cleared")


def test_a_flown_track_is_checked_and_drawn_on_the_request_page(
    page: Page, site: Site, tmp_path: Path
) -> None:
    rid = str(submit_over_api(site, "01")["id"])  # cleared ISR around Ouallam
    track = tmp_path / "drift-into-mali.csv"
    track.write_text(simulated_track_csv(site.workflow, rid, LatLng(15.3, -0.5)))
    sign_in(page, site.operator())
    open_by_id(page, rid)
    expect(page.locator("#conformance-none")).to_be_visible()
    page.get_by_label("Flown track (.csv or .jsonl)").set_input_files(str(track))
    page.get_by_role("button", name="Check track").click()
    expect(page.locator("#conformance-verdict")).to_have_text("Not conforming")
    rows = page.locator("#conformance-excursions tr")
    expect(rows.filter(has_text="ML").first).to_contain_text("territory")
    expect(rows.filter(has_text="ML").first).to_contain_text("flagged")
    expect(page.locator("#map path.flown-bad")).to_have_count(1)
    expect(page.locator("#message")).to_contain_text("drift-into-mali.csv: NOT conforming")

    wrong = tmp_path / "track.txt"
    wrong.write_text("time,lat,lng,alt_m\n")
    page.get_by_label("Flown track (.csv or .jsonl)").set_input_files(str(wrong))
    page.get_by_role("button", name="Check track").click()
    expect(page.locator("#message")).to_have_text(
        "track.txt: a track file ends in .csv, .jsonl or .ndjson"
    )


def test_the_browser_checks_the_audit_entries_and_catches_altered_ones(
    page: Page, site: Site
) -> None:
    rid = str(submit_over_api(site, "05")["id"])
    decide_over_api(site, rid, "US.DoD")
    sign_in(page, site.operator())
    open_by_id(page, rid)
    entries = page.locator("#audit-entries li")
    expect(entries).to_have_count(2)
    expect(page.locator("#audit-entries li[data-ok='true']")).to_have_count(2)
    expect(page.locator("#audit-checkpoint")).to_have_attribute("data-ok", "true")
    expect(entries.nth(1)).to_contain_text("request.decided")
    # US.DoD names no root key in this scenario: its decision is recorded unsigned, and
    # the page's check says so rather than vouching for its consent
    expect(entries.nth(1)).to_contain_text("unsigned: US.DoD names no root key")
    expect(page.locator("#audit-unsigned")).to_have_text(
        "1 decision unsigned: US.DoD names no root key (recorded, but the authority's "
        "consent is not proven)"
    )

    # The server (or someone between) alters the decision's entry: the page says so.
    def altered(route: Route) -> None:
        body = route.fetch().json()
        data = bytearray(base64.b64decode(body["entries"][1]["data"]))
        data[data.index(b"approve")] = ord("A")
        body["entries"][1]["data"] = base64.b64encode(bytes(data)).decode()
        route.fulfill(json=body)

    page.route(f"**/v1/requests/{rid}/audit", altered)
    page.get_by_role("button", name="Refresh request").click()
    expect(page.locator("#audit-entries li[data-ok='false']")).to_have_count(1)
    expect(entries.nth(1)).to_contain_text("does not hash to its leaf")
    expect(entries.nth(0)).to_have_attribute("data-ok", "true")

    # A checkpoint signed by another key is refused, and then nothing is vouched for.
    page.unroute(f"**/v1/requests/{rid}/audit")

    def grown(route: Route) -> None:  # claims a bigger tree under the same signature
        body = route.fetch().json()
        lines = body["checkpoint"]["note"].split("\n")
        lines[1] = str(int(lines[1]) + 1)
        body["checkpoint"]["note"] = "\n".join(lines)
        route.fulfill(json=body)

    page.route(f"**/v1/requests/{rid}/audit", grown)
    page.get_by_role("button", name="Refresh request").click()
    expect(page.locator("#audit-checkpoint")).to_have_attribute("data-ok", "false")
    expect(page.locator("#audit-checkpoint")).to_contain_text("signature does not verify")
    expect(page.locator("#audit-entries li[data-ok='true']")).to_have_count(0)


def test_the_open_request_follows_decisions_made_elsewhere(page: Page, site: Site) -> None:
    rid = str(submit_over_api(site, "05")["id"])
    page.clock.install()  # the page's timers, under the test's hand
    page.reload()
    sign_in(page, site.operator())
    open_by_id(page, rid)
    expect(authority_card(page, "US.DoD")).to_contain_text("needs review")
    page.get_by_label("Request id").focus()
    decide_over_api(site, rid, "US.DoD")
    page.clock.run_for(16_000)  # one round of following, with no click
    expect(authority_card(page, "US.DoD")).to_contain_text("approved")
    expect(page.locator("#request-version")).to_have_text("2")
    expect(page.get_by_label("Request id")).to_be_focused()  # reading is not interrupted


def test_the_grantors_member_revokes_a_grant_from_the_chain(page: Page, site: Site) -> None:
    rid = str(submit_over_api(site, "01")["id"])  # cleared: NE.Defense's grant covers it
    sign_in(page, site.operator())
    open_by_id(page, rid)
    card = authority_card(page, "NE.Defense")
    expect(card).to_contain_text("covered by grant")
    expect(card.get_by_role("button", name="Revoke grant")).to_have_count(0)  # not the grantor

    sign_in(page, site.member("US.DoD"))  # another authority's member: nothing to revoke
    open_by_id(page, rid)
    expect(page.get_by_role("button", name="Revoke grant")).to_have_count(0)

    sign_in(page, site.member("NE.Defense"))
    open_by_id(page, rid)
    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="Revoke grant").click()
    expect(page.locator("#message")).to_contain_text(f"1 request(s) returned to review: {rid}")
    expect(page.locator("#request-state")).to_have_text("pending")
    expect(card).to_have_class("authority awaiting")
    expect(page.locator("#decide")).to_be_visible()  # NE.Defense now decides it
