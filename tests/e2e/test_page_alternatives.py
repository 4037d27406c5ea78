"""What would clear it, on the page (real Chromium): while an operator composes, the
evaluation lists the suggestions, and one click composes from one, which the service
then evaluates to what the suggestion said; submitted, it is stored so."""

from __future__ import annotations

import json

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import document
from tests.e2e.pagekit import (
    Site,
    bearer,
    browser,
    open_by_id,
    page,
    sign_in,
    site,
    submit_over_api,
)

__all__ = ["browser", "page", "site"]  # fixtures


def test_one_click_composes_from_a_suggestion_that_clears_it(page: Page, site: Site) -> None:
    sign_in(page, site.operator())
    textarea = page.get_by_label("Request document (JSON or YAML)")
    textarea.fill(json.dumps(document("13")))  # reaches into Nigeria: pending
    expect(page.locator("#evaluation-outcome")).to_have_text("pending")
    suggestions = page.locator("#evaluation-suggestions .suggestion")
    expect(suggestions.first).to_contain_text("clipped to leave NG's territory")
    expect(suggestions.first.locator(".state")).to_have_text("cleared")

    suggestions.first.get_by_role("button", name="Compose from this").click()
    expect(page.locator("#evaluation-outcome")).to_have_text("cleared")
    composed = json.loads(textarea.input_value())
    vertices = composed["volumes"][0]["volume"]["outline_polygon"]["vertices"]
    assert len(vertices) >= 3
    expect(page.locator("#evaluation-suggestions-box")).to_be_hidden()  # nothing clears more

    page.get_by_role("button", name="Submit request").click()
    expect(page.locator("#message")).to_contain_text("Submitted request")
    listed = httpx.get(f"{site.base_url}/v1/requests", headers=bearer(site.operator()))
    (stored,) = listed.json()["items"]
    assert stored["state"] == "cleared"
    assert stored["document"] == composed


def test_a_suggestion_changing_the_form_fields_fills_the_form(page: Page, site: Site) -> None:
    sign_in(page, site.operator())
    page.get_by_label("Request document (JSON or YAML)").fill(json.dumps(document("05")))
    expect(page.locator("#evaluation-outcome")).to_have_text("pending")
    best = page.locator("#evaluation-suggestions .suggestion").first
    expect(best).to_contain_text("payload unarmed and purpose isr")
    best.get_by_role("button", name="Compose from this").click()
    expect(page.locator("#evaluation-outcome")).to_have_text("cleared")
    expect(page.get_by_label("Payload")).to_have_value("unarmed")
    expect(page.get_by_label("Purpose")).to_have_value("isr")


def test_the_operator_amends_a_stored_request_from_a_suggestion(page: Page, site: Site) -> None:
    stored = submit_over_api(site, "13")  # pending: Niger and Nigeria review it
    sign_in(page, site.operator())
    open_by_id(page, str(stored["id"]))
    box = page.locator("#request-alternatives")
    best = box.locator(".suggestion").first
    expect(best).to_contain_text("clipped to leave NG's territory")
    best.get_by_role("button", name="Take this change").click()
    expect(page.locator("#compose-h")).to_contain_text(f"Amend request {stored['id']}")
    expect(page.locator("#evaluation-outcome")).to_have_text("cleared")
    page.get_by_role("button", name="Save amendment").click()
    expect(page.locator("#message")).to_contain_text(f"Amended request {stored['id']}")
    expect(page.locator("#message")).to_contain_text("cleared")
    expect(page.locator("#request-alternatives")).to_be_hidden()  # cleared: nothing to add


def test_a_member_sees_the_suggestions_but_amends_nothing(page: Page, site: Site) -> None:
    stored = submit_over_api(site, "05")
    sign_in(page, site.member("US.DoD"))
    open_by_id(page, str(stored["id"]))
    best = page.locator("#request-alternatives .suggestion").first
    expect(best).to_contain_text("payload unarmed and purpose isr")
    expect(best.get_by_role("button")).to_have_count(0)
