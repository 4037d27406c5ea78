"""The witness's SQLite state: check-and-store is atomic, across threads and processes,
and the state survives a restart; the in-memory fake behaves the same."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clearance.adapters.witness_store import SqliteWitnessStore
from clearance.domain.errors import (
    InconsistentCheckpointError,
    OldSizeError,
)
from clearance.domain.ledger.policy import check_quorum, parse_policy
from clearance.domain.ledger.witness import LogKey, Witnessed
from clearance.service.witness import MemoryWitnessStore, Witness, WitnessState, WitnessStore
from tests.witnesskit import PlayedLog

WITNESS_KEY = Ed25519PrivateKey.generate()


@pytest.fixture(params=["sqlite", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> WitnessStore:
    return SqliteWitnessStore(tmp_path) if request.param == "sqlite" else MemoryWitnessStore()


def witness(store: WitnessStore, log: PlayedLog, clock: int = 1_800_000_000) -> Witness:
    return Witness(
        "witness.test/ne", WITNESS_KEY, [LogKey(log.origin, log.public_key)], store, lambda: clock
    )


def test_the_witness_advances_and_refuses_as_the_spec_says(store: WitnessStore) -> None:
    log = PlayedLog()
    w = witness(store, log)
    cosigned = w.add_checkpoint(log.body(0, 5))
    assert cosigned.size == 5
    policy = parse_policy(f"log {log.vkey}\nwitness NE {w.vkey}\nquorum NE\n")
    assert check_quorum(policy, log.note(5) + cosigned.lines).cosigned == {"NE": 1_800_000_000}
    with pytest.raises(OldSizeError) as stale:
        w.add_checkpoint(log.body(2, 9))
    assert stale.value.size == 5
    log.rewrite(1)
    with pytest.raises(InconsistentCheckpointError):
        w.add_checkpoint(log.body(5, 9))
    latest = w.latest(log.origin)
    assert latest is not None
    assert latest.tree.size == 5  # a refusal stores nothing
    assert check_quorum(policy, latest.note).checkpoint.size == 5


def test_the_state_survives_a_restart(tmp_path: Path) -> None:
    log = PlayedLog()
    witness(SqliteWitnessStore(tmp_path), log).add_checkpoint(log.body(0, 6))
    with pytest.raises(OldSizeError) as stale:
        witness(SqliteWitnessStore(tmp_path), log).add_checkpoint(log.body(0, 7))
    assert stale.value.size == 6


def slow_step(size: int) -> object:
    def step(state: WitnessState | None) -> WitnessState:
        seen = state.tree.size if state is not None else 0
        time.sleep(0.05)  # widen the window between the read and the write
        if seen != 0:
            raise OldSizeError("moved", seen)
        return WitnessState(Witnessed(size, bytes(32)), "note")

    return step


def test_racing_threads_from_one_size_advance_once(store: WitnessStore) -> None:
    results: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def run(size: int) -> None:
        barrier.wait()
        try:
            store.advance("o", slow_step(size))  # type: ignore[arg-type]
            outcome = "advanced"
        except OldSizeError:
            outcome = "refused"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run, args=(i + 1,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["advanced"] + ["refused"] * 5


def _advance_in_process(
    directory: str, size: int, queue: multiprocessing.Queue[str], barrier: Any
) -> None:
    store = SqliteWitnessStore(Path(directory))
    barrier.wait()
    try:
        store.advance("o", slow_step(size))  # type: ignore[arg-type]
        queue.put("advanced")
    except OldSizeError:
        queue.put("refused")


def test_racing_processes_from_one_size_advance_once(tmp_path: Path) -> None:
    SqliteWitnessStore(tmp_path)  # the schema first
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[str] = ctx.Queue()
    barrier = ctx.Barrier(4)
    procs = [
        ctx.Process(target=_advance_in_process, args=(str(tmp_path), i + 1, queue, barrier))
        for i in range(4)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert sorted(queue.get(timeout=10) for _ in procs) == ["advanced"] + ["refused"] * 3
