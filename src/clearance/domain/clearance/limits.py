"""What a filed request may ask for: the scenario's ``limits``, with defaults.

Every limit refuses input a careful system would not take from anyone (an altitude of
1e9 m, a reservation of a century, a document of thousands of volumes that costs every
other user a second), and each refusal names the field, the limit and the scenario key
that sets it. ``scenario.yaml`` may set any of them::

    limits:
      min_altitude_m: -500      # WGS84 metres; the Dead Sea shore is at -430 m (MSL)
      max_altitude_m: 20000     # above any drone's service ceiling
      max_volume_hours: 72      # one volume's time window; long-endurance orbits fit
      max_span_days: 30         # from the request's first time_start to its last time_end
      max_days_ahead: 90        # how far after now a volume may start (LAANC: 90 days)
      max_volumes: 100          # volumes per request
      max_area_km2: 250000      # one volume's outline (a circle of 282 km radius)

They apply to what is filed (submitted, amended, evaluated, checked), not to requests
already stored: a stored request stays readable when a scenario tightens its limits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from clearance.domain.airspace.volumes import WGS84, Circle, Volume4D
from clearance.domain.documents import Fields


@dataclass(frozen=True, slots=True)
class Limits:
    min_altitude_m: float = -500.0
    max_altitude_m: float = 20_000.0
    max_volume_hours: float = 72.0
    max_span_days: float = 30.0
    max_days_ahead: float = 90.0
    max_volumes: int = 100
    max_area_km2: float = 250_000.0

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    # -- checks, each naming the field at fault -------------------------------------
    def check_count(self, f: Fields, key: str, count: int) -> None:
        if count > self.max_volumes:
            raise f.fail(
                f"at most {self.max_volumes} volumes per request (limits.max_volumes); got {count}",
                key,
            )

    def check_volume(self, f: Fields, volume: Volume4D) -> None:
        """``f`` is the Volume4D's fields (``volumes[i]``)."""
        v = f.obj("volume")
        for key, value in (
            ("altitude_lower", volume.altitude_lower_m),
            ("altitude_upper", volume.altitude_upper_m),
        ):
            if not self.min_altitude_m <= value <= self.max_altitude_m:
                raise v.obj(key).fail(
                    f"must be within {self.min_altitude_m:g}..{self.max_altitude_m:g} m W84 "
                    f"(limits.min_altitude_m, limits.max_altitude_m); got {value:g}",
                    "value",
                )
        hours = (volume.time_end - volume.time_start).total_seconds() / 3600.0
        if hours > self.max_volume_hours:
            raise f.fail(
                f"the volume's window lasts {hours:g} h; at most {self.max_volume_hours:g} h "
                "(limits.max_volume_hours)",
                "time_end",
            )
        km2 = area_km2(volume)
        if km2 > self.max_area_km2:
            key = "outline_circle" if isinstance(volume.outline, Circle) else "outline_polygon"
            raise v.fail(
                f"the outline covers {km2:,.0f} km2; at most {self.max_area_km2:,.0f} km2 "
                "(limits.max_area_km2)",
                key,
            )

    def check_span(self, f: Fields, key: str, volumes: Sequence[Volume4D]) -> None:
        start = min(v.time_start for v in volumes)
        end = max(v.time_end for v in volumes)
        days = (end - start).total_seconds() / 86_400.0
        if days > self.max_span_days:
            raise f.fail(
                f"the request spans {days:g} days from its first time_start to its last "
                f"time_end; at most {self.max_span_days:g} days (limits.max_span_days)",
                key,
            )

    def check_ahead(self, f: Fields, key: str, volumes: Sequence[Volume4D], now: datetime) -> None:
        """Every volume starts at most ``max_days_ahead`` after ``now``."""
        latest = now + timedelta(days=self.max_days_ahead)
        for i, volume in enumerate(volumes):
            if volume.time_start > latest:
                raise f.fail(
                    f"starts {volume.time_start.isoformat()}, more than "
                    f"{self.max_days_ahead:g} days after now ({now.isoformat()}); a request "
                    f"is filed at most {self.max_days_ahead:g} days ahead (limits.max_days_ahead)",
                    f"{key}[{i}].time_start",
                )


def area_km2(volume: Volume4D) -> float:
    """The outline's area on the ellipsoid: a circle's as a spherical cap (within 0.5 %),
    a polygon's footprint's as pyproj measures it."""
    if isinstance(volume.outline, Circle):
        r = volume.outline.radius_m / 6_371_008.8
        return 2.0 * math.pi * 6_371.0088**2 * (1.0 - math.cos(min(r, math.pi)))
    area, _ = WGS84.geometry_area_perimeter(volume.footprint)
    return abs(float(area)) / 1e6
