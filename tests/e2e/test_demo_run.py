"""``./run`` itself, in subprocesses, on a free port with its data in a temporary
directory: it replays the Niger timeline (so the queue, the overview and the forecasts
have content from the first minute, on a clock that moves), refuses a busy port before touching anything
(the running demo's database and tokens keep working), keeps its database from one run to
the next, and starts over only with ``--fresh``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from clearance.adapters.timeline_files import read_timeline
from clearance.domain.documents import instant
from tests.serverproc import CLEARANCE, ROOT, free_port

RUN = str(ROOT / "run")
TOKEN_ROW = re.compile(r"│ (\S+)\s+│ (\S+)\s+│ ([A-Za-z0-9_-]{43})\s+│")
TIMELINE, _, DOCUMENTS = read_timeline(ROOT / "examples" / "niger" / "timeline.yaml")
SUBMITTED = [s for s in TIMELINE.steps if s.action == "submit"]
BY_OPERATOR = {
    operator: sum(1 for s in SUBMITTED if DOCUMENTS[str(s.request)]["operator"] == operator)
    for operator in ("US.AFRICOM", "FR.Barkhane")
}
WITHDRAWN = sum(1 for s in TIMELINE.steps if s.action == "withdraw")


def tokens_in(output: str) -> dict[str, str]:
    return {m.group(1): m.group(3) for m in TOKEN_ROW.finditer(output)}


def run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RUN, *args], capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT
    )


def on_demo(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``clearance ARGS`` on the demo's database, as the demo tells one to."""
    env = os.environ | {
        "CLEARANCE_DATABASE_URL": f"sqlite:///{directory / 'demo.db'}",
        "CLEARANCE_KEY_DIR": str(directory / "demo-keys"),
    }
    return subprocess.run(
        [*CLEARANCE, *args], capture_output=True, text=True, timeout=120, check=False, env=env
    )


def cli(directory: Path, *args: str) -> Any:
    done = on_demo(directory, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


class Demo:
    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.port = port
        self.log = directory.parent / f"demo-{port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> dict[str, str]:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [RUN, "--dir", str(self.directory), "--port", str(self.port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"./run exited: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return tokens_in(self.log.read_text())
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"./run did not start: {self.log.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    d = Demo(tmp_path / "var", free_port())
    try:
        yield d
    finally:
        d.stop()


def visible(http: httpx.Client, token: str) -> list[dict[str, Any]]:
    response = http.get("/v1/requests", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_run_twice_refuses_the_busy_port_and_keeps_the_running_demo_whole(demo: Demo) -> None:
    tokens = demo.start()
    assert {"africom-planner", "barkhane-planner", "dod-duty-officer"} <= set(tokens)
    stored = cli(demo.directory, "request", "list")
    assert len(stored) == len(SUBMITTED)
    assert {r["submitted_by"] for r in stored} == {"africom-planner", "barkhane-planner"}
    with httpx.Client(base_url=demo.base, timeout=30) as http:
        africom = visible(http, tokens["africom-planner"])
        assert len(africom) == BY_OPERATOR["US.AFRICOM"]
        assert len(visible(http, tokens["barkhane-planner"])) == BY_OPERATOR["FR.Barkhane"]
        queue = http.get(
            "/v1/authorities/US.DoD/queue",
            headers={"Authorization": f"Bearer {tokens['dod-duty-officer']}"},
        )
        assert queue.status_code == 200
        assert queue.json()["items"]  # the Agadez armed overwatch, among others

        for again in (run("--dir", str(demo.directory), "--port", str(demo.port)),
                      run("--dir", str(demo.directory), "--port", str(demo.port), "--fresh")):  # fmt: skip
            assert again.returncode == 2, again.stdout + again.stderr
            assert again.stdout == ""
            (line,) = again.stderr.splitlines()
            assert f"port {demo.port}" in line
            assert "in use" in line
            assert "--port" in line
            assert "CLEARANCE_PORT" in line

        # On another port, the same directory is still the running demo's.
        other = run("--dir", str(demo.directory), "--port", str(free_port()), "--fresh")
        assert other.returncode == 2, other.stdout + other.stderr
        assert other.stdout == ""
        (line,) = other.stderr.splitlines()
        assert demo.process is not None  # ./run execs clearance: the same process
        assert line.startswith(
            f"error: --dir: the demo in {demo.directory} is in use by process {demo.process.pid};"
        )

        # The running demo's tokens and requests are untouched.
        for name, token in tokens.items():
            me = http.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200, (name, me.text)
        assert len(visible(http, tokens["africom-planner"])) == BY_OPERATOR["US.AFRICOM"]
    assert demo.process is not None
    assert demo.process.poll() is None


def test_run_keeps_its_database_and_fresh_starts_over(demo: Demo) -> None:
    first = demo.start()
    demo.stop()
    newest = cli(demo.directory, "request", "list")[0]
    withdrawn = on_demo(
        demo.directory, "request", "withdraw", newest["id"], "--as", "africom-planner"
    )
    assert withdrawn.returncode == 0, withdrawn.stderr

    kept = run("--dir", str(demo.directory), "--no-serve")
    assert kept.returncode == 0, kept.stderr
    assert "Kept the demo's database" in kept.stdout
    again = tokens_in(kept.stdout)
    assert set(again) == set(first)
    assert all(again[name] != first[name] for name in first)  # new tokens, same principals
    states = {r["id"]: r["state"] for r in cli(demo.directory, "request", "list")}
    assert len(states) == len(SUBMITTED)  # not replayed twice
    assert states[newest["id"]] == "withdrawn"

    fresh = run("--dir", str(demo.directory), "--no-serve", "--fresh")
    assert fresh.returncode == 0, fresh.stderr
    assert "Kept" not in fresh.stdout
    after = cli(demo.directory, "request", "list")
    assert len(after) == len(SUBMITTED)
    assert newest["id"] not in {r["id"] for r in after}
    assert [r["state"] for r in after].count("withdrawn") == WITHDRAWN  # the timeline's own
    # The stored requests' table heads its column "state" (what it shows), not "outcome".
    header = next(line for line in fresh.stdout.splitlines() if "┃ request" in line)
    assert re.search(r"┃ state +┃", header), header
    assert "outcome" not in header
    # The table says what holds each request, never "awaiting review" for an ended one.
    for row in re.split(r"\n[├└]", fresh.stdout):
        if re.search(r"│ (infeasible|denied) ", row):
            assert "awaiting review" not in row, row


def test_fresh_without_a_directory_of_its_own_is_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [*CLEARANCE, "demo", "--fresh", "--no-serve"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: --fresh: needs --dir")
    assert "Traceback" not in done.stderr


def test_run_starts_from_the_timeline_with_history_and_a_moving_clock(demo: Demo) -> None:
    tokens = demo.start()
    officer = {"Authorization": f"Bearer {tokens['dod-duty-officer']}"}
    with httpx.Client(base_url=demo.base, timeout=30) as http:
        first = http.get("/v1/me", headers=officer).json()
        assert first["clock_rate"] == 1.0
        assert first["now"] >= instant(TIMELINE.end)  # the clock starts at the timeline's end
        assert first["now"] < "2017-11-21"
        overview = http.get("/v1/overview", headers=officer)
        assert overview.status_code == 200, overview.text
        waits = {a["authority"]: a for a in overview.json()["authorities"]}
        assert waits["US.DoD"]["decisions"] >= 5
        assert waits["US.DoD"]["median_wait_seconds"] > 3600  # not "0s": a real history
        assert overview.json()["bottleneck"] is not None
        queue = http.get("/v1/authorities/US.DoD/queue", headers=officer).json()["items"]
        pending = queue[0]["id"]
        forecast = http.get(f"/v1/requests/{pending}/forecast", headers=officer)
        assert forecast.status_code == 200, forecast.text
        assert forecast.json()["status"] == "forecast"
        time.sleep(1.5)
        later = http.get("/v1/me", headers=officer).json()
        assert later["now"] > first["now"]  # it moves
