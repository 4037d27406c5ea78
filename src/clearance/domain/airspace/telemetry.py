"""Reading telemetry: CSV (``time,lat,lng,alt_m``) or JSON lines, into a ``Track``.

Telemetry is read as a stream: a ``TrackReader`` is fed the bytes as they arrive and
parses each piece's complete lines at once into numpy arrays (a piece of 1 MB is about
16,000 points), copied into four columns reserved for ``MAX_POINTS`` points (reserved,
not touched: only the pages written take memory), so the track costs 32 bytes a point
and is never copied whole. A 10^6-point upload so never holds its text, nor a Python
object per field, in memory at once (read whole, it peaked at 960 MB). Parsing is strict: each error names the
source, the line and the rule. ``parse_track_csv`` and ``parse_track_jsonl`` read a
whole text.
"""

from __future__ import annotations

import codecs
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

from clearance.domain.airspace.tracks import Floats, Track
from clearance.domain.documents import unique_object
from clearance.domain.errors import DuplicateKeyError, InputError

COLUMNS = ("time", "lat", "lng", "alt_m")
MEDIA = ("csv", "jsonl")
# A flight of a day at 1 Hz is 86,400 points; ten days is under a million.
MAX_POINTS = 1_000_000
MAX_LINE_CHARS = 1 << 20  # a point's line is about 60 characters
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


_COMMAS = operator.methodcaller("count", ",")
_ZULU = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z")
# RFC 3339 section 5.6 date-time (as in ``documents.RFC3339``).
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def parse_track_csv(text: str, source: str) -> Track:
    """Read CSV telemetry with the header ``time,lat,lng,alt_m`` (any column order).

    Times are RFC 3339 with an offset; coordinates in degrees; altitude in metres above
    the WGS84 ellipsoid. Blank lines are skipped. Errors name ``source`` and the line."""
    reader = TrackReader(source, "csv")
    reader.feed_text(text)
    return reader.close()


def parse_track_jsonl(text: str, source: str) -> Track:
    """Read JSON Lines telemetry: one object per line with exactly the keys ``time``
    (RFC 3339 string), ``lat``, ``lng`` and ``alt_m`` (numbers), no key twice. Blank
    lines are skipped. Errors name ``source`` and the line."""
    reader = TrackReader(source, "jsonl")
    reader.feed_text(text)
    return reader.close()


class TrackReader:
    """Telemetry read piece by piece: ``feed`` bytes as they come, then ``close`` for the
    ``Track``. ``media`` is ``csv`` or ``jsonl``. Each ``feed`` parses the complete
    lines it completes (so feed pieces of about a megabyte: parsing costs per piece);
    an error raises ``InputError`` naming the line, as soon as its piece is parsed."""

    def __init__(self, source: str, media: str) -> None:
        if media not in MEDIA:
            raise InputError(
                "telemetry must be CSV (time,lat,lng,alt_m) or JSON lines", source=source
            )
        self.source = source
        self.media = media
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._pending = ""  # text after the last complete line
        self._started = False
        self._line = 1  # the line number of the pending text's first line
        self._order: list[int] | None = None  # CSV: where each of COLUMNS is
        self._names: list[str] = []
        self._columns: tuple[npt.NDArray[np.int64], Floats, Floats, Floats] | None = None
        self._points = 0
        self._last: tuple[int, str] | None = None  # the previous point's time: us, text

    def feed(self, data: bytes | bytearray) -> None:
        try:
            text = self._decoder.decode(data)
        except UnicodeDecodeError as e:
            raise self._not_utf8(e) from None
        self.feed_text(text)

    def feed_text(self, text: str) -> None:
        if not self._started and text:
            text = text.removeprefix("\ufeff")
            self._started = True
        text = self._pending + text
        cut = _last_line_end(text, quoted=self.media == "csv")
        self._pending = text[cut:]
        if len(self._pending) > MAX_LINE_CHARS:
            raise _fail(
                self.source,
                self._line + text.count("\n", 0, cut),
                f"a line longer than {MAX_LINE_CHARS:,} characters (lines end with \\n; "
                "is a quote left open?)",
            )
        if cut:
            self._parse(text[:cut])

    def close(self) -> Track:
        try:
            rest = self._decoder.decode(b"", final=True)
        except UnicodeDecodeError as e:
            raise self._not_utf8(e) from None
        text = self._pending + rest
        self._pending = ""
        if text:
            self._parse(text)
        if self.media == "csv" and self._order is None:
            raise _fail(self.source, 1, f"is empty; expected the header {','.join(COLUMNS)}")
        if self._columns is None:
            raise _fail(
                self.source, self._line if self.media == "csv" else 1,
                "the track has no points; expected at least one",
            )  # fmt: skip
        n = self._points
        us, lat, lng, alt = self._columns
        self._columns = None
        return Track(self.source, us[:n].view("datetime64[us]"), lat[:n], lng[:n], alt[:n])

    def _not_utf8(self, e: UnicodeDecodeError) -> InputError:
        before = e.object[: e.start].count(b"\n")  # the piece's lines before the bad byte
        line = self._line + self._pending.count("\n") + before
        return _fail(self.source, line, "is not UTF-8 text")

    def _parse(self, text: str) -> None:
        """Parse ``text``, whole lines only, starting at line ``self._line``."""
        first = self._line
        if self.media == "csv":
            self._line += text.count("\n") + (not text.endswith("\n"))
            order = self._order
            if order is None:
                end = _header_end(text)
                order = self._order = self._header(text[:end])
                text, first = text[end:], first + text.count("\n", 0, end)
                if not text:
                    return
            parsed = _csv_piece(text, first, self._names, order, self.source)
        else:
            texts = text.splitlines()
            self._line += len(texts)
            parsed = _jsonl_piece(texts, first, self.source)
        if parsed is None:
            return
        lines, times, columns = parsed
        at, n = self._points, len(lines)
        if at + n > MAX_POINTS:
            raise _fail(
                self.source,
                lines[MAX_POINTS - at],
                f"a track holds at most {MAX_POINTS:,} points; split it",
            )
        piece = _arrays(self.source, lines, times, *columns)
        us = piece[0]
        if self._last is not None and us[0] <= self._last[0]:
            _not_after(self.source, lines[0], times[0], self._last[1], us[0] == self._last[0])
        self._last = (int(us[-1]), times[-1])
        if self._columns is None:
            self._columns = (
                np.empty(MAX_POINTS, np.int64),
                np.empty(MAX_POINTS, np.float64),
                np.empty(MAX_POINTS, np.float64),
                np.empty(MAX_POINTS, np.float64),
            )
        for column, values in zip(self._columns, piece, strict=True):
            column[at : at + n] = values
        self._points = at + n

    def _header(self, line: str) -> list[int]:
        try:
            header = next(csv.reader([line]), None)
        except csv.Error as e:
            raise _fail(self.source, 1, f"is not valid CSV ({e})") from None
        if header is None:
            raise _fail(self.source, 1, f"is empty; expected the header {','.join(COLUMNS)}")
        names = [h.strip() for h in header]
        if sorted(names) != sorted(COLUMNS):
            raise _fail(
                self.source,
                1,
                f"the header must name the columns {', '.join(COLUMNS)} once each; "
                f"got {','.join(names)!r}",
            )
        self._names = names
        return [names.index(c) for c in COLUMNS]


def _last_line_end(text: str, *, quoted: bool) -> int:
    """Where the last complete line of ``text`` ends (0: none). With ``quoted`` (CSV), a
    newline inside a quoted field ends no line: one ends where the quotes before it are
    even. Linear in ``text``."""
    end = len(text)
    quotes = text.count('"') if quoted else 0
    while True:
        newline = text.rfind("\n", 0, end)
        if newline < 0:
            return 0
        if quoted:
            quotes -= text.count('"', newline + 1, end)
        if quotes % 2 == 0:
            return newline + 1
        end = newline


def _header_end(text: str) -> int:
    """Where the first record ends (after its newline; a quoted field may hold one)."""
    at = text.find("\n") + 1
    while at and text.count('"', 0, at) % 2:
        at = text.find("\n", at) + 1
    return at or len(text)


_Piece = tuple[Sequence[int], Sequence[str], tuple[Sequence[object], ...]]


def _csv_piece(
    body: str, first: int, names: list[str], order: list[int], source: str
) -> _Piece | None:
    """The records of ``body`` (whole lines, the first being line ``first``): their
    lines, time texts and the lat, lng, alt_m fields; ``None`` when only blank lines."""
    columns = _plain_columns(body)
    if columns is not None:
        lines: Sequence[int] = range(first, len(columns[0]) + first)
        return lines, columns[order[0]], tuple(columns[i] for i in order[1:])
    reader = csv.reader(io.StringIO(body))
    try:
        rows = list(reader)  # in C: much faster than a Python loop over the reader
    except csv.Error as e:
        raise _fail(source, first - 1 + reader.line_num, f"is not valid CSV ({e})") from None
    lines = range(first, len(rows) + first)  # when each record is one line
    if len(rows) != body.count("\n") + (not body.endswith("\n")) or not all(rows):
        rows, lines = _numbered(body, first)
    if not rows:
        return None
    if len(set(map(len, rows))) > 1 or len(rows[0]) != len(COLUMNS):
        i = next(i for i, row in enumerate(rows) if len(row) != len(COLUMNS))
        raise _fail(
            source,
            lines[i],
            f"expected {len(COLUMNS)} fields ({','.join(names)}), got {len(rows[i])}",
        )
    fields = list(zip(*rows, strict=True))
    return lines, fields[order[0]], tuple(fields[i] for i in order[1:])


def _plain_columns(body: str) -> list[list[str]] | None:
    """The common case in bulk: no quoting, no blank lines, ``\\n`` line ends and four
    fields on every line. Split with ``str`` methods (what ``csv`` would do for such
    text, about ten times faster); ``None`` leaves anything else to ``csv``."""
    if '"' in body or "\r" in body:
        return None
    lines = body.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or set(map(_COMMAS, lines)) != {len(COLUMNS) - 1}:
        return None
    fields = ",".join(lines).split(",")
    return [fields[i :: len(COLUMNS)] for i in range(len(COLUMNS))]


def _numbered(text: str, first: int) -> tuple[list[list[str]], list[int]]:
    """Rows with the line each ends on (blank lines dropped)."""
    reader = csv.reader(io.StringIO(text))
    rows, lines = [], []
    for row in reader:
        if row:
            rows.append(row)
            lines.append(first - 1 + reader.line_num)
    return rows, lines


def _jsonl_piece(texts: list[str], first: int, source: str) -> _Piece | None:
    lines: Sequence[int] = range(first, len(texts) + first)
    if not all(map(str.strip, texts)):
        lines = [i for i, line in enumerate(texts, start=first) if line.strip()]
        texts = [line for line in texts if line.strip()]
    if not texts:
        return None
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
    return lines, columns[0], tuple(columns[1:])


def _json_objects(texts: list[str], lines: Sequence[int], source: str) -> list[dict[str, Any]]:
    """Every line's object: one parse of all lines joined into an array when that gives
    one object per line (the common case), else line by line to find the culprit."""
    try:
        joined = json.loads("[" + ",".join(texts) + "]", object_pairs_hook=unique_object)
    except (json.JSONDecodeError, RecursionError, DuplicateKeyError):
        joined = None
    if isinstance(joined, list) and len(joined) == len(texts) and set(map(type, joined)) == {dict}:
        return joined
    out = []
    for number, line in zip(lines, texts, strict=True):
        try:
            obj = json.loads(line, object_pairs_hook=unique_object)
        except DuplicateKeyError as e:
            raise _fail(source, number, str(e)) from None
        except (json.JSONDecodeError, RecursionError) as e:
            raise _fail(
                source, number, f"is not valid JSON ({e.args[0] if e.args else e})"
            ) from None
        if not isinstance(obj, dict):
            raise _fail(source, number, f"must be one JSON object, not {type(obj).__name__}")
        out.append(obj)
    return out


def _arrays(
    source: str,
    lines: Sequence[int],
    times: Sequence[str],
    lats: Sequence[object],
    lngs: Sequence[object],
    alts: Sequence[object],
) -> tuple[npt.NDArray[np.int64], Floats, Floats, Floats]:
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
        _not_after(source, lines[i], times[i], times[i - 1], bool(step[i - 1] == 0))
    return us, lat, lng, alt


def _not_after(source: str, line: int, time: str, previous: str, same: bool) -> None:
    how = "repeats the previous point's time" if same else "is before the previous point's time"
    raise _fail(source, line, f"time {time} {how} ({previous}); times must be strictly increasing")


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
