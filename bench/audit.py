"""Benchmark: the audit log's durable appends and inclusion proofs, ours against pymerkle.

Both logs live in SQLite files with the product's settings (WAL, synchronous=FULL, so every
commit is fsynced) and take the same entries: RFC 8785 canonical JSON audit events of
about 150 bytes, built by a template that is checked against ``canonical_json`` (the
canonicalisation itself is timed separately and not counted in the appends).

- ours: ``clearance.adapters.audit_store.TileStore`` (the product's tile layout) — leaves
  plus complete-subtree hashes in tiles of 256, fed by ``Frontier``; a proof reads its
  tiles from SQLite in one query (a fresh connection, no in-memory tree) and is then
  checked with ``verify_inclusion``;
- pymerkle (``pymerkle.SqliteTree``): ``append_entries`` per batch, ``prove_inclusion``
  (1-based) with its default subroot cache, checked with ``pymerkle.verify_inclusion``.

Figures: durable appends/s in batches (one transaction each), inclusion proof p50/p99 in
microseconds at the full size (read the entry, build the proof, verify it), consistency
proof p50, and the ratios ours/pymerkle. Both roots are compared.

The witnessed path (``--witnesses 3``; 0 skips it): that many real ``clearance witness
serve`` processes on loopback, and the product's ``AuditLog`` over a fresh SQLite database
submitting to them (``service.witnessing``, over HTTP). Figures: checkpoints/s when each
checkpoint (one new entry each) is integrated, signed, submitted to every witness and its
cosignatures stored, one after another; and the time from an entry's commit to a
checkpoint that includes it with the quorum (all the witnesses) of verified cosignatures,
p50/p99, with entries committed at random moments while the integration runs every
``--interval`` seconds as the API server's does (1 s). Prints JSON last.

    .venv/bin/python bench/audit.py [--entries 1000000] [--batch 1000] [--proofs 10000]
        [--pymerkle-entries N (default: --entries)] [--pymerkle-proofs 2000] [--dir DIR]
        [--witnesses 3] [--checkpoints 300] [--commits 300] [--interval 1.0]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import benchkit  # bench/ is on sys.path when a bench runs as a script

from clearance.adapters.audit_store import CACHE_KIB, TILE_BYTES, TileStore
from clearance.domain.ledger.merkle import (
    canonical_json,
    consistency_proof_for,
    inclusion_proof_for,
    leaf_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from clearance.domain.ledger.policy import cosigned_by

TYPES = ("request.submitted", "request.evaluated", "decision.recorded", "request.cleared")


def event(i: int) -> dict[str, Any]:
    return {
        "seq": i,
        "type": TYPES[i % 4],
        "request": f"req-{i // 4:08d}",
        "actor": f"US.DoD/member-{i % 97}",
        "at": f"2026-05-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
        "stage": i % 3,
    }


def entry(i: int) -> bytes:
    """canonical_json(event(i)), by template (keys already in RFC 8785 order)."""
    return (
        f'{{"actor":"US.DoD/member-{i % 97}",'
        f'"at":"2026-05-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",'
        f'"request":"req-{i // 4:08d}","seq":{i},"stage":{i % 3},"type":"{TYPES[i % 4]}"}}'
    ).encode()


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1]


def batches(n: int, size: int) -> Any:
    for start in range(0, n, size):
        yield [entry(i) for i in range(start, min(n, start + size))]


def timed_appends(n: int, batch: int, append: Callable[[list[bytes]], object]) -> float:
    """Appends/s, counting only the append calls (entry bytes are built untimed)."""
    spent = 0.0
    for chunk in batches(n, batch):
        t0 = time.perf_counter()
        append(chunk)
        spent += time.perf_counter() - t0
    return n / spent


def measure_canonical_json(samples: int = 20_000) -> float:
    events = [event(i) for i in range(samples)]
    t0 = time.perf_counter()
    for e in events:
        canonical_json(e)
    return (time.perf_counter() - t0) / samples * 1e6


def self_check(workdir: Path) -> int:
    """The tile store against the pure functions on small trees: after every batch (odd
    sizes included), the root and every inclusion and consistency proof, at the current
    size (right edge from the tree row) and at every earlier size (tiles only)."""
    store = TileStore(workdir / "check.db")
    rng = random.Random(1)
    leaves: list[bytes] = []
    sizes: list[int] = []
    checked = 0
    while len(leaves) < 700:
        chunk = [entry(len(leaves) + j) for j in range(rng.choice((1, 2, 3, 7, 31, 64, 255, 256)))]
        store.append(chunk)
        leaves += [leaf_hash(d) for d in chunk]
        size = len(leaves)
        sizes.append(size)
        assert store.root() == root_hash(leaves) == store.stored_size_and_root()[1]
        for n in (size, *rng.sample(sizes, min(3, len(sizes)))):
            for i in (*range(min(n, 20)), *rng.sample(range(n), min(n, 20)), n - 1):
                lh, proof = store.inclusion(i, n)
                assert (lh, proof) == (leaves[i], inclusion_proof_for(i, leaves[:n])), (i, n)
                checked += 1
            for m in (1, n, *rng.sample(range(1, n + 1), min(n, 10))):
                assert store.consistency_proof(m, n) == consistency_proof_for(m, n, leaves)
                checked += 1
    store.close()
    return checked


def bench_ours(path: Path, n: int, batch: int, proofs: int, rng: random.Random) -> dict[str, Any]:
    store = TileStore(path)
    rate = timed_appends(n, batch, store.append)
    root = store.root()
    store.close()

    store = TileStore(path)  # a fresh connection: proofs come from the file
    size, stored_root = store.stored_size_and_root()
    assert (size, stored_root) == (n, root)
    indices = [rng.randrange(size) for _ in range(proofs)]
    total_us: list[float] = []
    lengths = 0
    for i in indices:
        t0 = time.perf_counter()
        lh, proof = store.inclusion(i, size)
        verify_inclusion(lh, i, size, proof, stored_root)
        total_us.append((time.perf_counter() - t0) * 1e6)
        lengths += len(proof)
    tiles_per_proof = store.tiles_read / proofs

    with_data_us: list[float] = []
    for i in indices:
        t0 = time.perf_counter()
        data, _ = store.leaf(i)
        lh, proof = store.inclusion(i, size)
        if leaf_hash(data) != lh:
            raise AssertionError(f"entry {i} does not hash to its stored leaf hash")
        verify_inclusion(lh, i, size, proof, stored_root)
        with_data_us.append((time.perf_counter() - t0) * 1e6)

    older_us: list[float] = []
    older = size - 12_345 if size > 24_690 else size // 2 + 1
    older_root = store.hash_at(0, older)
    for i in indices[:2000]:
        i %= older
        t0 = time.perf_counter()
        lh, proof = store.inclusion(i, older)
        verify_inclusion(lh, i, older, proof, older_root)
        older_us.append((time.perf_counter() - t0) * 1e6)

    store.close()
    store = TileStore(path, cache_kib=None)  # SQLite's default page cache (2,000 KiB)
    default_cache_us: list[float] = []
    for i in indices[:2000]:
        t0 = time.perf_counter()
        lh, proof = store.inclusion(i, size)
        verify_inclusion(lh, i, size, proof, stored_root)
        default_cache_us.append((time.perf_counter() - t0) * 1e6)
    store.close()
    store = TileStore(path)

    cons_us: list[float] = []
    for size1 in (rng.randrange(1, size) for _ in range(min(proofs, 2000))):
        root1 = store.hash_at(0, size1)  # the old checkpoint's root, untimed
        t0 = time.perf_counter()
        cproof = store.consistency_proof(size1, size)
        verify_consistency(size1, size, cproof, root1, stored_root)
        cons_us.append((time.perf_counter() - t0) * 1e6)
    store.close()
    return {
        "entries": n,
        "appends_per_s": round(rate),
        "inclusion_p50_us": round(percentile(total_us, 0.5), 1),
        "inclusion_p99_us": round(percentile(total_us, 0.99), 1),
        "inclusion_with_entry_read_p50_us": round(percentile(with_data_us, 0.5), 1),
        "inclusion_at_older_size_p50_us": round(percentile(older_us, 0.5), 1),
        "inclusion_default_page_cache_p50_us": round(percentile(default_cache_us, 0.5), 1),
        "inclusion_proof_hashes_mean": round(lengths / proofs, 2),
        "tiles_read_per_proof_mean": round(tiles_per_proof, 2),
        "consistency_p50_us": round(percentile(cons_us, 0.5), 1),
        "db_bytes": _db_bytes(path),
        "root": root.hex(),
    }


def bench_pymerkle(
    path: Path, n: int, batch: int, proofs: int, rng: random.Random
) -> dict[str, Any]:
    import pymerkle  # type: ignore[import-untyped]

    tree = pymerkle.SqliteTree(str(path))
    tree.con.execute("PRAGMA journal_mode=WAL")
    tree.con.execute("PRAGMA synchronous=FULL")
    tree.con.execute(f"PRAGMA cache_size=-{CACHE_KIB}")  # the same page cache as ours
    rate = timed_appends(n, batch, tree.append_entries)
    size = tree.get_size()
    t0 = time.perf_counter()
    root = tree.get_root()
    root_s = time.perf_counter() - t0
    assert size == n

    def one(i: int) -> float:
        t0 = time.perf_counter()
        base = tree.get_leaf(i + 1)
        proof = tree.prove_inclusion(i + 1, size)
        pymerkle.verify_inclusion(base, root, proof)
        return (time.perf_counter() - t0) * 1e6

    first_us = one(rng.randrange(size))
    total_us = [one(rng.randrange(size)) for _ in range(proofs)]
    tree.close()
    return {
        "entries": n,
        "appends_per_s": round(rate),
        "first_root_s": round(root_s, 2),
        "first_inclusion_us": round(first_us, 1),
        "inclusion_p50_us": round(percentile(total_us, 0.5), 1),
        "inclusion_p99_us": round(percentile(total_us, 0.99), 1),
        "inclusion_samples": proofs,
        "db_bytes": _db_bytes(path),
        "root": root.hex(),
    }


def bench_witnessed(
    workdir: Path, witnesses: int, checkpoints: int, commits: int, interval: float, seed: int
) -> dict[str, Any]:
    """Checkpoints/s through ``witnesses`` real witness processes, and commit-to-quorum."""
    import threading

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from clearance.adapters.sql import make_engine, uow_factory, upgrade
    from clearance.adapters.witness_client import HttpWitnessClient
    from clearance.domain.ledger import audit
    from clearance.domain.ledger.checkpoint import vkey
    from clearance.domain.ledger.policy import parse_policy
    from clearance.service.audit import AuditLog
    from clearance.service.witnessing import Witnessing

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.witnesskit import policy_text, start_witnesses, stop_witnesses

    origin = "bench.clearance/log"
    key = Ed25519PrivateKey.generate()
    names = [f"W{i}" for i in range(witnesses)]
    engine = make_engine(f"sqlite:///{workdir / 'witnessed.db'}")
    upgrade(engine)
    new_uow = uow_factory(engine)
    started = start_witnesses(workdir, names, [vkey(origin, key.public_key())])
    rng = random.Random(seed)
    try:
        policy = parse_policy(
            policy_text(vkey(origin, key.public_key()), started, quorum=str(witnesses))
        )
        witnessing = Witnessing(policy, HttpWitnessClient())
        log = AuditLog(new_uow, origin, key, witnessing=witnessing)

        def commit(i: int) -> None:
            with new_uow() as uow:
                uow.audit.append(
                    audit.KEY, audit.key_fields("authority", f"bench-{i}", rng.randbytes(32))
                )
                uow.commit()

        def quorum(note: str) -> bool:
            return policy.satisfied(set(cosigned_by(policy, note)))

        commit(-1)
        assert quorum(log.integrate().note), "the witnesses did not cosign the first checkpoint"
        begin = time.perf_counter()
        for i in range(checkpoints):
            commit(i)
            if not quorum(log.integrate().note):
                raise RuntimeError(f"checkpoint {i} lacks the quorum")
        per_s = checkpoints / (time.perf_counter() - begin)

        # commit-to-quorum: entries committed at random moments; integration every interval
        committed: list[float] = []
        latencies: list[float] = []
        halt = threading.Event()

        def integrator() -> None:
            counted = 0
            witnessed_at = 0.0  # when the last checkpoint with the quorum was stored
            while not halt.wait(interval):
                begun = len(committed)  # entries committed before this run began
                checkpoint = log.integrate_if_pending()
                done = time.perf_counter()
                if checkpoint is not None and quorum(checkpoint.note):
                    latencies.extend(done - t for t in committed[counted:begun])
                    counted, witnessed_at = begun, done
                elif checkpoint is None:
                    # nothing waits and the latest checkpoint has its quorum: an entry
                    # committed just after ``begun`` was read made it into the previous
                    # run's checkpoint
                    latencies.extend(witnessed_at - t for t in committed[counted:begun])
                    counted = begun

        thread = threading.Thread(target=integrator, daemon=True)
        thread.start()
        for i in range(commits):
            time.sleep(rng.uniform(0, 2 * interval / 10))
            commit(10_000_000 + i)
            committed.append(time.perf_counter())
        deadline = time.monotonic() + 60 + 10 * interval
        while len(latencies) < len(committed) and thread.is_alive():
            if time.monotonic() > deadline:
                halt.set()
                raise RuntimeError(
                    f"{len(committed) - len(latencies)} of {len(committed)} entries reached "
                    "no checkpoint with the quorum in a minute"
                )
            time.sleep(interval / 10)
        halt.set()
        thread.join()
        witnessing.close()
    finally:
        stop_witnesses(started)
        engine.dispose()
    return {
        "witnesses": witnesses,
        "checkpoints": checkpoints,
        "checkpoints_per_s": round(per_s, 1),
        "commit_to_quorum_entries": len(latencies),
        "commit_to_quorum_interval_s": interval,
        "commit_to_quorum_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "commit_to_quorum_p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
    }


def _db_bytes(path: Path) -> int:
    return sum(os.path.getsize(p) for p in (path, Path(f"{path}-wal")) if os.path.exists(p))


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=1_000, help="entries per transaction")
    ap.add_argument("--proofs", type=int, default=10_000)
    ap.add_argument("--pymerkle-entries", type=int, default=None, help="default: --entries")
    ap.add_argument("--pymerkle-proofs", type=int, default=2_000)
    ap.add_argument("--dir", type=Path, default=None, help="where the SQLite files go")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--witnesses", type=int, default=3, help="0: skip the witnessed path")
    ap.add_argument("--checkpoints", type=int, default=300, help="witnessed, one after another")
    ap.add_argument("--commits", type=int, default=300, help="timed from commit to quorum")
    ap.add_argument("--interval", type=float, default=1.0, help="seconds between integrations")
    args = benchkit.parse_args(
        ap,
        {
            "entries": 3_000,
            "proofs": 200,
            "pymerkle_proofs": 50,
            "checkpoints": 5,
            "commits": 10,
            "interval": 0.2,
        },
    )
    pm_entries = args.pymerkle_entries or args.entries

    for i in (0, 1, 59, 3599, 86_399, 999_999, args.entries - 1):
        assert entry(i) == canonical_json(event(i)), i

    workdir = Path(tempfile.mkdtemp(prefix="audit-bench-", dir=args.dir))
    try:
        checked = self_check(workdir)
        canon_us = measure_canonical_json()
        ours = bench_ours(
            workdir / "ours.db", args.entries, args.batch, args.proofs, random.Random(args.seed)
        )
        print(f"ours: {json.dumps(ours)}", file=sys.stderr)
        theirs = bench_pymerkle(
            workdir / "pymerkle.db",
            pm_entries,
            args.batch,
            args.pymerkle_proofs,
            random.Random(args.seed),
        )
        print(f"pymerkle: {json.dumps(theirs)}", file=sys.stderr)
        witnessed = (
            bench_witnessed(
                workdir, args.witnesses, args.checkpoints, args.commits, args.interval, args.seed
            )
            if args.witnesses
            else None
        )
        print(f"witnessed: {json.dumps(witnessed)}", file=sys.stderr)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    same_size = pm_entries == args.entries
    figures = {
        "entries": args.entries,
        "batch": args.batch,
        "sqlite": f"WAL, synchronous=FULL, cache_size={CACHE_KIB} KiB, one transaction per batch",
        "tile_row_bytes": TILE_BYTES,
        "tile_store_self_check_proofs": checked,
        "canonical_json_us_per_entry": round(canon_us, 2),
        "ours": ours,
        "pymerkle": theirs,
        "pymerkle_measured_at_same_size": same_size,
        "roots_equal": ours["root"] == theirs["root"] if same_size else None,
        "ratio_appends_ours_over_pymerkle": round(
            ours["appends_per_s"] / theirs["appends_per_s"], 2
        ),
        "ratio_proof_speed_ours_over_pymerkle": round(
            theirs["inclusion_p50_us"] / ours["inclusion_p50_us"], 1
        ),
        "witnessed": witnessed,
        "targets": {
            "commit_to_quorum_p99_ms<=1000": witnessed["commit_to_quorum_p99_ms"] <= 1000
            if witnessed
            else None,
            "appends_per_s>=50000": ours["appends_per_s"] >= 50_000,
            "inclusion_p50_us<=100": ours["inclusion_p50_us"] <= 100,
            "proof_speed>=10x_pymerkle": theirs["inclusion_p50_us"]
            >= 10 * ours["inclusion_p50_us"],
        },
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
