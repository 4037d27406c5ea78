"""Forecasts and the overview's charts in a real Chromium: the forecast on a queue item,
on the request (and on each authority of its chain still to decide), the pending
requests' forecasts, the charts (time to a decision per authority with the bottleneck,
the share cleared automatically, forecast against actual) with their text alternatives,
and "too little history" said plainly."""

from __future__ import annotations

from datetime import timedelta

import httpx
from playwright.sync_api import Page, expect

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

INTO_NIGERIA = "13"  # NE.Defense and NG.Defense in parallel at stage 2
# the first forecast of a server imports lifelines (pandas, scipy): seconds on a busy machine
FIRST = 60_000


def _approve(site: Site, request_id: str, authority: str) -> None:
    decided = httpx.post(
        f"{site.base_url}/v1/requests/{request_id}/decisions",
        json={"authority": authority, "decision": "approve"},
        headers=bearer(site.member(authority)),
    )
    assert decided.status_code == 200, decided.text


def _history(site: Site, n: int = 7) -> list[str]:
    """``n`` requests into Nigeria, one a day; NE.Defense approves each after 2 hours,
    NG.Defense after 5 (the slow one)."""
    ids = []
    for day in range(n):
        set_now(site.workflow, NOW + timedelta(days=day))
        request_id = str(submit_over_api(site, INTO_NIGERIA, days_later=20 + day)["id"])
        set_now(site.workflow, NOW + timedelta(days=day, hours=2))
        _approve(site, request_id, "NE.Defense")
        set_now(site.workflow, NOW + timedelta(days=day, hours=5))
        _approve(site, request_id, "NG.Defense")
        ids.append(request_id)
    return ids


def test_the_queue_and_the_request_show_when_it_will_likely_clear(page: Page, site: Site) -> None:
    _history(site)
    set_now(site.workflow, NOW + timedelta(days=10))
    waiting = str(submit_over_api(site, INTO_NIGERIA, days_later=30)["id"])
    sign_in(page, site.member("NE.Defense"))
    item = page.locator(f"#queue-items li[data-id='{waiting}']")
    expect(item.locator(".forecast")).to_have_text(
        "Likely clears in 5h 0m (80 %: 5h 0m to 5h 0m); 100 % chance before its start.",
        timeout=FIRST,
    )
    open_by_id(page, waiting)
    expect(page.locator("#request-forecast-text")).to_contain_text("Likely clears in 5h 0m")
    expect(page.locator("#request-forecast-text")).to_have_attribute("data-status", "forecast")
    expect(authority_card(page, "NG.Defense").locator(".step-forecast")).to_have_text(
        "Forecast: usually decides in 5h 0m (7 decisions)"
    )
    expect(authority_card(page, "NE.Defense").locator(".step-forecast")).to_contain_text(
        "usually decides in 2h 0m"
    )
    _approve(site, waiting, "NE.Defense")
    _approve(site, waiting, "NG.Defense")
    page.get_by_role("button", name="Refresh request").click()
    expect(page.locator("#request-state")).to_have_text("cleared")
    expect(page.locator("#request-forecast")).to_be_hidden()  # a cleared one waits for no one


def test_too_little_history_is_said_plainly(page: Page, site: Site) -> None:
    waiting = str(submit_over_api(site, INTO_NIGERIA, days_later=3)["id"])
    sign_in(page, site.member("NG.Defense"))
    expect(page.locator(f"#queue-items li[data-id='{waiting}'] .forecast")).to_have_text(
        "No forecast: too little history for NE.Defense, NG.Defense (fewer than 5 decisions each).",
        timeout=FIRST,
    )
    open_by_id(page, waiting)
    expect(page.locator("#request-forecast-text")).to_contain_text("too little history")
    expect(authority_card(page, "NG.Defense").locator(".step-forecast")).to_have_text(
        "Forecast: too little history (0 of 5 decisions needed)"
    )


def test_the_overview_draws_waits_automatic_share_and_forecast_against_actual(
    page: Page, site: Site
) -> None:
    cleared = _history(site)
    set_now(site.workflow, NOW + timedelta(days=10))
    submit_over_api(site, "01", days_later=40)  # cleared by policy alone
    pending = str(submit_over_api(site, INTO_NIGERIA, days_later=30)["id"])
    sign_in(page, site.member("NG.Defense"))
    expect(page.locator("#overview")).to_be_visible()
    expect(page.locator("#bottleneck")).to_have_text(
        "Slowest link of the chain: NG.Defense (longest median wait, 5h 0m).", timeout=FIRST
    )

    waits = page.get_by_role("img", name="Time to a decision per authority")
    expect(waits).to_be_visible()
    expect(waits.locator("g.row")).to_have_count(2)
    expect(waits.locator("g.row.bottleneck")).to_have_attribute("data-authority", "NG.Defense")
    expect(waits.locator("desc")).to_contain_text("NG.Defense: median 5h 0m")
    bar = waits.locator("g.row[data-authority='NG.Defense'] rect.bar")
    other = waits.locator("g.row[data-authority='NE.Defense'] rect.bar")
    assert float(bar.get_attribute("width") or 0) > 2 * float(other.get_attribute("width") or 0)

    # the member of NG.Defense sees the requests of its chain: 7 cleared, all by people
    automatic = page.get_by_role("img", name="Cleared automatically")
    expect(automatic).to_be_visible()
    expect(page.locator("#automatic-text")).to_have_text(
        "0 of 7 cleared requests (0 %) cleared automatically, by policy or standing grant; "
        "7 needed a person."
    )

    row = page.locator(f"#pending-forecasts-rows tr[data-request='{pending}']")
    expect(row).to_have_attribute("data-status", "forecast")
    expect(row.locator("td.forecast")).to_contain_text("Likely clears in 5h 0m")
    expect(row.locator("td").last).to_have_text("100 %")

    chart = page.get_by_role("img", name="Forecast against actual")
    expect(chart).to_be_visible()
    expect(chart.locator("g.row")).to_have_count(2)  # the two with five decisions before them
    expect(chart.locator("circle.actual.inside")).to_have_count(2)
    expect(page.locator("#forecast-actual-note")).to_have_text(
        "2 of 2 cleared within the 80 % interval forecast when submitted; "
        "5 had too little history before them to forecast."
    )
    expect(page.locator("#forecast-actual-rows tr")).to_have_count(len(cleared))
    newest = page.locator(f"#forecast-actual-rows tr[data-request='{cleared[-1]}']")
    expect(newest.locator("td")).to_have_text(["5h 0m", "5h 0m to 5h 0m", "5h 0m", "yes"])


def test_an_operator_sees_the_share_cleared_automatically(page: Page, site: Site) -> None:
    submit_over_api(site, "01")  # cleared by policy
    submit_over_api(site, INTO_NIGERIA)  # waits: nobody has decided for any time yet
    sign_in(page, site.operator())
    page.get_by_role("button", name="Overview").click()
    expect(page.locator("#automatic-text")).to_have_text(
        "1 of 1 cleared requests (100 %) cleared automatically, by policy or standing grant; "
        "0 needed a person.",
        timeout=FIRST,
    )
    expect(page.locator("#bottleneck")).to_have_text(
        "Waiting now: NE.Defense (1), NG.Defense (1); none has waited any time yet on the "
        "service's clock."
    )
    expect(page.locator("#forecast-actual-note")).to_have_text(
        "No request cleared by people yet: nothing to compare."
    )
