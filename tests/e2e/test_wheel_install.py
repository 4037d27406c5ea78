"""The package as a user installs it: a wheel built from this tree, installed into a fresh
virtual environment (not the editable checkout the other tests use), serves the page with
every asset it references, and takes a submission and a decision.

A plain ``pip install .`` once shipped without Leaflet-Geoman (the package data listed
files one folder at a time), so the page's compose view got 404s; only this test sees that.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import venv
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import httpx
import pytest

from tests.serverproc import NIGER, Server

ROOT = Path(__file__).resolve().parents[2]
AGADEZ = NIGER / "requests" / "05-us-armed-overwatch-agadez-2020.yaml"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and (name == "src" or (name == "href" and tag == "link")):
                self.found.append(value)


JS_IMPORT = re.compile(r"""(?:\bfrom|\bimport)\s*\(?\s*["']([^"']+)["']""")
CSS_URL = re.compile(r"""url\(\s*["']?([^"')]+)["']?\s*\)""")


def _references(url: str, kind: str, text: str) -> list[str]:
    if kind == "html":
        parser = _Links()
        parser.feed(text)
        found = parser.found
    elif kind == "js":
        found = JS_IMPORT.findall(text)
    else:
        found = CSS_URL.findall(text)
    # "%23..." is a fragment inside an SVG data: URI (Geoman's icons), not a file
    return [urljoin(url, ref) for ref in found if not unquote(ref).startswith(("data:", "#"))]


def _kind(content_type: str) -> str | None:
    media = content_type.split(";")[0].strip()
    return {"text/html": "html", "text/javascript": "js", "application/javascript": "js"}.get(
        media, "css" if media == "text/css" else None
    )


def crawl(client: httpx.Client, start: str) -> dict[str, int]:
    """Every same-origin URL the page reaches from ``start`` (HTML links and scripts, ES
    module imports, CSS url()s), with its status."""
    seen: dict[str, int] = {}
    todo = [start]
    origin = urlsplit(start).netloc
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        assert urlsplit(url).netloc == origin, f"the page references another host: {url}"
        response = client.get(url)
        seen[url] = response.status_code
        kind = _kind(response.headers.get("content-type", ""))
        if kind == "js" and "/vendor/" in url:
            kind = None  # a vendored bundle imports nothing; its text only looks like it
        if response.status_code == 200 and kind is not None:
            todo.extend(_references(url, kind, response.text))
    return seen


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel built from this tree; its bin/."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # a copy, so the build leaves nothing in the checkout
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "-w", str(work / "dist"), str(source)], check=True, timeout=600
    )
    (wheel,) = (work / "dist").glob("clearance-*.whl")
    # The environment gets no pip of its own (ensurepip took 10-15 s): this pip installs
    # into it. --no-compile: compiling every installed module (numpy, lifelines'
    # matplotlib...) was half the install's time; the modules a run imports are compiled
    # when first imported.
    venv.create(work / "venv", with_pip=False)
    bin_dir = work / "venv" / "bin"
    subprocess.run(
        [*pip, "--python", str(bin_dir / "python"), "install", "--no-compile", str(wheel)],
        check=True,
        timeout=900,
    )
    return bin_dir


def test_the_installed_package_is_the_wheel_not_the_checkout(
    installed: Path, tmp_path: Path
) -> None:
    done = subprocess.run(
        [str(installed / "python"), "-c", "import clearance; print(clearance.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    location = Path(done.stdout.strip())
    assert location.is_relative_to(installed.parent), location
    assert not location.is_relative_to(ROOT / "src")


def test_the_installed_server_serves_every_asset_and_clears_a_decision(
    installed: Path, tmp_path: Path
) -> None:
    server = Server(
        f"sqlite:///{tmp_path / 'wheel.db'}",
        tmp_path / "server.log",
        command=[str(installed / "clearance")],
        extra_env={"CLEARANCE_KEY_DIR": str(tmp_path / "keys")},
        cwd=tmp_path,
    )
    tokens = server.prepare(
        {"planner": ("--operator", "US.AFRICOM"), "dod-officer": ("--authority", "US.DoD")}
    )
    server.start()
    try:
        with httpx.Client(base_url=server.base, timeout=30) as client:
            statuses = crawl(client, server.base + "/") | crawl(client, server.base + "/docs")
            missing = {url: status for url, status in statuses.items() if status != 200}
            assert not missing, f"the installed page's assets do not load: {missing}"
            # the page, its modules, Leaflet and Geoman at least
            assert any(url.endswith("leaflet.js") for url in statuses)
            assert any("geoman" in url and url.endswith(".js") for url in statuses)
            assert any("swagger-ui" in url and url.endswith(".js") for url in statuses)
            assert len(statuses) >= 10

            planner = {"Authorization": f"Bearer {tokens['planner']}"}
            dod = {"Authorization": f"Bearer {tokens['dod-officer']}"}
            submitted = client.post(
                "/v1/requests",
                content=AGADEZ.read_bytes(),
                headers={**planner, "Content-Type": "application/yaml"},
            )
            assert submitted.status_code == 201, submitted.text
            request = submitted.json()
            assert request["state"] == "pending"
            decided = client.post(
                f"/v1/requests/{request['id']}/decisions",
                json={"authority": "US.DoD", "decision": "approve", "comment": "smoke"},
                headers=dod,
            )
            assert decided.status_code == 200, decided.text
            shown = client.get(f"/v1/requests/{request['id']}", headers=planner).json()
            approved = [a for a in shown["approvals"] if a["authority"] == "US.DoD"]
            assert approved[0]["status"] == "approved", json.dumps(shown["approvals"])
    finally:
        server.stop()
