"""The API docs at /docs, in real Chromium under the page's Content-Security-Policy:
Swagger UI from the package's own files (no CDN, no inline script) lists the operations,
and one can be tried with a principal's token. The page's fixture fails the test on any
request to another host, any script error and anything the policy blocks (FastAPI's own
/docs did all three)."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.pagekit import Site, browser, page, site

__all__ = ["browser", "page", "site"]  # fixtures


def test_docs_list_the_operations_from_vendored_files_and_try_one(page: Page, site: Site) -> None:
    token = site.member("US.DoD")
    page.get_by_role("link", name="API docs").click()
    expect(page).to_have_url(site.base_url + "/docs")
    operations = page.locator(".opblock-summary-method")
    expect(operations.first).to_be_visible()
    expect(
        page.locator(".opblock-summary-path", has_text="/v1/requests/{request_id}/decisions")
    ).to_have_count(1)
    paths = httpx.get(site.base_url + "/openapi.json").json()["paths"]
    # Swagger UI lists an operation once under each of its tags
    expected = sum(len(op.get("tags") or [""]) for ops in paths.values() for op in ops.values())
    expect(operations).to_have_count(expected)

    page.get_by_role("button", name="Authorize").first.click()
    page.locator(".auth-container input").first.fill(token)
    page.locator(".auth-btn-wrapper button", has_text="Authorize").click()
    page.locator(".btn-done").click()
    me = page.locator(".opblock", has=page.locator(".opblock-summary-path", has_text="/v1/me"))
    me.locator(".opblock-summary").click()
    me.get_by_role("button", name="Try it out").click()
    me.get_by_role("button", name="Execute").click()
    expect(me.locator(".live-responses-table tbody .response-col_status").first).to_have_text("200")
    expect(me.locator(".live-responses-table")).to_contain_text("US.DoD-member")


def test_docs_are_a_page_of_the_package_and_redoc_is_gone(site: Site) -> None:
    docs = httpx.get(site.base_url + "/docs")
    assert docs.status_code == 200
    assert "<script>" not in docs.text  # no inline script: only src= files of this origin
    for asset in (
        "/web/vendor/swagger-ui/swagger-ui-bundle.js",
        "/web/vendor/swagger-ui/swagger-ui.css",
        "/web/docs.js",
    ):
        assert asset in docs.text
        assert httpx.get(site.base_url + asset).status_code == 200
    assert "//" not in docs.text.replace("http://", "").split("<body>")[0].replace("<!doctype", "")
    assert httpx.get(site.base_url + "/redoc").status_code == 404
