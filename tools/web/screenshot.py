"""Retake the README's screenshot (docs/request-page.png) from a real server in Debian's
Chromium: the armed Agadez request after US.DoD (with a condition) and US.State approved,
as a member of NE.Defense sees it.

    .venv/bin/python tools/web/screenshot.py [--out docs/request-page.png]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "clearance")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "request-page.png")
    out = parser.parse_args().out.resolve()
    with tempfile.TemporaryDirectory(prefix="clearance-shot-") as tmp:
        env = os.environ | {
            "CLEARANCE_DATABASE_URL": f"sqlite:///{tmp}/shot.db",
            "CLEARANCE_KEY_DIR": f"{tmp}/keys",
        }

        def cli(*args: str) -> str:
            done = subprocess.run([CLI, *args], env=env, capture_output=True, text=True, check=True)
            return done.stdout

        cli("db", "upgrade")
        cli("scenario", "load", str(ROOT / "examples" / "niger"))
        roles = {
            "africom-planner": ("--operator", "US.AFRICOM"),
            "dod-duty-officer": ("--authority", "US.DoD"),
            "state-africa-desk": ("--authority", "US.State"),
            "ne-defense-staff": ("--authority", "NE.Defense"),
        }
        tokens = {
            name: cli("principal", "add", name, flag, ident).strip().splitlines()[-1]
            for name, (flag, ident) in roles.items()
        }
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen([CLI, "serve", "--port", str(port)], env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    if httpx.get(f"{base}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
            shoot(base, tokens, out)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"wrote {out}")


def shoot(base: str, tokens: dict[str, str], out: Path) -> None:
    def auth(name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[name]}"}

    (path,) = (ROOT / "examples" / "niger" / "requests").glob("05-*.yaml")
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    made = httpx.post(f"{base}/v1/requests", json=doc, headers=auth("africom-planner")).json()
    rid = made["id"]
    decisions = [
        ("dod-duty-officer", "US.DoD", "Overwatch only; weapons release under US rules",
         {"text": "Report to Niamey on landing"}),
        ("state-africa-desk", "US.State", "Concur; Niger's consent still needed", None),
    ]  # fmt: skip
    for name, authority, comment, conditions in decisions:
        body = {"authority": authority, "decision": "approve", "comment": comment}
        if conditions:
            body["conditions"] = conditions
        httpx.post(f"{base}/v1/requests/{rid}/decisions", json=body, headers=auth(name))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(base + "/")
        page.get_by_label("API token").fill(tokens["ne-defense-staff"])
        page.get_by_role("button", name="Sign in").click()
        page.locator(f'#queue-items li[data-id="{rid}"] a').click()
        expect(page.locator("#audit-entries li[data-ok='true']")).to_have_count(3)
        page.set_viewport_size({"width": 1280, "height": 1500})
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(out))
        browser.close()


if __name__ == "__main__":
    main()
