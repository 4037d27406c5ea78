"""A timeline: a dated script of what operators and authorities did, to replay.

A timeline file (YAML or JSON) reads::

    scenario: .                      # the scenario directory, from the file's folder
    planners: {US.AFRICOM: africom-planner}   # who submits for an operator (optional)
    steps:
      - at: 2017-10-02T08:00:00Z     # RFC 3339; steps in time order
        illustrative: true           # the date is chosen, not a recorded one
        note: the patrol's armed overwatch
        submit: {ref: patrol, request: 04-us-armed-overwatch-agadez-2017,
                 start: 2017-10-04T04:00:00Z}
      - at: 2017-10-02T15:00:00Z
        decide: {ref: patrol, authority: US.DoD, as: dod-duty-officer,
                 decision: approve, comment: ..., conditions: {text: ...}}
      - {at: ..., amend: {ref: patrol, request: ..., start: ...}}
      - {at: ..., withdraw: {ref: patrol}}

``request`` names an example request of the scenario (``requests/NAME.yaml``); ``start``
moves its volumes, all by the same amount, so that the first starts then. ``ref`` is the
timeline's own name for a request, given at its ``submit``. ``parse_timeline`` checks the
shape, the order of the steps and that each ``ref`` was submitted before it is used;
every error names the file, the step and the field (``steps[3].decide.decision``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from clearance.domain.documents import Fields, instant
from clearance.domain.errors import TimelineError

ACTIONS = ("submit", "amend", "decide", "withdraw")
DECISIONS = ("approve", "deny")


@dataclass(frozen=True)
class Step:
    """One dated action. ``request``/``start``: the example document of a submit or an
    amend; ``authority``/``decision``/``comment``/``conditions``: a decision's."""

    index: int
    at: datetime
    action: str
    ref: str
    by: str | None = None  # the principal acting; None: the request's planner
    illustrative: bool = False
    note: str = ""
    request: str | None = None
    start: datetime | None = None
    authority: str | None = None
    decision: str | None = None
    comment: str = ""
    conditions: Mapping[str, Any] | None = None

    @property
    def field(self) -> str:
        """Where this step's action is in the file (``steps[3].decide``)."""
        return f"steps[{self.index}].{self.action}"


@dataclass(frozen=True)
class Timeline:
    source: str
    scenario: str  # the scenario directory, relative to the timeline's folder
    steps: tuple[Step, ...]
    planners: Mapping[str, str] = field(default_factory=dict)

    @property
    def start(self) -> datetime:
        return self.steps[0].at

    @property
    def end(self) -> datetime:
        return self.steps[-1].at

    def planner(self, operator: str) -> str:
        """Who submits for ``operator``: as the file names, else ``<unit>-planner`` from
        the operator's id (``US.AFRICOM``: ``africom-planner``)."""
        return self.planners.get(operator) or f"{operator.rsplit('.', 1)[-1].lower()}-planner"

    def references(self) -> set[str]:
        """Every example request the timeline submits or amends with."""
        return {s.request for s in self.steps if s.request is not None}


def parse_timeline(data: object, source: str) -> Timeline:
    """The timeline in ``data`` (a parsed file); raises ``TimelineError`` naming
    ``source``, the step and the field."""
    top = Fields(data, error=TimelineError, source=source)
    top.only("scenario", "planners", "steps", "description")
    given = top.obj("planners").data if top.has("planners") else {}
    planners = {str(k): _name(top, f"planners.{k}", v) for k, v in given.items()}
    scenario = top.text("scenario", default=".")
    steps: list[Step] = []
    submitted: set[str] = set()
    for i, f in enumerate(top.objects("steps")):
        step = _step(i, f)
        if steps and step.at < steps[-1].at:
            raise f.fail(
                f"must not be before the step above ({instant(steps[-1].at)}): steps are "
                "in time order",
                "at",
            )
        if step.action == "submit":
            if step.ref in submitted:
                raise f.fail(f"{step.ref!r} is submitted twice", f"{step.action}.ref")
            submitted.add(step.ref)
        elif step.ref not in submitted:
            raise f.fail(f"names {step.ref!r}, not submitted above", f"{step.action}.ref")
        steps.append(step)
    if not steps:
        raise top.fail("must list at least one step", "steps")
    return Timeline(source, scenario, tuple(steps), planners)


def _name(top: Fields, path: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TimelineError("must be a non-empty name", source=top.source, field=path)
    return value


def _step(index: int, f: Fields) -> Step:
    f.only("at", "illustrative", "note", *ACTIONS)
    named = [a for a in ACTIONS if f.has(a)]
    if len(named) != 1:
        raise f.fail(f"must name exactly one action of {', '.join(ACTIONS)}; got {len(named)}")
    (action,) = named
    at = f.instant("at")
    common: dict[str, Any] = {
        "index": index,
        "at": at,
        "action": action,
        "illustrative": f.flag("illustrative", default=False),
        "note": f.text("note") if f.has("note") else "",
    }
    a = f.obj(action)
    by = a.text("as") if a.has("as") else None
    if action in ("submit", "amend"):
        a.only("ref", "request", "start", "as")
        start = a.instant("start") if a.has("start") else None
        return Step(**common, ref=a.text("ref"), by=by, request=a.text("request"), start=start)
    if action == "withdraw":
        a.only("ref", "as")
        return Step(**common, ref=a.text("ref"), by=by)
    a.only("ref", "authority", "as", "decision", "comment", "conditions")
    conditions = a.raw("conditions") if a.has("conditions") else None
    if conditions is not None and not isinstance(conditions, Mapping):
        raise a.fail("must be a mapping (text, time_start, time_end, volume)", "conditions")
    return Step(
        **common,
        ref=a.text("ref"),
        by=a.text("as"),
        authority=a.text("authority"),
        decision=a.text("decision", choices=DECISIONS),
        comment=a.text("comment") if a.has("comment") else "",
        conditions=conditions,
    )


def moved(document: Mapping[str, Any], start: datetime) -> dict[str, Any]:
    """``document`` (a request) with every volume's times moved by one amount, so that the
    earliest ``time_start`` is ``start``. A document without readable times is returned
    unchanged: the request's own validation names what is wrong with it."""
    out = copy.deepcopy(dict(document))
    volumes = out.get("volumes")
    if not isinstance(volumes, list):
        return out
    times: list[tuple[dict[str, Any], str, datetime]] = []
    for v in volumes:
        for key in ("time_start", "time_end"):
            t = v.get(key) if isinstance(v, dict) else None
            value = t.get("value") if isinstance(t, dict) else None
            try:
                parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
            except ValueError:
                parsed = None
            if parsed is None or parsed.tzinfo is None:
                return out
            times.append((t, key, parsed))  # type: ignore[arg-type]
    starts = [p for _, key, p in times if key == "time_start"]
    if not starts:
        return out
    shift: timedelta = start - min(starts)
    for t, _, parsed in times:
        t["value"] = instant(parsed + shift)
    return out
