"""The page's views checked with axe-core (vendored in tests/e2e/vendor, injected by the
test; the page itself never loads it) in Chromium: no serious or critical violation of
WCAG 2.1 A/AA rules on the sign-in, compose, request, queue and overview views, and a
member's grant suggestions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import document
from tests.e2e.pagekit import (
    Site,
    browser,
    open_by_id,
    sign_in,
    site,
    submit_on_page,
    submit_over_api,
    watched_page,
)
from tests.e2e.test_page_grant_suggestions import decision_history

__all__ = ["browser", "site"]  # fixtures


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    """As everywhere, but the test may inject axe despite the page's CSP."""
    yield from watched_page(browser, site, bypass_csp=True)


AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
RUN_AXE = """async () => {
  const result = await axe.run(document, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
  });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
  }));
}"""


def violations(page: Page) -> list[dict[str, Any]]:
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = page.evaluate(RUN_AXE)
    return [v for v in found if v["impact"] in {"serious", "critical"}]


def assert_accessible(page: Page, view: str) -> None:
    found = violations(page)
    assert not found, f"{view}: {json.dumps(found, indent=1)}"


def test_the_checker_finds_a_violation_when_there_is_one(page: Page) -> None:
    """The check can fail: an image without alternative text is reported."""
    page.evaluate("document.body.append(Object.assign(new Image(), {src: 'data:,'}))")
    assert any(v["id"] == "image-alt" for v in violations(page))


def test_every_view_has_no_serious_accessibility_violation(page: Page, site: Site) -> None:
    assert_accessible(page, "sign-in")
    sign_in(page, site.operator())
    expect(page.locator("#compose")).to_be_visible()
    assert_accessible(page, "compose")
    request_id = submit_on_page(page, document("05"))
    expect(page.locator("#audit-entries li[data-ok='true']")).to_have_count(1)
    assert_accessible(page, "request (operator)")

    submit_over_api(site, "05", days_later=1)
    sign_in(page, site.member("US.DoD"))
    expect(page.locator("#queue-items li")).to_have_count(2)
    expect(page.locator("#waits-rows tr")).to_have_count(1)
    assert_accessible(page, "overview and queue")
    open_by_id(page, request_id)
    expect(page.locator("#decide")).to_be_visible()
    assert_accessible(page, "request (member deciding)")


def test_the_grant_suggestions_have_no_serious_accessibility_violation(
    page: Page, site: Site
) -> None:
    decision_history(site)
    sign_in(page, site.member("NE.Defense"))
    expect(page.locator("#gs-items > li")).not_to_have_count(0)
    expect(page.get_by_role("button", name="Download as grant proposal").first).to_be_visible()
    assert_accessible(page, "grant suggestions")
