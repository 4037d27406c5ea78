"""Reading telemetry: CSV (``time,lat,lng,alt_m``) or JSON lines, into a ``Track``.

Parsing telemetry text (``parse_track_csv``, ``parse_track_jsonl``) is strict: each
error names the source, the line and the rule.
"""

from __future__ import annotations

import csv
import io
import json
import operator
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from clearance.domain.errors import InputError
from clearance.domain.tracks import Floats, Track

COLUMNS = ("time", "lat", "lng", "alt_m")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


_COMMAS = operator.methodcaller("count", ",")
_ZULU = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z")
# RFC 3339 section 5.6 date-time (as in ``documents.RFC3339``).
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def parse_track_csv(text: str, source: str) -> Track:
    """Read CSV telemetry with the header ``time,lat,lng,alt_m`` (any column order).

    Times are RFC 3339 with an offset; coordinates in degrees; altitude in metres above
    the WGS84 ellipsoid. Blank lines are skipped. Errors name ``source`` and the line."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    try:
        header = next(reader, None)
        if header is None:
            raise _fail(source, 1, f"is empty; expected the header {','.join(COLUMNS)}")
        names = [h.strip() for h in header]
        if sorted(names) != sorted(COLUMNS):
            raise _fail(
                source,
                1,
                f"the header must name the columns {', '.join(COLUMNS)} once each; "
                f"got {','.join(names)!r}",
            )
        order = [names.index(c) for c in COLUMNS]
        body = text.removeprefix("\ufeff")
        columns = _plain_columns(body)
        if columns is not None:
            return _track(source, range(2, len(columns[0]) + 2), *(columns[i] for i in order))
        rows = list(reader)  # in C: much faster than a Python loop over the reader
    except csv.Error as e:
        raise _fail(source, reader.line_num, f"is not valid CSV ({e})") from None
    lines: Sequence[int] = range(2, len(rows) + 2)  # when each record is one line
    if len(rows) + 1 != body.count("\n") + (not body.endswith("\n")) or not all(rows):
        rows, lines = _numbered(body)
    if len(set(map(len, rows))) > 1 or (rows and len(rows[0]) != len(COLUMNS)):
        i = next(i for i, row in enumerate(rows) if len(row) != len(COLUMNS))
        raise _fail(
            source,
            lines[i],
            f"expected {len(COLUMNS)} fields ({','.join(names)}), got {len(rows[i])}",
        )
    if not rows:
        raise _fail(source, 2, "the track has no points; expected at least one")
    fields = list(zip(*rows, strict=True))
    return _track(source, lines, *(fields[i] for i in order))


def _plain_columns(body: str) -> list[list[str]] | None:
    """The common case in bulk: no quoting, no blank lines, ``\\n`` line ends and four
    fields on every line. Split with ``str`` methods (what ``csv`` would do for such
    text, about ten times faster); ``None`` leaves anything else to ``csv``."""
    if '"' in body or "\r" in body:
        return None
    lines = body.split("\n")[1:]
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or set(map(_COMMAS, lines)) != {len(COLUMNS) - 1}:
        return None
    fields = ",".join(lines).split(",")
    return [fields[i :: len(COLUMNS)] for i in range(len(COLUMNS))]


def _numbered(text: str) -> tuple[list[list[str]], list[int]]:
    """Rows after the header with the line each ends on (blank lines dropped)."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    next(reader)
    rows, lines = [], []
    for row in reader:
        if row:
            rows.append(row)
            lines.append(reader.line_num)
    return rows, lines


def parse_track_jsonl(text: str, source: str) -> Track:
    """Read JSON Lines telemetry: one object per line with exactly the keys ``time``
    (RFC 3339 string), ``lat``, ``lng`` and ``alt_m`` (numbers). Blank lines are skipped.
    Errors name ``source`` and the line."""
    texts = text.removeprefix("\ufeff").splitlines()
    lines: Sequence[int] = range(1, len(texts) + 1)
    if not all(map(str.strip, texts)):
        lines = [i for i, line in enumerate(texts, start=1) if line.strip()]
        texts = [line for line in texts if line.strip()]
    if not texts:
        raise _fail(source, 1, "the track has no points; expected at least one")
    objects = _json_objects(texts, lines, source)
    keys = set(COLUMNS)
    if set(map(len, objects)) != {len(keys)} or not all(map(keys.issuperset, objects)):
        i = next(i for i, obj in enumerate(objects) if obj.keys() != keys)
        missing, extra = sorted(keys - objects[i].keys()), sorted(objects[i].keys() - keys)
        what = "; ".join(
            [f"missing {', '.join(missing)}"] * bool(missing)
            + [f"unknown {', '.join(extra)}"] * bool(extra)
        )
        raise _fail(source, lines[i], f"expected the keys {', '.join(COLUMNS)} ({what})")
    columns = [[obj[c] for obj in objects] for c in COLUMNS]
    for c, column in zip(COLUMNS[1:], columns[1:], strict=True):
        if not set(map(type, column)) <= {int, float}:
            i = next(i for i, v in enumerate(column) if type(v) not in (int, float))
            raise _fail(source, lines[i], f"{c} must be a number, not {column[i]!r}")
    if not set(map(type, columns[0])) <= {str}:
        i = next(i for i, v in enumerate(columns[0]) if not isinstance(v, str))
        raise _fail(source, lines[i], f"time must be an RFC 3339 string, not {columns[0][i]!r}")
    return _track(source, lines, *columns)


def _json_objects(texts: list[str], lines: Sequence[int], source: str) -> list[dict[str, Any]]:
    """Every line's object: one parse of all lines joined into an array when that gives
    one object per line (the common case), else line by line to find the culprit."""
    try:
        joined = json.loads("[" + ",".join(texts) + "]")
    except (json.JSONDecodeError, RecursionError):
        joined = None
    if isinstance(joined, list) and len(joined) == len(texts) and set(map(type, joined)) == {dict}:
        return joined
    out = []
    for number, line in zip(lines, texts, strict=True):
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as e:
            raise _fail(
                source, number, f"is not valid JSON ({e.args[0] if e.args else e})"
            ) from None
        if not isinstance(obj, dict):
            raise _fail(source, number, f"must be one JSON object, not {type(obj).__name__}")
        out.append(obj)
    return out


def _track(
    source: str,
    lines: Sequence[int],
    times: Sequence[str],
    lats: Sequence[object],
    lngs: Sequence[object],
    alts: Sequence[object],
) -> Track:
    t = _times(times, lines, source)
    lat = _numbers(lats, "lat", lines, source)
    lng = _numbers(lngs, "lng", lines, source)
    alt = _numbers(alts, "alt_m", lines, source)
    _within(lat, 90.0, "lat", "latitude", lines, source)
    _within(lng, 180.0, "lng", "longitude", lines, source)
    us = t.astype(np.int64)
    step = np.diff(us)
    back = np.flatnonzero(step <= 0)
    if back.size:
        i = int(back[0]) + 1
        how = (
            "repeats the previous point's time"
            if step[i - 1] == 0
            else "is before the previous point's time"
        )
        raise _fail(
            source,
            lines[i],
            f"time {times[i]} {how} ({times[i - 1]}); times must be strictly increasing",
        )
    return Track(source, t, lat, lng, alt)


def _times(values: Sequence[str], lines: Sequence[int], source: str) -> npt.NDArray[np.datetime64]:
    """RFC 3339 strings to datetime64[us] UTC: numpy parses the usual ``...Z`` form in
    bulk; other offsets go through ``datetime``; any failure is found line by line."""
    if all(map(_ZULU.fullmatch, values)):
        naive = [v[:-1] for v in values]
    else:
        naive = [
            v[:-1] if _ZULU.fullmatch(v) else _utc(v, lines[i], source)
            for i, v in enumerate(values)
        ]
    try:
        return np.array(naive, dtype="datetime64[us]")
    except ValueError:
        for i, v in enumerate(naive):
            try:
                np.datetime64(v, "us")
            except ValueError:
                raise _bad_time(source, lines[i], values[i]) from None
        raise


def _utc(value: str, line: int, source: str) -> str:
    if not _RFC3339.fullmatch(value):
        raise _bad_time(source, line, value)
    try:
        parsed = datetime.fromisoformat(value.upper().replace(" ", "T"))
        return parsed.astimezone(UTC).replace(tzinfo=None).isoformat()
    except (ValueError, OverflowError):
        raise _bad_time(source, line, value) from None


def _bad_time(source: str, line: int, value: object) -> InputError:
    return _fail(
        source,
        line,
        f"time must be an RFC 3339 date-time with an offset, like 2017-11-21T06:00:00Z; "
        f"got {value!r}",
    )


def _numbers(values: Sequence[object], name: str, lines: Sequence[int], source: str) -> Floats:
    try:
        out = np.array(values, dtype=float)
    except (ValueError, TypeError):
        out = None
    if out is not None:
        bad = np.flatnonzero(~np.isfinite(out))
        if not bad.size:
            return out
        i = int(bad[0])
        raise _fail(source, lines[i], f"{name} must be a finite number; got {values[i]!r}")
    for i, v in enumerate(values):
        try:
            float(v)  # type: ignore[arg-type]
        except (ValueError, TypeError):
            raise _fail(source, lines[i], f"{name} must be a number; got {v!r}") from None
    raise _fail(source, lines[0], f"{name} must be numbers")


def _within(
    values: Floats, limit: float, name: str, what: str, lines: Sequence[int], source: str
) -> None:
    bad = np.flatnonzero(np.abs(values) > limit)
    if bad.size:
        i = int(bad[0])
        raise _fail(
            source,
            lines[i],
            f"{name} is a {what} and must be within -{limit:g}..{limit:g}; got {values[i]:g}",
        )


def _fail(source: str, line: int, rule: str) -> InputError:
    return InputError(rule, source=source, field=f"line {line}")
