"""The page offers the request's audit bundle for download (web/audit.js bundleLink), and
the file it saves verifies offline against the log's key alone."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from clearance.domain.ledger.bundle import verify_bundle
from clearance.domain.ledger.policy import parse_policy
from tests.e2e.pagekit import Site, browser, open_by_id, page, sign_in, site, submit_over_api
from tests.e2e.test_page_views import decide_over_api

__all__ = ["browser", "page", "site"]  # fixtures


def test_the_audit_view_downloads_a_bundle_that_verifies_offline(page: Page, site: Site) -> None:
    rid = str(submit_over_api(site, "05")["id"])
    decide_over_api(site, rid, "US.DoD")
    sign_in(page, site.operator())
    open_by_id(page, rid)
    expect(page.locator("#audit-checkpoint")).to_have_attribute("data-ok", "true")
    link = page.locator("#audit-bundle")
    expect(link).to_contain_text("Download the audit bundle")
    with page.expect_download() as download:
        link.click()
    saved = download.value
    assert saved.suggested_filename == f"{rid}.bundle.json"
    bundle = json.loads(Path(saved.path()).read_text(encoding="utf-8"))
    log_vkey = httpx.get(f"{site.base_url}/v1/keys").json()["log"]["vkey"]
    summary = verify_bundle(bundle, parse_policy(f"log {log_vkey}\nquorum none\n"))
    assert (summary.request_id, summary.decisions) == (rid, 1)
