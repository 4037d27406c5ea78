"""`clearance witness serve` as a real process on loopback, spoken to as a log would
(C2SP tlog-witness add-checkpoint), with the log played by the test."""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clearance.adapters.key_files import new_key_file
from clearance.adapters.keys import KeyStore
from clearance.config import Settings
from clearance.domain.errors import QuorumError
from clearance.domain.ledger.checkpoint import vkey
from clearance.domain.ledger.policy import Policy, check_quorum, parse_policy
from clearance.domain.ledger.witness import SIZE_MEDIA_TYPE
from tests.serverproc import CLEARANCE, Server, free_port
from tests.witnesskit import (
    PlayedLog,
    WitnessProcess,
    policy_text,
    start_witnesses,
    stop_witnesses,
)

PROBLEM_JSON = "application/problem+json"


@pytest.fixture
def log() -> PlayedLog:
    return PlayedLog()


@pytest.fixture
def witness(tmp_path: Path, log: PlayedLog) -> Iterator[WitnessProcess]:
    process = WitnessProcess(
        "witness.test/us", tmp_path / "us.pem", tmp_path / "us", [log.vkey], tmp_path / "us.log"
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


def add(witness: WitnessProcess, body: bytes) -> httpx.Response:
    return httpx.post(f"{witness.base}/add-checkpoint", content=body, timeout=30)


def test_the_key_file_is_private_and_the_vkey_is_printed(tmp_path: Path, log: PlayedLog) -> None:
    process = WitnessProcess(
        "witness.test/fr", tmp_path / "fr.pem", tmp_path / "fr", [log.vkey], tmp_path / "fr.log"
    )
    process.make_key()
    assert process.key.stat().st_mode & 0o777 == 0o600
    assert process.vkey.startswith("witness.test/fr+")
    process.start()
    try:
        cosigned = add(process, log.body(0, 2))
        policy = parse_policy(f"log {log.vkey}\nwitness FR {process.vkey}\nquorum FR\n")
        check_quorum(policy, log.note(2) + cosigned.text)
    finally:
        process.stop()


def test_it_cosigns_a_good_checkpoint_and_its_extension(
    witness: WitnessProcess, log: PlayedLog
) -> None:
    first = add(witness, log.body(0, 5))
    assert first.status_code == 200, first.text
    assert first.text.startswith("\u2014 witness.test/us ")
    assert first.text.endswith("\n")
    policy = parse_policy(f"log {log.vkey}\nwitness US {witness.vkey}\nquorum US\n")
    assert set(check_quorum(policy, log.note(5) + first.text).cosigned) == {"US"}
    second = add(witness, log.body(5, 12))
    assert second.status_code == 200, second.text
    check_quorum(policy, log.note(12) + second.text)
    # the monitoring retrieval serves it, log signature and cosignature
    origin_hash = hashlib.sha256(log.origin.encode()).hexdigest()
    latest = httpx.get(f"{witness.base}/{origin_hash}/checkpoint", timeout=30)
    assert latest.status_code == 200
    assert check_quorum(policy, latest.text).checkpoint.size == 12


def test_a_stale_old_size_gets_409_with_its_size(witness: WitnessProcess, log: PlayedLog) -> None:
    assert add(witness, log.body(0, 7)).status_code == 200
    stale = add(witness, log.body(3, 9))
    assert stale.status_code == 409
    assert stale.headers["content-type"] == SIZE_MEDIA_TYPE
    assert stale.text == "7\n"
    # a log that does not know the size asks with 0, then sends the right proof
    probe = add(witness, log.body(0, 9))
    assert (probe.status_code, probe.text) == (409, "7\n")
    assert add(witness, log.body(7, 9)).status_code == 200


def test_a_forged_rewrite_is_refused(witness: WitnessProcess, log: PlayedLog) -> None:
    assert add(witness, log.body(0, 8)).status_code == 200
    log.rewrite(3)  # an attacker with the log key rewrites entry 3 and signs a new tree
    forged = add(witness, log.body(8, 10))
    assert forged.status_code == 422
    assert forged.headers["content-type"] == PROBLEM_JSON
    assert "does not extend the cosigned tree of size 8" in forged.json()["detail"]
    # and the same size with the rewritten root: a split view
    split = add(witness, log.body(8, 8))
    assert split.status_code == 422
    assert "split view" in split.json()["detail"]


def test_a_rollback_is_refused(witness: WitnessProcess, log: PlayedLog) -> None:
    assert add(witness, log.body(0, 10)).status_code == 200
    assert add(witness, log.body(10, 6)).status_code == 400  # old above the new size
    rolled = add(witness, log.body(0, 6))
    assert (rolled.status_code, rolled.text) == (409, "10\n")


def test_the_witness_refuses_other_logs_keys_and_bodies(
    witness: WitnessProcess, log: PlayedLog
) -> None:
    stranger = PlayedLog(origin="stranger.example/log")
    assert add(witness, stranger.body(0, 3)).status_code == 404
    impostor = PlayedLog(key=Ed25519PrivateKey.generate())
    unsigned = add(witness, impostor.body(0, 3))
    assert unsigned.status_code == 403
    assert "no signature by the log's key" in unsigned.json()["detail"]
    bad = add(witness, b"old 01\n\n" + log.note(3).encode())
    assert bad.status_code == 400
    assert "leading zeroes" in bad.json()["detail"]
    assert add(witness, b"x" * (65 * 1024)).status_code == 413
    # none of it moved the witness
    assert add(witness, log.body(0, 3)).status_code == 200


def test_two_concurrent_submissions_from_one_size_advance_once(
    witness: WitnessProcess, log: PlayedLog
) -> None:
    assert add(witness, log.body(0, 4)).status_code == 200
    barrier = threading.Barrier(8)
    statuses: list[int] = []
    lock = threading.Lock()

    def submit(size: int) -> None:
        body = log.body(4, size)
        barrier.wait()
        status = add(witness, body).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=submit, args=(10 + i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] + [409] * 7


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--key", "missing.pem"], "missing.pem: --key: cannot read it"),
        (["--key", "not-a-key.pem"], "not-a-key.pem: --key: is not an unencrypted PEM"),
        (["--key", "k.pem", "--log", "nonsense"], "--log: 'nonsense': a verifier key is"),
        (["--key", "k.pem", "--name", "two words"], "--name: key name 'two words'"),
    ],
)
def test_serve_refuses_bad_input_with_exit_2(
    tmp_path: Path, log: PlayedLog, args: list[str], message: str
) -> None:
    (tmp_path / "not-a-key.pem").write_text("hello\n")
    new_key_file(tmp_path / "k.pem")
    base = {"--name": "witness.test/x", "--state": "state", "--log": log.vkey}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    argv = [part for flag, value in base.items() for part in (flag, value)]
    done = subprocess.run(
        [*CLEARANCE, "witness", "serve", *argv, "--port", str(free_port())],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (None, "missing.policy: CLEARANCE_WITNESSES: cannot read it"),
        ("quorum none\n", "names no witness with a URL"),
        ("witness US nonsense\nquorum US\n", "w.policy: line 1: witness US: a verifier key"),
    ],
)
def test_a_bad_witnesses_policy_is_refused_with_exit_2(
    tmp_path: Path, policy: str | None, message: str
) -> None:
    path = tmp_path / ("missing.policy" if policy is None else "w.policy")
    if policy is not None:
        path.write_text(policy)
    done = subprocess.run(
        [*CLEARANCE, "audit", "checkpoint"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "CLEARANCE_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
            "CLEARANCE_WITNESSES": str(path),
        },
    )
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_clearance_serve_gets_its_checkpoints_cosigned_by_the_witnesses(tmp_path: Path) -> None:
    """The real wiring: `clearance serve` with CLEARANCE_WITNESSES integrates in the
    background, submits to three witness processes and serves the cosigned checkpoint."""
    server = Server(f"sqlite:///{tmp_path / 'c.db'}", tmp_path / "server.log")
    server.prepare({"planner": ("--operator", "US.AFRICOM")})
    configured = Settings.from_env(server.env)
    key = KeyStore(configured.key_dir).instance_key()
    log_vkey = vkey(configured.log_origin, key.public_key())
    witnesses = start_witnesses(tmp_path, ["US", "NE", "FR"], [log_vkey])
    try:
        policy_file = tmp_path / "niger.policy"
        policy_file.write_text(policy_text(log_vkey, witnesses))
        policy = parse_policy(policy_file.read_text())
        server.extra_env["CLEARANCE_WITNESSES"] = str(policy_file)
        server.start()
        try:
            first = _cosigned_checkpoint(server.base, policy, 1)
            server.cli("principal", "add", "another", "--operator", "US.AFRICOM")
            newer = _cosigned_checkpoint(server.base, policy, first + 1)
            assert newer == first + 1
        finally:
            server.stop()
        done = subprocess.run(
            [*CLEARANCE, "audit", "verify", "--policy", str(policy_file)],
            env=server.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "cosigned by FR, NE, US" in done.stdout
    finally:
        stop_witnesses(witnesses)


def _cosigned_checkpoint(base: str, policy: Policy, at_least: int) -> int:
    """The size of the served checkpoint once it is cosigned by all three witnesses."""
    deadline = time.monotonic() + 60
    seen = ""
    while time.monotonic() < deadline:
        seen = httpx.get(f"{base}/v1/audit/checkpoint", timeout=30).text
        with contextlib.suppress(QuorumError):  # not cosigned yet: ask again
            quorum = check_quorum(policy, seen)
            if quorum.checkpoint.size >= at_least and len(quorum.cosigned) == 3:
                return quorum.checkpoint.size
        time.sleep(0.2)
    raise AssertionError(f"no checkpoint of size >= {at_least} cosigned by all 3:\n{seen}")
