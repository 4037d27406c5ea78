"""Spatial cells: what the database indexes and locks to deconflict across processes.

``volume_cells(volume)`` is a set of H3 cells (resolution ``RESOLUTION``) that covers the
volume's outline with a margin, so that **two volumes whose outlines meet always share a
cell**. It covers the same padded (lng, lat) bounding box the in-process index used as its
candidate filter (``geotemporal.Shape.box``, which contains the whole outline, great-circle
edges and the 1 cm tolerance included), padded by ``PAD_DEG`` more and with its edges
split every ``STEP_DEG``, in H3's "overlap" containment mode (every cell that meets the
polygon). Two boxes that meet share a point; that point lies in some cell, and the cell
meets both boxes, so it is in both covers. The padding and the short edges absorb the
difference between H3's geometry and the box's (straight in (lng, lat)): a 0.02 degree
edge strays under a centimetre from any great circle through its ends, the padding is
over 100 m. A hypothesis test (tests/unit/test_cells.py) checks the promise.

Resolution 5 (edges ~9.9 km, ~253 km2 per cell), measured (``bench/cells.py``) on circles
of the Niger volumes' sizes at 14.6 N: a 1 km circle is 1 cell, 10 km 7, 30 km 27, 90 km 169, in 0.3 to 1.5 ms;
resolution 6 gives 1, 23, 138, 1,074 (up to 3.4 ms), resolution 4 gives 1, 3, 6, 32 with
cells seven times as wide (more candidates to read and check exactly, more unrelated
submissions queued on one lock row). Changing it needs a migration that
recomputes every stored cell.

H3 cells are 64-bit integers with the top bit clear, so they fit a signed BIGINT.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache

import h3.api.basic_int as h3

from clearance.domain.airspace.geotemporal import shape_of
from clearance.domain.airspace.volumes import Outline, Volume4D

RESOLUTION = 5
PAD_DEG = 0.001  # ~111 m of latitude; more than 100 m of longitude below 25 degrees north
STEP_DEG = 0.02  # longest edge of the covered polygon
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def box_cells(west: float, south: float, east: float, north: float) -> set[int]:
    """Cells at ``RESOLUTION`` that meet the (lng, lat) box, padded by ``PAD_DEG``."""
    west, south = max(west - PAD_DEG, -180.0), max(south - PAD_DEG, -90.0)
    east, north = min(east + PAD_DEG, 180.0), min(north + PAD_DEG, 90.0)
    ring = [
        *((south, lng) for lng in _steps(west, east)),
        *((lat, east) for lat in _steps(south, north)),
        *((north, lng) for lng in _steps(east, west)),
        *((lat, west) for lat in _steps(north, south)),
    ]
    cells = set(h3.h3shape_to_cells_experimental(h3.LatLngPoly(ring), RESOLUTION, "overlap"))
    # a box smaller than a cell may fall between the polygon's vertices' cells: its
    # corners' and centre's cells are always in
    for lat, lng in ((south, west), (south, east), (north, east), (north, west)):
        cells.add(h3.latlng_to_cell(lat, lng, RESOLUTION))
    cells.add(h3.latlng_to_cell((south + north) / 2, (west + east) / 2, RESOLUTION))
    return cells


def volume_cells(volume: Volume4D) -> frozenset[int]:
    """The cells covering ``volume``'s outline with a margin (module docstring)."""
    return outline_cells(volume.outline)


@lru_cache(maxsize=4096)  # a submission's outline: covered to lock, then again to index
def outline_cells(outline: Outline) -> frozenset[int]:
    """The cells covering ``outline`` with a margin (module docstring)."""
    # the box depends on the outline alone; times and altitudes are placeholders
    return frozenset(box_cells(*shape_of(Volume4D(outline, 0.0, 0.0, _EPOCH, _EPOCH)).box))


def request_cells(volumes: Iterable[Volume4D]) -> dict[int, frozenset[int]]:
    """Volume index -> its cells."""
    return {i: volume_cells(v) for i, v in enumerate(volumes)}


def _steps(start: float, end: float) -> list[float]:
    """``start`` and points toward ``end`` at most ``STEP_DEG`` apart (``end`` excluded:
    it starts the next edge)."""
    n = max(1, int(abs(end - start) / STEP_DEG) + 1)
    return [start + (end - start) * k / n for k in range(n)]
