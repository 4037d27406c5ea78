"""The Agadez story (niger-scenario.md, request 05) in Chromium with every decision signed
in the browser and the audit check requiring the witnesses' quorum.

Each authority of 05's chain (US.DoD, US.State, NE.Defense, NE.PM) keeps its own root key
(its file is on "its machine", read only by the test playing its officer). Its member signs
in, gets a key into the browser (made there, or imported from a `clearance key new` file),
has it enrolled over the API with a statement signed by `clearance member statement`, and
approves; the request is cleared. Three witnesses (US, NE, FR, real `clearance witness
serve` processes) cosign the log's checkpoints under a 2-of-3 policy, which the server
serves at /v1/audit/policy: the page's audit check passes with the quorum, and fails when
the cosignatures are stripped from what the server sends."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import Page, Route, expect

from clearance.adapters.key_files import private_pem, write_new
from clearance.adapters.keys import KeyStore
from clearance.adapters.witness_client import HttpWitnessClient
from clearance.domain.ledger.checkpoint import raw_public, vkey
from clearance.domain.ledger.policy import parse_policy
from clearance.service import queries
from clearance.service.witnessing import Witnessing
from tests.e2e.conftest import LOG_ORIGIN
from tests.e2e.pagekit import (
    CHAIN,
    Site,
    authority_card,
    browser,
    page,
    running_site,
    sign_in,
    submit_over_api,
)
from tests.e2e.test_page_signing import enroll_as
from tests.witnesskit import policy_text, start_witnesses, stop_witnesses

__all__ = ["browser", "page"]  # fixtures

WITNESSED_MS = 60_000


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """The page's site with its log witnessed by US, NE and FR (any 2 of them)."""
    log_key = KeyStore(tmp_path / "keys").instance_key()  # the site's own, made here first
    (tmp_path / "witnesses").mkdir()
    witnesses = start_witnesses(
        tmp_path / "witnesses", ["US", "NE", "FR"], [vkey(LOG_ORIGIN, log_key.public_key())]
    )
    try:
        policy = parse_policy(
            policy_text(vkey(LOG_ORIGIN, log_key.public_key()), witnesses), "policy"
        )
        witnessing = Witnessing(policy, HttpWitnessClient())
        try:
            with running_site(tmp_path, witnessing) as served:
                yield served
        finally:
            witnessing.close()
    finally:
        stop_witnesses(witnesses)


def roots(site: Site, tmp_path: Path) -> dict[str, Path]:
    """Each authority of the chain keeps a root key; its file is on its own machine."""
    scenario = site.workflow.current_scenario()  # the test's own copy (conftest.niger)
    files = {}
    authorities = dict(scenario.authorities)
    for authority in CHAIN:
        key = Ed25519PrivateKey.generate()
        authorities[authority] = replace(authorities[authority], root_key=raw_public(key))
        files[authority] = tmp_path / "machines" / authority / "root.key"
        files[authority].parent.mkdir(parents=True)
        write_new(files[authority], private_pem(key))
    scenario.authorities = authorities
    return files


def test_the_agadez_story_is_decided_with_keys_in_the_browser_and_witnessed_by_a_quorum(
    page: Page, site: Site, tmp_path: Path
) -> None:
    root_files = roots(site, tmp_path)
    rid = str(submit_over_api(site, "05")["id"])
    for authority in CHAIN:
        sign_in(page, site.member(authority))
        status = page.locator("#member-key-status")
        expect(status).to_contain_text("signs its decisions with its members' own keys")
        page.get_by_role("button", name="Make a key in this browser").click()
        expect(status).to_contain_text("is not enrolled")
        public = page.locator("#member-key-public").inner_text()
        enroll_as(site, authority, root_files[authority], public)
        queued = page.locator(f'#queue-items li[data-id="{rid}"]')
        page.get_by_role("button", name="Refresh queue").click()
        queued.get_by_role("link").click()
        page.get_by_label("Comment").fill(f"{authority} agrees, signed in the browser")
        page.get_by_role("button", name="Approve").click()
        # the page shows the message once the request is read again and its audit entries
        # checked, which waits for the witnesses on a loaded machine: a generous bound
        expect(page.locator("#message")).to_contain_text(
            f"Approved for {authority}", timeout=WITNESSED_MS
        )
        expect(authority_card(page, authority)).to_contain_text("approved")
        _, events = queries.get(
            site.workflow, queries.principal(site.workflow, f"{authority}-member"), rid
        )
        assert events[-1].detail["key"] == public
    expect(page.locator("#request-state")).to_have_text("cleared")

    # the audit check: the log's signature and the witnesses' quorum, checked in the page
    checkpoint = page.locator("#audit-checkpoint")
    for _ in range(40):  # until a witnessed checkpoint covers the last decision
        page.get_by_role("button", name="Refresh request").click()
        if page.locator("#audit-entries li[data-ok='true']").count() == 1 + len(CHAIN):
            break
        page.wait_for_timeout(500)
    expect(checkpoint).to_have_attribute("data-ok", "true", timeout=WITNESSED_MS)
    expect(checkpoint).to_contain_text("meeting the quorum parties (2 of US, NE, FR)")
    expect(page.locator("#audit-entries li[data-ok='true']")).to_have_count(1 + len(CHAIN))
    expect(page.locator("#audit-unsigned")).to_have_text("")  # every decision signed

    # the server sends the checkpoint without its cosignatures: the page refuses it
    def stripped(route: Route) -> None:
        body = route.fetch().json()
        note = body["checkpoint"]["note"]
        body["checkpoint"]["note"] = "".join(
            line for line in note.splitlines(keepends=True) if "witness.test/" not in line
        )
        route.fulfill(json=body)

    page.route(f"**/v1/requests/{rid}/audit", stripped)
    page.get_by_role("button", name="Refresh request").click()
    expect(checkpoint).to_have_attribute("data-ok", "false", timeout=WITNESSED_MS)
    expect(checkpoint).to_contain_text("short of the quorum parties (2 of US, NE, FR)")
    expect(page.locator("#audit-entries li[data-ok='true']")).to_have_count(0)
