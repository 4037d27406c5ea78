"""Telemetry tracks: what an aircraft reported, point by point, and simulated ones.

A ``Track`` is four parallel numpy arrays (times as ``datetime64[us]`` in UTC, strictly
increasing; latitude and longitude in degrees; altitude in metres above the WGS84
ellipsoid) plus the name of where it came from. ``conformance`` parses and checks them;
``simulate_track`` makes plausible ones for demonstrations, tests and benchmarks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import shapely

from clearance.domain.airspace.geotemporal import micros, outline_ring
from clearance.domain.airspace.volumes import WGS84, Circle, LatLng, Volume4D

Floats = npt.NDArray[np.float64]
Times = npt.NDArray[np.datetime64]


@dataclass(frozen=True, eq=False)
class Track:
    """One flight's telemetry: parallel arrays, times strictly increasing."""

    source: str
    times: Times  # datetime64[us], UTC
    lat: Floats
    lng: Floats
    alt_m: Floats

    def __len__(self) -> int:
        return len(self.times)

    @property
    def micros(self) -> npt.NDArray[np.int64]:
        """Times as integer microseconds since the Unix epoch (a view: no copy)."""
        return self.times.astype("datetime64[us]", copy=False).view(np.int64)


PATH_POINTS = 500


def sampled_path(track: Track, points: int = PATH_POINTS) -> list[list[float]]:
    """At most ``points`` of the track as ``[lat, lng]`` (evenly spaced by index, first
    and last kept), rounded to ~0.1 m: enough to draw what was flown beside the result.

    >>> import numpy as np
    >>> t = Track("t", np.array(["2020-01-01T00:00", "2020-01-01T00:01", "2020-01-01T00:02"],
    ...     dtype="datetime64[us]"), np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0]),
    ...     np.zeros(3))
    >>> sampled_path(t, 2)
    [[1.0, 4.0], [3.0, 6.0]]
    """
    if len(track) == 0:
        return []
    keep = np.unique(np.linspace(0, len(track) - 1, min(points, len(track))).round().astype(int))
    return [
        [round(float(la), 6), round(float(ln), 6)]
        for la, ln in zip(track.lat[keep], track.lng[keep], strict=True)
    ]


def simulate_track(
    volumes: Sequence[Volume4D],
    launch: LatLng | None,
    *,
    drift_to: LatLng | None = None,
    interval_s: float = 1.0,
    seed: int = 0,
) -> Track:
    """A plausible constant-speed track through the first volume's time window, one
    point every ``interval_s`` seconds from ``time_start`` to ``time_end``, at the middle
    of its altitude band.

    It starts at ``launch`` when that lies inside the first volume's outline, otherwise
    at the outline's centre (a circle's centre; a polygon's centroid, or a point inside
    it when the centroid is not). Without ``drift_to`` it orbits that start point at half
    the distance to the outline, at 20-40 m/s (speed, direction and phase drawn from
    ``seed``): every point is inside the volume. With ``drift_to`` it flies the geodesic
    towards that point at the constant speed that reaches it at ``time_end`` (the
    geodesic distance divided by the window's length), leaving the volume partway when
    ``drift_to`` lies outside it.
    """
    if not volumes:
        raise ValueError("a track needs at least one volume")
    if not interval_s > 0:
        raise ValueError(f"interval_s must be positive; got {interval_s}")
    volume = volumes[0]
    outline = shapely.Polygon(outline_ring(volume, 50.0))
    start = _start(volume, outline, launch)
    step_us = max(1, round(interval_s * 1e6))
    t0, t1 = micros(volume.time_start), micros(volume.time_end)
    elapsed_us = np.arange(0, t1 - t0 + 1, step_us, dtype=np.int64)
    elapsed = elapsed_us / 1e6
    n = len(elapsed)
    if drift_to is not None:
        az, _, dist = WGS84.inv(start.lng, start.lat, drift_to.lng, drift_to.lat)
        speed = dist / ((t1 - t0) / 1e6)
        lng, lat, _ = WGS84.fwd(
            np.full(n, start.lng), np.full(n, start.lat), np.full(n, az), speed * elapsed
        )
    else:
        rng = np.random.default_rng(seed)
        radius = 0.5 * _room(start, outline)
        speed = rng.uniform(20.0, 40.0)
        turn = math.degrees(speed / radius) if radius > 0 else 0.0
        heading = rng.uniform(0.0, 360.0) + rng.choice([-1.0, 1.0]) * turn * elapsed
        lng, lat, _ = WGS84.fwd(
            np.full(n, start.lng), np.full(n, start.lat), heading % 360.0, np.full(n, radius)
        )
    mid = (volume.altitude_lower_m + volume.altitude_upper_m) / 2.0
    return Track(
        "simulated",
        (np.int64(t0) + elapsed_us).astype("datetime64[us]"),
        np.asarray(lat, dtype=float),
        np.asarray(lng, dtype=float),
        np.full(n, mid),
    )


def _start(volume: Volume4D, outline: shapely.Polygon, launch: LatLng | None) -> LatLng:
    if launch is not None and outline.covers(shapely.Point(launch.lng, launch.lat)):
        return launch
    if isinstance(volume.outline, Circle):
        return volume.outline.center
    centre = outline.centroid
    if not outline.contains(centre):
        centre = outline.point_on_surface()
    return LatLng(float(centre.y), float(centre.x))


def _room(start: LatLng, outline: shapely.Polygon) -> float:
    """Metres from ``start`` to the nearest point of the outline's edge."""
    ring = shapely.get_coordinates(outline.exterior)
    n = len(ring)
    az, _, d = WGS84.inv(np.full(n, start.lng), np.full(n, start.lat), ring[:, 0], ring[:, 1])
    a = np.radians(np.asarray(az))
    plane = shapely.LinearRing(np.column_stack([d * np.sin(a), d * np.cos(a)]))
    return float(shapely.distance(plane, shapely.Point(0.0, 0.0)))


def track_to_csv(track: Track) -> str:
    """The track as CSV text with the header ``time,lat,lng,alt_m`` and RFC 3339 UTC
    times (``Z``); coordinates to 1e-7 degree (about 1 cm), altitudes to 1 cm."""
    us = track.micros
    unit: Literal["s", "us"] = "s" if not np.any(us % 1_000_000) else "us"
    times = np.datetime_as_string(us.astype("datetime64[us]"), unit=unit, timezone="UTC")
    rows = (
        f"{t},{la:.7f},{lo:.7f},{al:.2f}"
        for t, la, lo, al in zip(
            times.tolist(),
            track.lat.tolist(),
            track.lng.tolist(),
            track.alt_m.tolist(),
            strict=True,
        )
    )
    return "time,lat,lng,alt_m\n" + "\n".join(rows) + "\n"
