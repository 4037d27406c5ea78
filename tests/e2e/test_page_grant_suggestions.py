"""A member's grant suggestions on the page, in a real Chromium: after NE.Defense approved
example 05 by hand on two days and denied it a week later, its member sees the grant that
would have cleared both approvals and none of the denial, what it covers and the similar
grant France already holds, and downloads it as a grant proposal: the same `grants:`
entry `clearance grant suggest --out` writes for that pick. Operators do not see the
panel; a member with no decision by hand reads a sentence, not an empty box; a bad period
is an error like the rest of the page's."""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta
from pathlib import Path

import httpx
import yaml
from playwright.sync_api import Page, expect

from clearance import bootstrap
from clearance.config import Settings
from tests.e2e.conftest import NOW, document, later, set_now
from tests.e2e.pagekit import Site, bearer, browser, page, sign_in, site
from tests.serverproc import CLEARANCE, NIGER

__all__ = ["browser", "page", "site"]  # fixtures

US_ARMED = "05"  # pending: US.DoD, US.State, then NE.Defense and NE.PM


def _through_the_chain(site: Site, days: int, ne: str) -> str:
    made = httpx.post(
        f"{site.base_url}/v1/requests",
        json=later(document(US_ARMED), days),
        headers=bearer(site.operator()),
    )
    assert made.status_code == 201, made.text
    request_id: str = made.json()["id"]
    for authority in ("US.DoD", "US.State", "NE.PM", "NE.Defense"):
        decided = httpx.post(
            f"{site.base_url}/v1/requests/{request_id}/decisions",
            json={
                "authority": authority,
                "decision": ne if authority == "NE.Defense" else "approve",
            },
            headers=bearer(site.member(authority)),
        )
        assert decided.status_code == 200, decided.text
    return request_id


def decision_history(site: Site) -> None:
    """NE.Defense approves example 05 by hand on two days and denies it a week later."""
    for hours, days in enumerate((1, 2), start=1):
        set_now(site.workflow, NOW + timedelta(hours=hours))
        _through_the_chain(site, days, "approve")
    set_now(site.workflow, NOW + timedelta(hours=3))
    _through_the_chain(site, 9, "deny")  # the same place, a week later


def _cli_out(tmp_path: Path, pick: int) -> str:
    """What `clearance grant suggest --authority NE.Defense --out F --pick N` writes, on
    the page's own database (its scenario stored there for the CLI to read)."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'page.db'}", now=NOW, key_dir=tmp_path / "keys"
    )
    bootstrap.store_scenario(NIGER, settings, at=NOW)
    out = tmp_path / "cli-proposal.yaml"
    env = {
        "CLEARANCE_DATABASE_URL": settings.database_url,
        "CLEARANCE_KEY_DIR": str(settings.key_dir),
        "CLEARANCE_NOW": "2017-11-21T00:00:00Z",
    }
    pick_out = ["--out", str(out), "--pick", str(pick)]
    done = subprocess.run(
        [*CLEARANCE, "grant", "suggest", "--authority", "NE.Defense", *pick_out],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return out.read_text("utf-8")


def test_a_member_sees_the_grant_suggestion_and_downloads_the_clis_proposal(
    page: Page, site: Site, tmp_path: Path
) -> None:
    decision_history(site)
    sign_in(page, site.member("NE.Defense"))
    panel = page.get_by_role("region", name="Grant suggestions")
    expect(panel).to_be_visible()
    expect(panel.locator("#gs-note")).to_contain_text(
        "From NE.Defense's 2 approvals and 1 denial by hand from the start until now"
    )
    best = panel.locator("#gs-items > li").first
    expect(best.get_by_role("heading", level=4)).to_contain_text("Grant suggestion 1:")
    expect(best).to_contain_text("OperatorUS.AFRICOM")
    expect(best).to_contain_text("Purposesarmed-overwatch")
    expect(best).to_contain_text("Payloadsarmed")
    expect(best).to_contain_text("Areatillaberi-border-zone")
    expect(best).to_contain_text("Timefrom 2020-03-03T04:00:00Z until 2020-03-04T16:00:00Z")
    expect(best.locator(".counts")).to_have_text(
        "Would have cleared 2 of 2 approvals by hand and none of the 1 denial."
    )
    expect(best.locator(".similar")).to_contain_text("ne-fr-isr-armed")

    with page.expect_download() as download:
        best.get_by_role("button", name="Download as grant proposal").click()
    saved = Path(download.value.path()).read_text("utf-8")
    grant_id = best.get_attribute("data-grant")
    assert download.value.suggested_filename == f"{grant_id}.proposal.yaml"
    cli = _cli_out(tmp_path, pick=1)
    assert yaml.safe_load(saved) == yaml.safe_load(cli)
    assert yaml.safe_load(saved)["grants"][0]["id"] == grant_id
    assert saved == cli  # the same serialiser, byte for byte

    # a period with only the denial: a sentence, no suggestion
    page.get_by_label("Decided since (UTC)").fill("2017-11-20 03:00")
    page.get_by_role("button", name="Show grant suggestions").click()
    expect(panel.locator("#gs-note")).to_have_text(
        "No standing grant would have cleared any of NE.Defense's 0 approvals and 1 denial by "
        "hand from 2017-11-20T03:00:00Z until now without clearing a denial."
    )
    expect(panel.locator("#gs-items > li")).to_have_count(0)
    # a bad period: the page's error, naming the field
    page.get_by_label("Decided since (UTC)").fill("last week")
    page.get_by_role("button", name="Show grant suggestions").click()
    expect(page.locator("#message")).to_contain_text("Since: write a UTC time as YYYY-MM-DD HH:MM")


def test_operators_do_not_see_the_panel_and_empty_history_is_a_sentence(
    page: Page, site: Site
) -> None:
    sign_in(page, site.operator())
    expect(page.locator("#compose")).to_be_visible()
    page.get_by_role("button", name="Overview").click()
    expect(page.locator("#overview")).to_be_visible()
    expect(page.locator("#grant-suggestions")).to_be_attached()
    expect(page.locator("#grant-suggestions")).to_be_hidden()

    sign_in(page, site.member("NE.Defense"))
    expect(page.locator("#gs-note")).to_have_text(
        "NE.Defense decided nothing by hand from the start until now: no grant suggestion yet."
    )
    expect(page.locator("#gs-items > li")).to_have_count(0)
    sign_in(page, site.operator())  # a member's suggestions do not stay for the next person
    page.get_by_role("button", name="Overview").click()
    expect(page.locator("#grant-suggestions")).to_be_hidden()
    expect(page.locator("#gs-note")).to_have_text("")
