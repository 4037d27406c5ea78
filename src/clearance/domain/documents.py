"""Reading untyped documents (parsed YAML or JSON) field by field.

``Fields`` wraps one mapping and knows its path inside the document, so that every
complaint names the exact field (``volumes[0].time_end.value``) and the rule it broke.
The error class is chosen by the caller: request documents raise ``RequestError``,
scenario files raise ``ScenarioError``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from clearance.domain.errors import DuplicateKeyError, InputError

# RFC 3339 section 5.6 date-time: full date, "T", full time with seconds, and an offset.
# Python's fromisoformat alone also takes ISO 8601 forms RFC 3339 does not allow.
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z")


def instant(at: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` (microseconds when there are any): how every time is
    written out, by the API, the CLI, messages and the audit log."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Fields:
    """A mapping being read, with its path and the error type to raise."""

    def __init__(
        self,
        data: object,
        *,
        path: str = "",
        error: type[InputError] = InputError,
        source: str = "",
    ) -> None:
        self.path = path
        self.error = error
        self.source = source
        if not isinstance(data, Mapping):
            raise self.fail(f"must be a mapping, not {_kind(data)}")
        self.data: Mapping[str, Any] = data

    # -- errors -----------------------------------------------------------------
    def fail(self, rule: str, key: str | int | None = None) -> InputError:
        """An error about this mapping, or about its field ``key``."""
        return self.error(rule, source=self.source, field=self._at(key))

    def _at(self, key: str | int | None) -> str:
        if key is None:
            return self.path
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    def only(self, *allowed: str) -> None:
        """Reject any key not listed, so that typos do not pass silently."""
        for key in self.data:
            if key not in allowed:
                raise self.fail(f"unknown field (allowed: {', '.join(allowed)})", str(key))

    # -- values -----------------------------------------------------------------
    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def raw(self, key: str) -> object:
        if key not in self.data or self.data[key] is None:
            raise self.fail("is required", key)
        return self.data[key]

    def obj(self, key: str) -> Fields:
        return Fields(self.raw(key), path=self._at(key), error=self.error, source=self.source)

    def text(
        self, key: str, *, choices: Iterable[str] | None = None, default: str | None = None
    ) -> str:
        if default is not None and not self.has(key):
            return default
        value = self.raw(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"must be a non-empty string, not {_kind(value)}", key)
        if "\x00" in value:
            raise self.fail("must not contain NUL characters", key)
        if choices is not None:
            allowed = sorted(choices)
            if value not in allowed:
                raise self.fail(f"must be one of {', '.join(allowed)}; got {value!r}", key)
        return value

    def number(self, key: str) -> float:
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(f"must be a number, not {_kind(value)}", key)
        try:
            number = float(value)
        except OverflowError:
            raise self.fail("is too large a number", key) from None
        if not math.isfinite(number):
            raise self.fail("must be a finite number", key)
        return number

    def flag(self, key: str, *, default: bool) -> bool:
        if not self.has(key):
            return default
        value = self.raw(key)
        if not isinstance(value, bool):
            raise self.fail(f"must be true or false, not {_kind(value)}", key)
        return value

    def items(self, key: str, *, default_empty: bool = False) -> list[tuple[str, object]]:
        """The elements of a list field, each with its path."""
        if default_empty and not self.has(key):
            return []
        value = self.raw(key)
        if not isinstance(value, list):
            raise self.fail(f"must be a list, not {_kind(value)}", key)
        return [(f"{self._at(key)}[{i}]", item) for i, item in enumerate(value)]

    def objects(self, key: str, *, default_empty: bool = False) -> list[Fields]:
        return [
            Fields(item, path=path, error=self.error, source=self.source)
            for path, item in self.items(key, default_empty=default_empty)
        ]

    def texts(self, key: str, *, default_empty: bool = False) -> list[str]:
        out = []
        for path, item in self.items(key, default_empty=default_empty):
            if not isinstance(item, str) or not item:
                raise self.error(
                    f"must be a non-empty string, not {_kind(item)}", source=self.source, field=path
                )
            out.append(item)
        return out

    def instant(self, key: str) -> datetime:
        """An RFC 3339 date-time with an explicit offset, returned in UTC."""
        value = self.raw(key)
        if isinstance(value, datetime):  # YAML parses unquoted timestamps itself
            parsed = value
        elif isinstance(value, str):
            if not RFC3339.match(value):
                raise self.fail(
                    f"must be an RFC 3339 date-time with a UTC offset, like 2017-11-21T06:00:00Z; got {value!r}",
                    key,
                )
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                raise self.fail(f"must be an RFC 3339 date-time; got {value!r}", key) from None
        else:
            raise self.fail(f"must be an RFC 3339 date-time, not {_kind(value)}", key)
        if parsed.tzinfo is None:
            raise self.fail("must carry a UTC offset such as Z (RFC 3339)", key)
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise self.fail("is out of the supported range of dates", key) from None


def unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for ``json.loads``: a dict, refusing a repeated key."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKeyError(key)
            seen.add(key)
    return obj


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string" if value.strip() else "an empty string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__
