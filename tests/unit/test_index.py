"""VolumeIndex finds exactly what a scan with volumes_conflict finds, through bulk builds,
incremental adds (past the recent buffer, so trees are built and merged), removes and
compaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from clearance.domain.airspace.geotemporal import volumes_conflict
from clearance.domain.airspace.index import RECENT_LIMIT, Key, VolumeIndex
from clearance.domain.airspace.volumes import WGS84, Circle, LatLng, Polygon, Volume4D

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def random_volumes(n: int, rng: np.random.Generator) -> list[Volume4D]:
    """Volumes crowded into about 1 x 1 degree and 2 days, so that many conflict."""
    out = []
    for _ in range(n):
        lat, lng = rng.uniform(13.0, 14.0), rng.uniform(1.5, 2.5)
        size = rng.uniform(500.0, 15_000.0)
        outline: Circle | Polygon
        if rng.random() < 0.5:
            outline = Circle(LatLng(lat, lng), size)
        else:
            k = int(rng.integers(3, 7))
            azimuths = np.sort(rng.uniform(0, 360, k))
            reaches = rng.uniform(0.3, 1.0, k) * size
            x, y, _ = WGS84.fwd(np.full(k, lng), np.full(k, lat), azimuths, reaches)
            outline = Polygon(tuple(LatLng(float(b), float(a)) for a, b in zip(x, y, strict=True)))
        lower = float(rng.choice([0.0, 500.0, 1_000.0, rng.uniform(0, 3_000)]))
        upper = lower + float(rng.choice([0.0, 500.0, rng.uniform(1, 2_000)]))
        start = T0 + timedelta(minutes=int(rng.integers(0, 48 * 60)))
        end = start + timedelta(minutes=int(rng.choice([60, 120, rng.integers(1, 600)])))
        out.append(Volume4D(outline, lower, upper, start, end))
    return out


def scan(indexed: dict[Key, Volume4D], query: Volume4D, exclude: str | None = None) -> set[Key]:
    return {k for k, v in indexed.items() if k[0] != exclude and volumes_conflict(query, v)}


def assert_agrees(index: VolumeIndex, indexed: dict[Key, Volume4D], queries: list[Volume4D]) -> int:
    found = 0
    for q in queries:
        got = index.conflicts(q)
        assert len(got) == len(set(got))
        assert set(got) == scan(indexed, q)
        assert set(got) <= set(index.candidates(q))
        found += len(got)
    assert len(index) == len(indexed)
    return found


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_index_agrees_with_a_scan_after_a_bulk_build(seed: int) -> None:
    rng = np.random.default_rng(seed)
    volumes = random_volumes(600, rng)
    indexed = {(f"r{i // 3}", i % 3): v for i, v in enumerate(volumes)}
    index = VolumeIndex()
    index.add_many(indexed.items())
    found = assert_agrees(index, indexed, random_volumes(60, rng))
    assert found > 30  # the test means something only if there are conflicts to find


def test_the_index_agrees_with_a_scan_through_adds_removes_and_compaction() -> None:
    rng = np.random.default_rng(11)
    queries = random_volumes(40, rng)
    index = VolumeIndex()
    indexed: dict[Key, Volume4D] = {}
    bulk = {(f"b{i // 2}", i % 2): v for i, v in enumerate(random_volumes(300, rng))}
    index.add_many(bulk.items())
    indexed.update(bulk)

    # One by one, past the recent buffer twice: trees are built from it and merged.
    for i, v in enumerate(random_volumes(2 * RECENT_LIMIT + 100, rng)):
        index.add((f"a{i // 2}", i % 2), v)
        indexed[(f"a{i // 2}", i % 2)] = v
    assert_agrees(index, indexed, queries)

    # Remove a third of the requests: dead slots are skipped.
    requests = sorted({k[0] for k in indexed})
    for r in requests[::3]:
        expected = sum(1 for k in indexed if k[0] == r)
        assert index.remove_request(r) == expected
        indexed = {k: v for k, v in indexed.items() if k[0] != r}
    assert_agrees(index, indexed, queries)

    # Remove most of the rest: dead slots outnumber live ones, so everything is compacted.
    for r in [r for r in requests if any(k[0] == r for k in indexed)][: len(requests) // 2]:
        index.remove_request(r)
        indexed = {k: v for k, v in indexed.items() if k[0] != r}
    assert_agrees(index, indexed, queries)

    # And it keeps working for new volumes afterwards.
    for i, v in enumerate(random_volumes(200, rng)):
        index.add((f"c{i}", 0), v)
        indexed[(f"c{i}", 0)] = v
    assert_agrees(index, indexed, queries)


def test_conflicts_leave_out_the_excluded_request() -> None:
    rng = np.random.default_rng(5)
    volumes = random_volumes(300, rng)
    indexed = {(f"r{i // 4}", i % 4): v for i, v in enumerate(volumes)}
    index = VolumeIndex()
    index.add_many(indexed.items())
    query = volumes[0]
    got = set(index.conflicts(query, exclude_request="r0"))
    assert ("r0", 0) not in got
    assert got == scan(indexed, query, exclude="r0")
    assert ("r0", 0) in index.conflicts(query)


def test_candidates_apply_the_time_and_altitude_rules() -> None:
    outline = Circle(LatLng(13.5, 2.1), 5_000)
    index = VolumeIndex()
    index.add(("early", 0), Volume4D(outline, 0, 100, T0, T0 + timedelta(hours=1)))
    index.add(
        ("low", 0), Volume4D(outline, 0, 100, T0 + timedelta(hours=1), T0 + timedelta(hours=3))
    )
    index.add(
        ("high", 0), Volume4D(outline, 100, 200, T0 + timedelta(hours=1), T0 + timedelta(hours=3))
    )
    query = Volume4D(outline, 50, 100, T0 + timedelta(hours=1), T0 + timedelta(hours=2))
    assert index.candidates(query) == [("low", 0)]
    assert index.conflicts(query) == [("low", 0)]


def test_a_key_cannot_be_indexed_twice_and_unknown_requests_remove_nothing() -> None:
    v = Volume4D(Circle(LatLng(13.5, 2.1), 5_000), 0, 100, T0, T0 + timedelta(hours=1))
    index = VolumeIndex()
    index.add(("r1", 0), v)
    with pytest.raises(ValueError, match="already indexed"):
        index.add(("r1", 0), v)
    with pytest.raises(ValueError, match="given twice"):
        index.add_many([(("r2", 0), v), (("r2", 0), v)])
    assert index.remove_request("nobody") == 0
    assert len(index) == 1
    assert index.remove_request("r1") == 1
    assert index.conflicts(v) == []
