"""The page keeps the service's clock: between calls it runs its copy forward at the
``clock_rate`` of ``/v1/me``, so a replayed scenario's waits grow on the page as on the
server, and a pinned clock's stand still. Both clocks are under the test's hand (the
server's monotonic source is a fake; Playwright drives the page's timers): no sleeps."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from clearance.adapters.clock import ReplayClock
from tests.e2e.conftest import NOW
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


class FakeMonotonic:
    seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


def approve_over_api(site: Site, request_id: str, authority: str) -> None:
    decided = httpx.post(
        f"{site.base_url}/v1/requests/{request_id}/decisions",
        json={"authority": authority, "decision": "approve"},
        headers=bearer(site.member(authority)),
    )
    assert decided.status_code == 200, decided.text


def test_a_replayed_clock_runs_on_the_page_at_its_rate(page: Page, site: Site) -> None:
    ticks = FakeMonotonic()
    site.workflow.clock = ReplayClock(NOW, 60, monotonic=ticks)  # a real minute, an hour
    rid = str(submit_over_api(site, "05")["id"])
    page.clock.install()
    page.reload()
    sign_in(page, site.operator())
    open_by_id(page, rid)
    expect(authority_card(page, "US.DoD")).to_contain_text("needs review")

    # A real minute on both sides: an hour of replay. US.DoD approves at 01:00.
    page.clock.run_for(60_000)
    ticks.seconds += 60
    approve_over_api(site, rid, "US.DoD")
    # 16 real seconds more (the page follows the request): 16 minutes of replay, and a
    # little more for the seconds the page's time flowed by itself since the sign-in.
    page.clock.run_for(16_000)
    expect(authority_card(page, "US.State")).to_contain_text(
        re.compile(r"pending since 2017-11-20T01:00:00Z \((1[6-9]|2[0-9])m\)")
    )


def test_the_page_shows_waits_by_the_services_clock_not_its_own(page: Page, site: Site) -> None:
    """With the service's clock pinned, an hour on the page changes no wait."""
    rid = str(submit_over_api(site, "05")["id"])
    page.clock.install()
    page.reload()
    sign_in(page, site.operator())
    open_by_id(page, rid)
    page.clock.run_for(3_600_000)
    approve_over_api(site, rid, "US.DoD")  # at the pinned 2017-11-20T00:00:00Z
    page.clock.run_for(16_000)
    expect(authority_card(page, "US.State")).to_contain_text(
        "pending since 2017-11-20T00:00:00Z (0s)"
    )
