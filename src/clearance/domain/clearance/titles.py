"""What a person reads to recognise a request in a list: purpose and payload, operator,
where (the named area it falls in, else its launch site) and when.

    isr (unarmed) · US.AFRICOM · from Niamey Air Base 101 · 2017-11-21 06:00Z

Computed from the stored document, which was validated when it was stored; "where" is the
named area (not a territory) holding the centre of the first volume's outline."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import shapely

from clearance.domain.clearance.scenario import Scenario


def request_title(document: Mapping[str, Any], time_start: datetime, scenario: Scenario) -> str:
    purpose = str(document.get("purpose", "?"))
    payload = document.get("payload")
    what = f"{purpose} ({payload})" if payload else purpose
    when = time_start.astimezone(UTC).isoformat(" ", "minutes")[:16] + "Z"  # strftime: 18 us
    return " · ".join([what, str(document.get("operator", "?")), _where(document, scenario), when])


def _where(document: Mapping[str, Any], scenario: Scenario) -> str:
    centre = _centre(document)
    if centre is not None:
        for area in scenario.areas.values():  # (lng, lat) tested without making a Point
            if area.id not in scenario.territories and shapely.intersects_xy(
                area.geometry, *centre
            ):
                return area.name
    site_id = str(document.get("launch_site", "?"))
    site = scenario.sites.get(site_id)
    return f"from {site.name if site else site_id}"


def _centre(document: Mapping[str, Any]) -> tuple[float, float] | None:
    """(lng, lat) of the first volume's outline: a circle's centre, a polygon's mean vertex."""
    try:
        outline = document["volumes"][0]["volume"]
        if "outline_circle" in outline:
            c = outline["outline_circle"]["center"]
            return float(c["lng"]), float(c["lat"])
        vertices = outline["outline_polygon"]["vertices"]
        n = len(vertices)
        return sum(float(v["lng"]) for v in vertices) / n, sum(
            float(v["lat"]) for v in vertices
        ) / n
    except (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError):
        return None
