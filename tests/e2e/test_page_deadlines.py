"""Review deadlines on the page, in a real Chromium: the queue shows each item's
deadline ("due in 8h 0m") and marks an overdue one in words ("Overdue: overdue by 1h 0m"),
not by colour alone; the request shows the deadline of each authority still to decide.
The Niger scenario gives US.DoD ``review_deadline: {within: PT8H, ...}``; the service's
clock is pinned (it stands still on the page too), so "overdue" is deterministic."""

from __future__ import annotations

from datetime import timedelta

import httpx
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import NOW, set_now
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


def _queue_item(page: Page, request_id: str) -> Locator:
    return page.locator(f'#queue-items li[data-id="{request_id}"]')


def test_the_queue_shows_deadlines_and_marks_the_overdue_in_words(page: Page, site: Site) -> None:
    set_now(site.workflow, NOW)
    late = str(submit_over_api(site, "05")["id"])  # due NOW + 8 h (US.DoD's within)
    set_now(site.workflow, NOW + timedelta(hours=9))
    fresh = str(submit_over_api(site, "05", days_later=3)["id"])  # due NOW + 17 h

    sign_in(page, site.member("US.DoD"))

    overdue = _queue_item(page, late).locator(".deadline")
    expect(overdue).to_have_text("Overdue: overdue by 1h 0m")
    expect(overdue).to_have_attribute("data-overdue", "true")
    expect(overdue.locator("strong")).to_have_text("Overdue:")  # said, not only coloured
    expect(overdue.locator("time")).to_have_attribute("datetime", "2017-11-20T08:00:00Z")

    due = _queue_item(page, fresh).locator(".deadline")
    expect(due).to_have_text("Review due in 8h 0m")
    expect(due).to_have_attribute("data-overdue", "false")
    expect(_queue_item(page, fresh).locator(".overdue")).to_have_count(0)

    # the request: the deadline of the authority still to decide, on its card
    open_by_id(page, late)
    card = authority_card(page, "US.DoD")
    expect(card.locator(".review-due")).to_have_text("Overdue: overdue by 1h 0m")
    for later_stage in ("US.State", "NE.Defense", "NE.PM"):  # not asked yet: no deadline
        expect(authority_card(page, later_stage).locator(".review-due")).to_have_count(0)
    open_by_id(page, fresh)
    expect(authority_card(page, "US.DoD").locator(".review-due")).to_have_text(
        "Review due in 8h 0m"
    )


def test_the_next_authority_s_deadline_runs_from_when_the_request_reached_it(
    page: Page, site: Site
) -> None:
    set_now(site.workflow, NOW)
    request_id = str(submit_over_api(site, "05")["id"])
    set_now(site.workflow, NOW + timedelta(hours=9))  # US.DoD approves late
    decided = httpx.post(
        f"{site.base_url}/v1/requests/{request_id}/decisions",
        json={"authority": "US.DoD", "decision": "approve"},
        headers=bearer(site.member("US.DoD")),
    )
    assert decided.status_code == 200, decided.text
    set_now(site.workflow, NOW + timedelta(hours=10))  # US.State: within PT24H of 09:00

    sign_in(page, site.member("US.State"))
    expect(_queue_item(page, request_id).locator(".deadline")).to_have_text("Review due in 23h 0m")
    open_by_id(page, request_id)
    expect(authority_card(page, "US.State").locator(".review-due")).to_have_text(
        "Review due in 23h 0m"
    )
    expect(authority_card(page, "US.DoD").locator(".review-due")).to_have_count(0)  # decided
