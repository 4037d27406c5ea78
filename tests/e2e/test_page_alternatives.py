"""What would clear it, on the page (real Chromium): while an operator composes, the
evaluation lists the suggestions, and one click composes from one, which the service
then evaluates to what the suggestion said; submitted, it is stored so."""

from __future__ import annotations

import json

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import document
from tests.e2e.pagekit import Site, bearer, browser, page, sign_in, site

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
