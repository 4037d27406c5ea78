"""Salted commitments in the log, and the disclosures that open them.

A request entry in clear holds only what every party may see (ids, digests, authority,
decision, status, times, scenario version, signatures, key ids). What only the
request's operator and the authorities in its chain may read enters the log as a salted
commitment, a JSON object with one key::

    {"commitment": "<SHA-256 hex>"}

where the hash is over the RFC 8785 canonical JSON of ``{"salt": S, "value": V}``, ``S``
the standard base64 of a random 32-byte salt (one per value) and ``V`` the value. The
*disclosure* of a commitment is the small JSON object::

    {"commitment": "<hex>", "salt": "<base64 of 32 bytes>", "value": <any JSON>}

kept beside the log (never in an entry) and handed only to those parties;
:func:`check_disclosure` checks one against its commitment.

Sealed in a request entry of format 2 (:data:`FORMAT`), when not empty: the entry's
``by`` (a principal's name), its ``document`` (the request document, on ``submitted``
and ``amended``), a decision's ``comment`` and ``conditions`` in ``detail``, a
``conformance`` event's whole ``detail`` (the flown path and its result), and in each
approval its ``by``, ``comment``, ``conditions`` and ``reasons``. An entry without
``format`` is of format 1 (written before commitments): everything in clear.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from clearance.domain.errors import DisclosureError
from clearance.domain.ledger.signatures import canonical_stored, document_digest

__all__ = [
    "FORMAT",
    "Disclosure",
    "DisclosureError",
    "Opened",
    "check_disclosure",
    "commitment_of",
    "commitments",
    "is_sealed",
    "open_entry",
    "parse_disclosure",
    "seal_request_entry",
]

FORMAT = 2
SALT_BYTES = 32
COMMITMENT = "commitment"
# a request entry's approval fields that are sealed
APPROVAL_SEALED = ("by", "comment", "conditions", "reasons")
# a decision's detail fields that are sealed (those the authority signed over values)
DETAIL_SEALED = ("comment", "conditions")
CONFORMANCE = "request.conformance"


@dataclass(frozen=True)
class Disclosure:
    commitment: str
    salt: str  # standard base64 of the 32-byte salt
    value: Any

    def to_json(self) -> dict[str, Any]:
        return {"commitment": self.commitment, "salt": self.salt, "value": self.value}


def commitment_of(salt: str, value: Any) -> str:
    """SHA-256 hex of the canonical JSON of ``{"salt": salt, "value": value}``."""
    return hashlib.sha256(canonical_stored({"salt": salt, "value": value})).hexdigest()


def is_sealed(value: Any) -> bool:
    """Whether ``value`` is a commitment marker ``{"commitment": hex}``."""
    return (
        isinstance(value, dict)
        and len(value) == 1
        and isinstance(value.get(COMMITMENT), str)
        and len(value[COMMITMENT]) == 64
    )


def check_disclosure(d: Mapping[str, Any]) -> Disclosure:
    """The disclosure, once its salt and value are found to hash to its commitment;
    raises :class:`DisclosureError` naming what is wrong."""
    found = parse_disclosure(d)
    if commitment_of(found.salt, found.value) != found.commitment:
        raise DisclosureError(
            f"the disclosure of {found.commitment[:16]}... does not match its commitment "
            "(its salt or value was changed)"
        )
    return found


def parse_disclosure(d: Mapping[str, Any]) -> Disclosure:
    """The disclosure's fields, checked for shape only; raises :class:`DisclosureError`."""
    if not isinstance(d, Mapping) or set(d) != {"commitment", "salt", "value"}:
        raise DisclosureError("a disclosure is an object with commitment, salt and value")
    commitment, salt = d["commitment"], d["salt"]
    if not isinstance(commitment, str) or len(commitment) != 64:
        raise DisclosureError("a disclosure's commitment must be 64 hex digits")
    try:
        raw = base64.b64decode(str(salt).encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise DisclosureError("a disclosure's salt must be base64") from None
    if not isinstance(salt, str) or len(raw) != SALT_BYTES:
        raise DisclosureError(f"a disclosure's salt must be {SALT_BYTES} bytes")
    return Disclosure(commitment, salt, d["value"])


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


class _Sealer:
    def __init__(self, salt: Callable[[int], bytes]) -> None:
        self.salt = salt
        self.disclosures: list[Disclosure] = []

    def seal(self, value: Any) -> Any:
        if _empty(value):
            return value
        salt = base64.b64encode(self.salt(SALT_BYTES)).decode("ascii")
        value = _json(value)
        d = Disclosure(commitment_of(salt, value), salt, value)
        self.disclosures.append(d)
        return {COMMITMENT: d.commitment}


def _json(value: Any) -> Any:
    """The value as the log's canonical JSON reads it back (dates as ISO text)."""
    return json.loads(canonical_stored(value))


def seal_request_entry(
    kind: str,
    fields: Mapping[str, Any],
    document: Any = None,
    salt: Callable[[int], bytes] = secrets.token_bytes,
) -> tuple[dict[str, Any], list[Disclosure]]:
    """A request entry's fields in clear (format 2) and the disclosures of what was
    sealed; ``document`` is the request document to commit to (on ``submitted`` and
    ``amended``; None for the other events)."""
    s = _Sealer(salt)
    sealed: dict[str, Any] = dict(fields) | {"format": FORMAT}
    sealed["by"] = s.seal(fields.get("by"))
    if document is not None:
        sealed["document"] = s.seal(document)
    detail = dict(fields.get("detail") or {})
    if kind == CONFORMANCE:
        sealed["detail"] = s.seal(detail)
    else:
        for name in DETAIL_SEALED:
            if name in detail:
                detail[name] = s.seal(detail[name])
        sealed["detail"] = detail
    if isinstance(fields.get("approvals"), list):
        sealed["approvals"] = [
            dict(a) | {n: s.seal(a.get(n)) for n in APPROVAL_SEALED if n in a}
            for a in fields["approvals"]
        ]
    return sealed, s.disclosures


def commitments(value: Any) -> list[str]:
    """Every commitment marked anywhere in ``value`` (an entry), in document order."""
    if is_sealed(value):
        return [value[COMMITMENT]]
    if isinstance(value, dict):
        return [c for v in value.values() for c in commitments(v)]
    if isinstance(value, list):
        return [c for v in value for c in commitments(v)]
    return []


@dataclass
class Opened:
    """An entry with what its disclosures open put back in place; ``missing`` and
    ``tampered`` name the commitments that stay sealed (the path in the entry)."""

    entry: dict[str, Any]
    missing: list[str]
    tampered: list[str]

    @property
    def whole(self) -> bool:
        return not self.missing and not self.tampered


def open_entry(entry: Mapping[str, Any], disclosures: Mapping[str, Mapping[str, Any]]) -> Opened:
    """``entry`` with each commitment replaced by its disclosed value (``disclosures``:
    commitment -> disclosure object), once the disclosure checks against it. A
    commitment without a disclosure, or whose disclosure does not check, stays sealed
    and is named in ``missing`` or ``tampered``. A disclosed document must also have
    the entry's ``document_digest``."""
    missing: list[str] = []
    tampered: list[str] = []

    def walk(value: Any, path: str) -> Any:
        if is_sealed(value):
            found = disclosures.get(value[COMMITMENT])
            if found is None:
                missing.append(path)
                return value
            try:
                d = check_disclosure(found)
            except DisclosureError:
                tampered.append(path)
                return value
            if d.commitment != value[COMMITMENT]:
                tampered.append(path)
                return value
            return d.value
        if isinstance(value, dict):
            return {k: walk(v, f"{path}.{k}" if path else k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, f"{path}[{i}]") for i, v in enumerate(value)]
        return value

    opened = walk(dict(entry), "")
    doc = opened.get("document")
    if "document" in opened and not is_sealed(doc) and "document_digest" in opened:
        try:
            if document_digest(doc) != opened["document_digest"]:
                tampered.append("document")
                opened["document"] = entry["document"]
        except ValueError:
            tampered.append("document")
            opened["document"] = entry["document"]
    return Opened(opened, missing, tampered)
