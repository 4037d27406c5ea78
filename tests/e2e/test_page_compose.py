"""Composing in the browser (real Chromium): the form and the map write the document, the
service's evaluation is shown before anything is stored, YAML is accepted as pasted, and
the operator amends and withdraws from the request page."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import SCENARIO, document
from tests.e2e.pagekit import Site, bearer, browser, page, sign_in, site, submit_on_page

__all__ = ["browser", "page", "site"]  # fixtures

CHAIN = ["US.DoD", "US.State", "NE.Defense", "NE.PM"]


def stored_requests(site: Site) -> list[dict[str, object]]:
    listed = httpx.get(f"{site.base_url}/v1/requests", headers=bearer(site.operator()))
    assert listed.status_code == 200
    items: list[dict[str, object]] = listed.json()["items"]
    return items


def composed(page: Page) -> dict[str, object]:
    text = page.get_by_label("Request document (JSON or YAML)").input_value()
    doc: dict[str, object] = json.loads(text)
    return doc


def fill_agadez_form(page: Page) -> None:
    """The armed Agadez operation of 2020, by the form and a circle given by numbers."""
    page.get_by_role("button", name="Clear volumes").click()  # the default's circle
    page.get_by_label("Aircraft").select_option("US-MQ9-1")
    page.get_by_label("Payload").select_option("armed")
    page.get_by_label("Purpose").select_option("armed-overwatch")
    page.get_by_label("Launch site").select_option("agadez-ab201")
    page.get_by_label("Justification").fill("Armed overwatch of a partnered patrol")
    page.get_by_label("Altitude from (m, WGS84)").fill("300")
    page.get_by_label("to (m)").fill("4500")
    page.get_by_label("Start (UTC)").fill("2020-03-02T04:00")
    page.get_by_label("End (UTC)").fill("2020-03-02T16:00")
    page.get_by_label("Latitude").fill("14.6")
    page.get_by_label("Longitude").fill("1.45")
    page.get_by_label("Radius (km)").fill("30")
    page.get_by_role("button", name="Add circle").click()


def test_the_form_writes_the_document_and_the_evaluation_shows_the_chain_before_submitting(
    page: Page, site: Site
) -> None:
    sign_in(page, site.operator())
    fill_agadez_form(page)
    expected = document("05")
    doc = composed(page)
    for key in ("operator", "aircraft", "payload", "purpose", "launch_site"):
        assert doc[key] == expected[key], key
    assert doc["volumes"] == expected["volumes"]  # the same Volume4D, field for field

    evaluation = page.locator("#evaluation")
    expect(page.locator("#evaluation-outcome")).to_have_text("pending")
    cards = evaluation.locator(".authority")
    expect(cards).to_have_count(len(CHAIN))
    for authority in CHAIN:
        card = evaluation.locator(f'.authority[data-authority="{authority}"]')
        expect(card).to_contain_text("needs review")
        expect(card.locator(".reasons li").first).not_to_be_empty()
    assert stored_requests(site) == []  # evaluating stores nothing

    # An unarmed flight is covered by standing grants: the evaluation follows the edit.
    page.get_by_label("Payload").select_option("unarmed")
    page.get_by_label("Purpose").select_option("isr")
    page.get_by_label("Aircraft").select_option("US-MQ9-1")
    expect(evaluation.locator('.authority[data-authority="US.State"]')).to_have_count(0)
    page.get_by_label("Payload").select_option("armed")
    page.get_by_label("Purpose").select_option("armed-overwatch")
    expect(cards).to_have_count(len(CHAIN))

    page.get_by_role("button", name="Submit request").click()
    expect(page.locator("#request-state")).to_have_text("pending")
    expect(page.locator("#message")).to_contain_text("Submitted request")
    (stored,) = stored_requests(site)
    assert stored["id"] == page.locator("#request-id").inner_text()


def test_a_mistake_is_named_in_the_evaluation_while_composing(page: Page, site: Site) -> None:
    sign_in(page, site.operator())
    fill_agadez_form(page)
    expect(page.locator("#evaluation-outcome")).to_have_text("pending")
    page.get_by_label("Justification").fill("")
    problem = page.locator("#evaluation-problem")
    expect(problem).to_have_text("justification: must be a non-empty string, not an empty string")
    expect(page.locator("#evaluation-result")).to_be_hidden()
    page.get_by_role("button", name="Clear volumes").click()
    page.get_by_label("Justification").fill("patrol")
    expect(problem).to_contain_text("volumes")


def test_a_polygon_drawn_on_the_map_becomes_a_volume(page: Page, site: Site) -> None:
    sign_in(page, site.operator())
    fill_agadez_form(page)  # one circle; the map now frames it
    page.get_by_role("button", name="Draw a polygon").click()
    box = page.locator("#compose-map").bounding_box()
    assert box is not None
    # right of and below the toolbar, whose actions (Finish, Cancel) open beside it
    x, y = box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.6
    corners = [(x, y), (x + 60, y), (x + 60, y + 50), (x, y + 50)]
    for cx, cy in [*corners, corners[0]]:  # back on the first vertex closes the polygon
        page.mouse.move(cx, cy, steps=4)  # Geoman places vertices where its hint marker is
        page.mouse.click(cx, cy)
    expect(page.locator("#compose-map path.volume")).to_have_count(2)
    volumes = composed(page)["volumes"]
    assert isinstance(volumes, list)
    assert len(volumes) == 2
    polygon = volumes[1]["volume"]
    assert len(polygon["outline_polygon"]["vertices"]) == 4
    assert polygon["altitude_lower"] == {"value": 300, "reference": "W84", "units": "M"}
    assert volumes[1]["time_start"] == {"value": "2020-03-02T04:00:00Z", "format": "RFC3339"}
    expect(page.locator("#evaluation-outcome")).not_to_be_empty()

    page.get_by_role("button", name="Remove volumes").click()
    page.locator("#compose-map path.volume").last.click()
    expect(page.locator("#compose-map path.volume")).to_have_count(1)
    assert len(composed(page)["volumes"]) == 1  # type: ignore[arg-type]


def test_a_pasted_yaml_file_is_evaluated_and_submitted_as_written(page: Page, site: Site) -> None:
    sign_in(page, site.operator())
    (path,) = (SCENARIO / "requests").glob("05-*.yaml")
    text = Path(path).read_text(encoding="utf-8")
    page.get_by_label("Request document (JSON or YAML)").fill(text)
    expect(page.locator("#document-note")).to_contain_text("YAML")
    expect(page.locator("#evaluation-outcome")).to_have_text("pending")
    # once the service has read it, the form and the map show it too
    expect(page.get_by_label("Launch site")).to_have_value("agadez-ab201")
    expect(page.get_by_label("Purpose")).to_have_value("armed-overwatch")
    expect(page.locator("#compose-map path.volume")).to_have_count(1)
    assert page.get_by_label("Request document (JSON or YAML)").input_value() == text
    expect(page.locator("#evaluation .authority")).to_have_count(len(CHAIN))
    page.get_by_role("button", name="Submit request").click()
    expect(page.locator("#request-state")).to_have_text("pending")
    (stored,) = stored_requests(site)
    shown = httpx.get(
        f"{site.base_url}/v1/requests/{stored['id']}", headers=bearer(site.operator())
    ).json()
    assert shown["document"] == document("05")


def test_pasted_json_fills_the_form_and_the_map(page: Page, site: Site) -> None:
    sign_in(page, site.operator())
    page.get_by_label("Request document (JSON or YAML)").fill(json.dumps(document("02")))
    expect(page.get_by_label("Launch site")).to_have_value(document("02")["launch_site"])
    expect(page.locator("#compose-map path.volume")).to_have_count(len(document("02")["volumes"]))
    expect(page.locator("#document-note")).to_be_empty()
    expect(page.locator("#evaluation-outcome")).not_to_be_empty()


def test_the_operator_amends_then_withdraws_from_the_request_page(page: Page, site: Site) -> None:
    sign_in(page, site.operator())
    request_id = submit_on_page(page, document("05"))
    expect(page.locator("#request-version")).to_have_text("1")

    page.get_by_role("button", name="Amend").click()
    expect(page.locator("#compose-h")).to_have_text(f"Amend request {request_id} (version 1)")
    expect(page.locator("#compose-map path.volume")).to_have_count(1)
    page.get_by_label("to (m)").fill("4000")  # a lower ceiling
    assert composed(page)["volumes"][0]["volume"]["altitude_upper"]["value"] == 4000  # type: ignore[index]
    page.get_by_role("button", name="Save amendment").click()
    expect(page.locator("#message")).to_contain_text(f"Amended request {request_id} to version 2")
    expect(page.locator("#request-version")).to_have_text("2")
    shown = httpx.get(
        f"{site.base_url}/v1/requests/{request_id}", headers=bearer(site.operator())
    ).json()
    assert shown["document"]["volumes"][0]["volume"]["altitude_upper"]["value"] == 4000
    expect(page.locator("#events li[data-kind='amended']")).to_have_count(1)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Withdraw").click()
    expect(page.locator("#request-state")).to_have_text("withdrawn")
    expect(page.get_by_role("button", name="Withdraw")).to_be_hidden()
    expect(page.get_by_role("button", name="Amend")).to_be_hidden()
    expect(page.locator("#audit-entries li[data-ok='true']")).to_have_count(3)


def test_a_stale_amendment_is_refused_with_the_problems_detail(page: Page, site: Site) -> None:
    sign_in(page, site.operator())
    request_id = submit_on_page(page, document("05"))
    page.get_by_role("button", name="Amend").click()
    # meanwhile US.DoD decides, so the page's version 1 is stale
    decided = httpx.post(
        f"{site.base_url}/v1/requests/{request_id}/decisions",
        json={"authority": "US.DoD", "decision": "approve"},
        headers=bearer(site.member("US.DoD")),
    )
    assert decided.status_code == 200, decided.text
    page.get_by_label("to (m)").fill("4000")
    page.get_by_role("button", name="Save amendment").click()
    expect(page.locator("#message")).to_have_text(f"request {request_id} is at version 2, not 1")
