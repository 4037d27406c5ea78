"""A copy of the audit log in a directory, checkable offline (``clearance audit export``
and ``clearance audit verify-export``).

Files::

    entries.jsonl   one line per entry, in index order:
                    {"index": 0, "data": <base64 canonical JSON>, "leaf_hash": <base64>}
    checkpoint      the signed checkpoint (C2SP signed note) covering exactly those entries
    keys.json       the log's public key and the authorities' root keys (``GET /v1/keys``)
    disclosures.jsonl
                    one disclosure a line, {"commitment", "salt", "value"}
                    (``domain.ledger.disclosure``): what opens the entries' commitments,
                    for whoever holds the database (optional: without it the entries
                    and tree still verify, and sealed decisions are counted, not checked)

and one request's bundle in one JSON file (``clearance audit bundle``; its format is
``clearance.domain.ledger.bundle``'s).

Reading is strict: a malformed line raises :class:`~clearance.domain.ledger.audit.AuditError`
naming it.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from clearance.domain.errors import InputError
from clearance.domain.ledger.audit import AuditError
from clearance.service.ports import StoredCheckpoint, StoredEntry

ENTRIES = "entries.jsonl"
CHECKPOINT = "checkpoint"
KEYS = "keys.json"
DISCLOSURES = "disclosures.jsonl"


def write_export(
    directory: Path,
    pages: Iterable[list[StoredEntry]],
    checkpoint: StoredCheckpoint,
    keys: dict[str, Any],
    disclosures: Iterable[dict[str, Any]] = (),
) -> int:
    """Write the entries of the tree of ``checkpoint.size`` entries, the checkpoint,
    the keys and the ``disclosures``; returns the number of entries written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = 0
    with _atomic(directory / ENTRIES) as out:
        for page in pages:
            for e in page:
                if e.index is None or e.index >= checkpoint.size:
                    continue
                line = {
                    "index": e.index,
                    "data": base64.b64encode(e.data).decode("ascii"),
                    "leaf_hash": base64.b64encode(e.leaf_hash).decode("ascii"),
                }
                out.write(json.dumps(line, separators=(",", ":")) + "\n")
                written += 1
    with _atomic(directory / DISCLOSURES) as out:
        for d in disclosures:
            out.write(json.dumps(d, separators=(",", ":"), sort_keys=True) + "\n")
    with _atomic(directory / CHECKPOINT) as out:
        out.write(checkpoint.note)
    with _atomic(directory / KEYS) as out:
        out.write(json.dumps(keys, indent=2, sort_keys=True) + "\n")
    return written


@dataclass(frozen=True)
class Export:
    directory: Path
    note: str
    keys: dict[str, Any]

    def entries(self) -> Iterator[tuple[int, bytes, bytes | None]]:
        """(index, data, leaf hash) of every line of ``entries.jsonl``."""
        with (self.directory / ENTRIES).open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                yield _entry(line, number)

    def disclosures(self) -> dict[str, dict[str, Any]] | None:
        """commitment -> disclosure object of every line of ``disclosures.jsonl``, or
        None when the export has none."""
        path = self.directory / DISCLOSURES
        if not path.is_file():
            return None
        found: dict[str, dict[str, Any]] = {}
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                try:
                    value = json.loads(line)
                    commitment = value["commitment"]
                    if not isinstance(commitment, str):
                        raise ValueError("commitment must be a string")
                except (ValueError, KeyError, TypeError) as e:
                    raise AuditError(f"{DISCLOSURES} line {number}: malformed ({e})") from None
                found[commitment] = value
        return found


def read_export(directory: Path) -> Export:
    try:
        note = (directory / CHECKPOINT).read_text(encoding="utf-8")
        keys = json.loads((directory / KEYS).read_text(encoding="utf-8"))
        if not (directory / ENTRIES).is_file():
            raise FileNotFoundError(directory / ENTRIES)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise AuditError(f"{directory}: not a readable audit-log export: {e}") from None
    if not isinstance(keys, dict):
        raise AuditError(f"{directory / KEYS}: not a JSON object")
    return Export(directory, note, keys)


def _entry(line: str, number: int) -> tuple[int, bytes, bytes | None]:
    where = f"{ENTRIES} line {number}"
    try:
        value = json.loads(line)
        index, data, hashed = value["index"], value["data"], value.get("leaf_hash")
        if not isinstance(index, int) or isinstance(index, bool) or not isinstance(data, str):
            raise ValueError("index must be an integer and data a string")
        raw = base64.b64decode(data.encode("ascii"), validate=True)
        leaf = None if hashed is None else base64.b64decode(hashed.encode("ascii"), validate=True)
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as e:
        raise AuditError(f"{where}: malformed ({e})") from None
    return index, raw, leaf


def write_bundle(path: Path, bundle: dict[str, Any]) -> None:
    """Write a request's audit bundle (``clearance audit bundle``) to ``path`` atomically."""
    with _atomic(path) as out:
        out.write(json.dumps(bundle, indent=2) + "\n")


def read_bundle(path: Path) -> object:
    """The JSON in ``path``; :class:`InputError` (exit 2) when it cannot be read."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise InputError(f"cannot read it: {e.strerror}", source=str(path)) from None
    except (UnicodeDecodeError, ValueError) as e:
        raise InputError(f"is not JSON: {e}", source=str(path)) from None


@contextmanager
def _atomic(path: Path) -> Iterator[TextIO]:
    """Write to a temporary file, then rename it into place (fsynced)."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with temporary.open("w", encoding="utf-8") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
