"""What the page's browser tests share: the API and the page served by uvicorn on
127.0.0.1 over a SQLite file, a real headless Chromium (Debian's /usr/bin/chromium,
driven by Playwright; never a downloaded browser), and a page fixture that fails the test
if the page asks any other host or throws."""

from __future__ import annotations

import gc
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from clearance.adapters.keys import KeyStore
from clearance.adapters.sql import make_engine
from clearance.api import create_app
from clearance.api.app import INTEGRATE_SECONDS, WITNESSED_INTEGRATE_SECONDS
from clearance.service import handlers
from clearance.service.audit import AuditLog
from clearance.service.context import Context
from clearance.service.witnessing import Witnessing
from tests.e2e.conftest import LOG_ORIGIN, document, later, make_workflow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
CHAIN = ["US.DoD", "US.State", "NE.Defense", "NE.PM"]  # 05's stages, in order
TIMEOUT_MS = 10_000


class Site:
    """The API and the page, served by uvicorn in a thread, with a token per actor."""

    def __init__(self, workflow: Context, base_url: str) -> None:
        self.workflow = workflow
        self.base_url = base_url
        self.tokens: dict[str, str] = {}

    def operator(self, operator: str = "US.AFRICOM") -> str:
        return self._token(f"{operator}-planner", operator=operator)

    def member(self, authority: str) -> str:
        return self._token(f"{authority}-member", authority=authority)

    def _token(self, name: str, **role: str) -> str:
        if name not in self.tokens:
            self.tokens[name] = handlers.add_principal(self.workflow, name, **role)
        return self.tokens[name]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """SQLite only: the browser adds nothing a second database would check."""
    with running_site(tmp_path) as served:
        yield served


@contextmanager
def running_site(tmp_path: Path, witnessing: Witnessing | None = None) -> Iterator[Site]:
    """The site over ``tmp_path/page.db`` with its keys in ``tmp_path/keys``; with
    ``witnessing``, each checkpoint is submitted to its witnesses."""
    keys = KeyStore(tmp_path / "keys")
    engine = make_engine(f"sqlite:///{tmp_path / 'page.db'}")
    workflow = make_workflow(engine)
    audit_log = AuditLog(workflow.uow, LOG_ORIGIN, keys.instance_key(), witnessing=witnessing)
    integrate = WITNESSED_INTEGRATE_SECONDS if witnessing else INTEGRATE_SECONDS
    app = create_app(workflow, audit_log=audit_log, integrate_seconds=integrate)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", ws="none", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start within 15 s"
        time.sleep(0.02)
    try:
        yield Site(workflow, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
        engine.dispose()
        gc.collect()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        where = "in CI" if os.environ.get("CI") else "here"
        pytest.fail(
            f"{CHROMIUM} is missing {where}; run scripts/ensure-chromium.sh "
            "(the page's browser test needs Debian's chromium, never `playwright install`)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    yield from watched_page(browser, site)


def watched_page(browser: Browser, site: Site, *, bypass_csp: bool = False) -> Iterator[Page]:
    """The page at 1280x800; afterwards, fail if it asked another host, threw, or had
    anything blocked by its Content-Security-Policy. ``bypass_csp`` only lets a test
    inject its own checker (axe); the page's own scripts are held to the policy."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=bypass_csp)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    urls: list[str] = []
    tab.on("request", lambda request: urls.append(request.url))
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    # the browser reports what the Content-Security-Policy blocked on the console
    tab.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    tab.goto(site.base_url + "/")
    yield tab
    context.close()
    assert urls, "the page made no request at all"
    foreign = [u for u in urls if not u.startswith(site.base_url + "/")]
    assert not foreign, f"the page asked other hosts: {foreign}"
    assert not errors, errors


def sign_in(page: Page, token: str) -> None:
    if page.get_by_role("button", name="Sign out").is_visible():
        page.get_by_role("button", name="Sign out").click()
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def authority_card(page: Page, authority: str) -> Locator:
    return page.locator(f'#stages .authority[data-authority="{authority}"]')


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def submit_over_api(
    site: Site, prefix: str, operator: str = "US.AFRICOM", days_later: int = 0
) -> dict[str, object]:
    """Submit example request ``prefix`` (moved ``days_later``) over HTTP, not the page."""
    made = httpx.post(
        f"{site.base_url}/v1/requests",
        json=later(document(prefix), days_later),
        headers=bearer(site.operator(operator)),
    )
    assert made.status_code == 201, made.text
    body: dict[str, object] = made.json()
    return body


def open_by_id(page: Page, request_id: str) -> None:
    page.get_by_label("Request id").fill(request_id)
    page.get_by_role("button", name="Open", exact=True).click()
    expect(page.locator("#request-id")).to_have_text(request_id)


def submit_on_page(page: Page, doc: dict[str, object]) -> str:
    """Paste ``doc`` into the compose form, submit it, and return the new request's id."""
    page.get_by_label("Request document (JSON or YAML)").fill(json.dumps(doc))
    page.get_by_role("button", name="Submit request").click()
    expect(page.locator("#message")).to_contain_text("Submitted request")
    request_id = page.locator("#request-id").inner_text()
    assert request_id in page.locator("#message").inner_text()
    return request_id
