"""Retake the README's screenshots from a real server in Debian's Chromium, as a member of
NE.Defense sees them: the armed Agadez request after US.DoD (with a condition) and
US.State approved (docs/request-page.png), and the common picture on the morning of that
flight, with other operations of the day in every state (docs/picture.png).

    .venv/bin/python tools/web/screenshot.py [--out docs/request-page.png] [--picture docs/picture.png]
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
    parser.add_argument("--picture", type=Path, default=ROOT / "docs" / "picture.png")
    args = parser.parse_args()
    out, picture = args.out.resolve(), args.picture.resolve()
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
            "barkhane-planner": ("--operator", "FR.Barkhane"),
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
            shoot(base, tokens, out, picture)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"wrote {out} and {picture}")


# Other operations of that day for the picture (example, its operator), all moved to
# 2020-03-02 06:00-12:00: cleared ISR (US and French), one that waits for Nigeria, one
# denied over Mali, one infeasible beyond the MQ-1B's reach.
THAT_DAY = [
    ("01", "africom-planner"), ("07", "barkhane-planner"), ("13", "africom-planner"),
    ("11", "africom-planner"), ("10", "africom-planner"),
]  # fmt: skip


def example(prefix: str) -> dict[str, object]:
    (path,) = (ROOT / "examples" / "niger" / "requests").glob(f"{prefix}-*.yaml")
    doc: dict[str, object] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return doc


def shoot(base: str, tokens: dict[str, str], out: Path, picture: Path) -> None:
    def auth(name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[name]}"}

    made = httpx.post(
        f"{base}/v1/requests", json=example("05"), headers=auth("africom-planner")
    ).json()
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

        for prefix, operator in THAT_DAY:
            doc = example(prefix)
            for volume in doc["volumes"]:  # type: ignore[attr-defined]
                volume["time_start"]["value"] = "2020-03-02T06:00:00Z"
                volume["time_end"]["value"] = "2020-03-02T12:00:00Z"
            httpx.post(f"{base}/v1/requests", json=doc, headers=auth(operator)).raise_for_status()
        page.set_viewport_size({"width": 1280, "height": 1000})
        page.goto(f"{base}/#/picture/2020-03-02T08:00:00Z")
        page.reload()  # the lists too
        expect(page.locator("#picture-active li")).to_have_count(1 + len(THAT_DAY))
        page.wait_for_timeout(500)
        page.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
        page.screenshot(path=str(picture))
        browser.close()


if __name__ == "__main__":
    main()
