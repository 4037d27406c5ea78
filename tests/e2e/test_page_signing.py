"""Decisions signed in the browser (issue 13 item 2), in Chromium against a live server.

US.DoD keeps its own root key. Its member makes a key in the browser (non-extractable, in
IndexedDB); the page shows the public key and says it is not enrolled; a decision signed
with it is refused with the server's reason; the test then plays the authority's officer
(`clearance member statement` with the root key file, on "their machine") and posts the
enrollment over the API; the same decision, signed in the browser, is then recorded, with
the member's key in its event. A key imported from a `clearance key new` file works too."""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import Page, expect

from clearance.adapters.key_files import private_pem, write_new
from clearance.domain.ledger.checkpoint import raw_public
from clearance.service import queries
from clearance.service.context import Context
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
from tests.serverproc import CLEARANCE

__all__ = ["browser", "page", "site"]  # fixtures

DOD = "US.DoD"
MEMBER = f"{DOD}-member"  # pagekit's name for the authority's member


def keep_root_key(workflow: Context, tmp_path: Path) -> Path:
    """US.DoD names a root key in the scenario; its private half is in a file that only
    the test (playing the authority's officer) reads."""
    root = Ed25519PrivateKey.generate()
    scenario = workflow.current_scenario()  # the test's own copy (conftest.niger)
    scenario.authorities = {
        **scenario.authorities,
        DOD: replace(scenario.authorities[DOD], root_key=raw_public(root)),
    }
    path = tmp_path / "authority-machine" / "root.key"
    path.parent.mkdir()
    write_new(path, private_pem(root))
    return path


def enroll_as(site: Site, authority: str, root: Path, public_key: str) -> None:
    """The authority's officer signs the enrollment of its member's key on their machine
    (no database), and it is posted over the API."""
    member = f"{authority}-member"  # pagekit's name for the authority's member
    made = subprocess.run(
        [*CLEARANCE, "member", "statement", member, "--authority", authority,
         "--public-key", public_key, "--root-key", str(root)],
        capture_output=True, text=True, timeout=120, check=False,
        env=os.environ | {"CLEARANCE_DATABASE_URL": "sqlite:////nonexistent/no.db"},
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    posted = httpx.post(
        f"{site.base_url}/v1/authorities/{authority}/members",
        content=made.stdout,
        headers=bearer(site.member(authority)) | {"Content-Type": "application/json"},
    )
    assert posted.status_code == 201, posted.text


def test_a_decision_signed_in_the_browser_counts_once_its_key_is_enrolled(
    page: Page, site: Site, tmp_path: Path
) -> None:
    root = keep_root_key(site.workflow, tmp_path)
    rid = str(submit_over_api(site, "05")["id"])
    sign_in(page, site.member(DOD))
    status = page.locator("#member-key-status")
    expect(status).to_contain_text("signs its decisions with its members' own keys")
    page.get_by_role("button", name="Make a key in this browser").click()
    expect(status).to_contain_text("is not enrolled")
    public = page.locator("#member-key-public").inner_text()
    assert len(public) == 44
    expect(page.locator("#member-key-command")).to_contain_text(
        f"clearance member statement {MEMBER} --authority {DOD} --public-key {public}"
    )

    open_by_id(page, rid)
    page.get_by_label("Comment").fill("signed here")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#message")).to_contain_text(f"no key is enrolled for {MEMBER} of {DOD}")
    assert queries.get(site.workflow, queries.principal(site.workflow, MEMBER), rid)[0].version == 1

    enroll_as(site, DOD, root, public)
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#message")).to_contain_text(f"Approved for {DOD}")
    record, events = queries.get(site.workflow, queries.principal(site.workflow, MEMBER), rid)
    approval = record.approval(DOD)
    assert (approval.status.value, approval.by, approval.comment) == (
        "approved",
        MEMBER,
        "signed here",
    )
    assert events[-1].detail["key"] == public
    # the panel says so after signing in again
    sign_in(page, site.member(DOD))
    expect(status).to_contain_text("is enrolled")


def test_a_key_file_from_the_cli_is_imported_and_signs(
    page: Page, site: Site, tmp_path: Path
) -> None:
    root = keep_root_key(site.workflow, tmp_path)
    key_file = tmp_path / "member-machine" / "member.key"
    key_file.parent.mkdir()
    made = subprocess.run(
        [*CLEARANCE, "key", "new", "--out", str(key_file)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    public = made.stdout.strip().splitlines()[-1]
    enroll_as(site, DOD, root, public)
    rid = str(submit_over_api(site, "05")["id"])
    sign_in(page, site.member(DOD))
    page.get_by_label("Import a key file").set_input_files(str(key_file))
    expect(page.locator("#member-key-status")).to_contain_text("is enrolled")
    expect(page.locator("#member-key-public")).to_have_text(public)
    open_by_id(page, rid)
    page.get_by_role("button", name="Deny").click()
    expect(page.locator("#message")).to_contain_text(f"Denied for {DOD}")
    _, events = queries.get(site.workflow, queries.principal(site.workflow, MEMBER), rid)
    assert events[-1].detail["key"] == public
