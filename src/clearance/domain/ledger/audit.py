"""Audit-log entries, and the checks anyone can run on a copy of the log.

Every state change appends one entry: the RFC 8785 canonical JSON (:func:`entry_data`) of
an object whose ``kind`` says what happened; its leaf hash is RFC 9162's
``SHA-256(0x00 || data)``. Kinds:

``request.<event>`` (``submitted``, ``decided``, ``amended``, ``withdrawn``, ``expired``,
``grant_revoked``)
    one request event: ``request_id``, ``version``, ``at``, ``by``, ``detail`` (the
    event's), and what the change left the request in (:func:`request_head`): its
    ``state``, ``document_digest`` and ``approvals`` in chain order, each approval as
    :func:`approval_fields` writes it (every field of an approval: ``authority``,
    ``party``, ``stage``, ``status``, ``reasons``, ``policies``, ``grant``, ``volumes``,
    ``inputs``, ``by``, ``at``, ``comment``, ``conditions``, ``signature``). ``clearance
    audit verify`` replays these (:mod:`clearance.domain.ledger.replay`) and holds the
    tables to them. Entries written before ``approvals`` was added lack it; their
    requests' approvals are then checked by signature only.
    A signed decision's detail also holds ``conditions``, ``document_digest`` and
    ``signature``: with the entry's other fields, the statement the authority signed
    (:mod:`clearance.domain.ledger.signatures`).
``scenario.loaded``
    ``at``, ``version`` (:func:`scenario_version`, from revision 0004 on: the version made
    current), ``files`` (relative path -> SHA-256 hex of the content). A request event
    (``submitted``, ``amended``) names in its detail the ``scenario_version`` it was
    evaluated against.
``grant.revoked``
    ``grant``, ``by``, ``at``.
``principal.added``
    ``name``, ``operator``, ``authority`` (never a token).
``principal.revoked``
    ``name``, ``at``: from then on its token is refused.
``key``
    ``role`` (``log`` or ``authority``), ``name`` (the log's origin, or the authority
    id), ``public_key`` (base64 of the raw 32-byte Ed25519 key). A decision is checked
    with the authority's latest key entry *before* it, so a copy of the log is enough to
    verify every signature in it.

:func:`verify_log` checks a copy of the log offline (what ``clearance audit
verify-export`` runs): entries numbered 0..n-1 without gaps, each a canonical JSON
object, the tree of their leaf hashes equal to the signed checkpoint's, and every
decision signature good. It raises :class:`AuditError` naming the first bad entry.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from clearance.domain.clearance.model import Approval, Principal
from clearance.domain.clearance.workflow import RequestRecord
from clearance.domain.errors import AuditError
from clearance.domain.ledger import members
from clearance.domain.ledger.checkpoint import open_checkpoint, raw_public
from clearance.domain.ledger.disclosure import (
    FORMAT,
    Disclosure,
    is_sealed,
    open_entry,
    seal_request_entry,
)
from clearance.domain.ledger.merkle import Frontier, ProofError, canonical_json, leaf_hash
from clearance.domain.ledger.signatures import (
    DecisionSignatureError,
    canonical_stored,
    conditions_json,
    document_digest,
    instant,
    statement_from_event,
    verify_statement,
)

__all__ = [
    "DECIDED",
    "KEY",
    "AuditError",
    "KeyRing",
    "LogSummary",
    "approval_fields",
    "entry_data",
    "key_fields",
    "parse_entry",
    "record_entries",
    "request_event_fields",
    "request_head",
    "request_of",
    "scenario_fields",
    "sealed_entries",
    "unsigned_summary",
    "verify_log",
]

KEY = "key"
DECIDED = "request.decided"
GRANT_REVOKED = "grant.revoked"
LOG_ROLE = "log"
# a key the service once held and signed an authority's decisions with: logs written before
# authorities kept their own keys hold these, and their decisions still verify with them
AUTHORITY_ROLE = "authority"
ROOT_ROLE = "root"  # an authority's own root key, named in the scenario


def entry_data(kind: str, fields: Mapping[str, Any]) -> bytes:
    """The leaf data of one entry: canonical JSON of ``{"kind": kind, **fields}``."""
    return canonical_stored({"kind": kind, **fields})


def request_event_fields(
    request_id: str,
    version: int,
    at: str,
    by: str | None,
    detail: Mapping[str, Any],
) -> dict[str, Any]:
    """The event's own fields of a ``request.<event>`` entry (``at`` already RFC 3339
    UTC); :func:`record_entries` adds what the change left the request in."""
    return {
        "request_id": request_id,
        "version": version,
        "at": at,
        "by": by,
        "detail": dict(detail),
    }


def file_digests(files: Mapping[str, bytes]) -> dict[str, str]:
    return {path: hashlib.sha256(content).hexdigest() for path, content in files.items()}


def scenario_version(files: Mapping[str, bytes]) -> str:
    """A scenario version's name: the SHA-256 of the canonical JSON of its files' digests
    (relative path -> SHA-256 hex), so equal files give one version wherever loaded."""
    return hashlib.sha256(canonical_json(file_digests(files))).hexdigest()


def scenario_fields(files: Mapping[str, bytes], at: datetime) -> dict[str, Any]:
    """The fields of a ``scenario.loaded`` entry: when, the version it made current, and
    the SHA-256 of every file."""
    return {"at": instant(at), "version": scenario_version(files), "files": file_digests(files)}


def principal_fields(principal: Principal) -> dict[str, Any]:
    """The fields of a ``principal.added`` entry (never a token)."""
    return {
        "name": principal.name,
        "operator": principal.operator,
        "authority": principal.authority,
    }


def key_fields(role: str, name: str, public_key: bytes) -> dict[str, Any]:
    return {"role": role, "name": name, "public_key": base64.b64encode(public_key).decode()}


def request_of(fields: Mapping[str, Any], request_id: str | None = None) -> str | None:
    """The request an entry is about (stored beside it, for lookups): ``request_id`` if
    given, else the entry's own ``request_id`` field when it is a string."""
    if request_id is not None:
        return request_id
    found = fields.get("request_id")
    return found if isinstance(found, str) else None


def parse_entry(data: bytes) -> dict[str, Any]:
    """The entry object; raises ``ValueError`` unless ``data`` is the canonical JSON of an
    object with a string ``kind``."""
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"is not JSON: {e}") from None
    if not isinstance(value, dict) or not isinstance(value.get("kind"), str):
        raise ValueError("is not an object with a kind")
    try:
        canonical = canonical_json(value)
    except ValueError as e:
        raise ValueError(f"cannot be canonical JSON: {e}") from None
    if canonical != data:
        raise ValueError("is not RFC 8785 canonical JSON")
    return value


@dataclass
class KeyRing:
    """Public keys as recorded in the log so far: (role, name) -> raw Ed25519 key."""

    keys: dict[tuple[str, str], bytes] = field(default_factory=dict)
    # (authority, member) -> the member's enrolled key, as the log stands so far
    members: dict[tuple[str, str], bytes] = field(default_factory=dict)
    # authority -> how many of its decisions so far are unsigned (it named no root key)
    unsigned: dict[str, int] = field(default_factory=dict)

    def learn(self, entry: Mapping[str, Any]) -> None:
        """Record a ``key`` entry; raises ``ValueError`` when it is malformed."""
        role, name, encoded = entry.get("role"), entry.get("name"), entry.get("public_key")
        if not isinstance(role, str) or not isinstance(name, str) or not isinstance(encoded, str):
            raise ValueError("a key entry needs string role, name and public_key")
        try:
            raw = base64.b64decode(encoded.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError) as e:
            raise ValueError("a key entry's public_key is not base64") from e
        if len(raw) != 32:
            raise ValueError("a key entry's public_key is not 32 bytes")
        self.keys[(role, name)] = raw

    def authority(self, authority: str) -> bytes | None:
        return self.keys.get((AUTHORITY_ROLE, authority))

    def learn_member(self, entry: Mapping[str, Any]) -> None:
        """Record a ``member.enrolled`` or ``member.key_revoked`` entry once its
        authority's root key, as recorded so far, is found to have signed it; raises
        :class:`DecisionSignatureError` or ``ValueError``."""
        statement = members.statement_from_entry(dict(entry))
        root = self.keys.get((ROOT_ROLE, statement.authority))
        if root is None:
            raise DecisionSignatureError(
                f"no root key of {statement.authority} is recorded before its {statement.kind}"
            )
        statement.verify(root)
        who = (statement.authority, statement.member)
        if statement.kind == members.ENROLLED:
            if who in self.members:
                raise ValueError(f"{statement.member} of {statement.authority} has a key already")
            self.members[who] = statement.public_key
        elif self.members.get(who) != statement.public_key:
            raise ValueError(f"revokes a key {statement.member} of {statement.authority} lacks")
        else:
            del self.members[who]

    def check_decision(self, entry: Mapping[str, Any]) -> bytes | None:
        """Check a ``request.decided`` entry's signature: with the deciding member's key
        enrolled at that point of the log when the entry names one (``key``), else with
        the authority's key an older service held; raises
        :class:`DecisionSignatureError`. Returns the key that verified it, or None for a
        decision recorded unsigned, which only an authority with no root key recorded
        before it may have (counted in ``unsigned``: the log proves what was recorded
        and when, not that authority's consent)."""
        detail = entry.get("detail")
        if not isinstance(detail, dict):
            raise DecisionSignatureError("the decision entry has no detail")
        authority = detail.get("authority")
        if not isinstance(authority, str):
            raise DecisionSignatureError("the decision entry names no authority")
        signature = detail.get("signature")
        named = detail.get("key")
        if signature in (None, "") and named is None and (ROOT_ROLE, authority) not in self.keys:
            self.unsigned[authority] = self.unsigned.get(authority, 0) + 1
            return None
        if not isinstance(signature, str) or not signature:
            raise DecisionSignatureError(
                f"{authority}'s decision is not signed, though its root key is recorded before it"
                if (ROOT_ROLE, authority) in self.keys
                else f"{authority}'s decision is not signed"
            )
        if named is not None:
            if is_sealed(entry.get("by")):  # the member is not disclosed: find them by key
                found = [k for (a, _), k in self.members.items() if a == authority]
                key = next((k for k in found if base64.b64encode(k).decode() == named), None)
            else:
                key = self.members.get((authority, str(entry.get("by"))))
            if key is None or named != base64.b64encode(key).decode():
                raise DecisionSignatureError(
                    f"{authority}'s decision by {entry.get('by')} is signed with a key not "
                    "enrolled for them (or revoked) at that point of the log"
                )
        else:
            key = self.authority(authority)
            if key is None:
                raise DecisionSignatureError(
                    f"no key of {authority} is recorded before its decision"
                )
        try:
            statement = statement_from_event(dict(entry))
        except KeyError as e:
            raise DecisionSignatureError(f"the decision entry lacks {e.args[0]!r}") from None
        if undisclosed(statement):
            return key  # checked once its sealed fields are disclosed
        try:
            verify_statement(key, statement, signature)
        except DecisionSignatureError as e:
            raise DecisionSignatureError(f"{authority}'s decision: {e}") from None
        return key


@dataclass(frozen=True)
class LogSummary:
    size: int
    root: bytes
    decisions: int
    origin: str
    undisclosed: int = 0  # decisions whose signature waits for a disclosure to be checked
    # authority -> its decisions recorded unsigned (it named no root key): not failures
    unsigned: Mapping[str, int] = field(default_factory=dict)

    @property
    def signed(self) -> int:
        """The decisions whose signature was checked."""
        return self.decisions - sum(self.unsigned.values())


def unsigned_summary(unsigned: Mapping[str, int]) -> str:
    """``3 decisions unsigned: NE.Defense names no root key`` for what
    :attr:`KeyRing.unsigned` counted ("" when none): what a verifier reports, without
    failing, of decisions whose authority's consent the log cannot prove."""
    total = sum(unsigned.values())
    if not total:
        return ""
    what = "decision" if total == 1 else "decisions"
    if len(unsigned) == 1:
        (authority,) = unsigned
        return f"{total} {what} unsigned: {authority} names no root key ({_UNPROVEN})"
    named = ", ".join(f"{a} ({n})" for a, n in sorted(unsigned.items()))
    return f"{total} {what} unsigned: {named} name no root key ({_UNPROVEN})"


_UNPROVEN = "recorded, but the authority's consent is not proven"


def undisclosed(statement: Mapping[str, Any]) -> bool:
    """Whether a decision statement rebuilt from an entry still holds a commitment (its
    signature covers the value, so it is checked once the value is disclosed)."""
    return any(is_sealed(v) for v in statement.values())


def open_request_entry(
    entry: dict[str, Any], disclosures: Mapping[str, Mapping[str, Any]], where: str
) -> tuple[dict[str, Any], list[str]]:
    """A format-2 request entry with its disclosed values in place, and a sentence for
    each commitment whose disclosure is missing or does not check (those stay sealed);
    any other entry as it is."""
    if entry.get("format") != FORMAT:
        return entry, []
    opened = open_entry(entry, disclosures)
    problems = [
        f"{where}: the disclosure of {path} does not match its commitment (it was changed)"
        for path in opened.tampered
    ] + [
        f"{where}: the disclosure of {path} is missing (the log verifies; that value cannot "
        "be read or checked)"
        for path in opened.missing
    ]
    return opened.entry, problems


def describe(index: int, entry: Mapping[str, Any] | None) -> str:
    """``log index 12 (request.decided, req-...)``: how failures name an entry."""
    if entry is None:
        return f"log index {index}"
    what = [str(entry.get("kind"))]
    if isinstance(entry.get("request_id"), str):
        what.append(str(entry["request_id"]))
    return f"log index {index} ({', '.join(what)})"


def verify_log(
    entries: Iterable[tuple[int, bytes, bytes | None]],
    note: str,
    log_name: str,
    log_key: bytes | Ed25519PublicKey,
    disclosures: Mapping[str, Mapping[str, Any]] | None = None,
) -> LogSummary:
    """Check a copy of the log: ``entries`` as (index, data, leaf hash or None) in order,
    ``note`` the signed checkpoint, verified with the log's key (``log_name``, ``log_key``).

    A leaf hash given with an entry (the one the log stored) must be the hash of its data:
    that names an entry changed on its own. An entry changed together with its stored hash
    still changes the root, which the signed checkpoint catches.

    The log must hold exactly the checkpoint's entries, numbered from 0, whose tree has
    the checkpoint's root; every entry must be canonical JSON and every decision's
    signature must verify with its authority's key recorded earlier in the log. Raises
    :class:`AuditError` naming the first bad entry (or the checkpoint).

    A decision's statement includes its comment, conditions and member, which a request
    entry of format 2 holds as commitments: with ``disclosures`` (commitment ->
    disclosure object) those are opened first, and a disclosure that does not match its
    commitment is named; a signature whose statement is still sealed is counted in
    ``undisclosed``, not checked."""
    try:
        checkpoint = open_checkpoint(note, log_name, log_key)
    except ProofError as e:
        raise AuditError(f"checkpoint: {e}") from None
    frontier = Frontier()
    keys = KeyRing()
    decisions = unchecked = 0
    for index, data, stored_hash in entries:
        expected = frontier.size
        if index != expected:
            where = f"log index {expected}" if index > expected else f"log index {index}"
            raise AuditError(f"{where}: entries are missing, repeated or out of order")
        if index >= checkpoint.size:
            raise AuditError(
                f"log index {index}: beyond the signed checkpoint (size {checkpoint.size})"
            )
        hashed = leaf_hash(data)
        if stored_hash is not None and stored_hash != hashed:
            raise AuditError(f"log index {index}: the data does not hash to its leaf hash")
        try:
            entry = parse_entry(data)
        except ValueError as e:
            raise AuditError(f"log index {index}: the entry {e}") from None
        if disclosures is not None:
            entry, problems = open_request_entry(entry, disclosures, describe(index, entry))
            tampered = [p for p in problems if p.endswith("(it was changed)")]
            if tampered:
                raise AuditError(tampered[0])
        try:
            if entry["kind"] == KEY:
                keys.learn(entry)
            elif entry["kind"] in members.KINDS:
                keys.learn_member(entry)
            elif entry["kind"] == DECIDED:
                signed = keys.check_decision(entry) is not None
                decisions += 1
                if signed and undisclosed(statement_from_event(entry)):
                    unchecked += 1
        except ValueError as e:  # DecisionSignatureError included
            raise AuditError(f"{describe(index, entry)}: {e}") from None
        frontier.append(hashed)
    if frontier.size != checkpoint.size:
        raise AuditError(
            f"log index {frontier.size}: missing (the checkpoint has {checkpoint.size} entries)"
        )
    recorded = keys.keys.get((LOG_ROLE, log_name))
    if recorded is not None and recorded != raw_public(log_key):
        raise AuditError(f"the log records another key for {log_name} than the one given")
    if frontier.root() != checkpoint.root:
        raise AuditError(
            f"the tree of {checkpoint.size} entries does not have the checkpoint's root: "
            "an entry was changed"
        )
    return LogSummary(
        checkpoint.size,
        checkpoint.root,
        decisions,
        checkpoint.origin,
        unchecked,
        dict(keys.unsigned),
    )


def approval_fields(a: Approval) -> dict[str, Any]:
    """One approval as request entries record it: every field of :class:`Approval`, as
    JSON (tuples as lists, the status and the decision's time as text)."""
    fields = {f.name: getattr(a, f.name) for f in dataclasses.fields(a)}
    return fields | {
        "status": a.status.value,
        "reasons": list(a.reasons),
        "policies": list(a.policies),
        "volumes": list(a.volumes),
        "at": instant(a.at) if a.at is not None else None,
        "conditions": conditions_json(a.conditions),
    }


def request_head(record: RequestRecord) -> dict[str, Any]:
    """What a change leaves a request in, as its entries record it and as ``audit verify``
    holds the stored row to it: every key here is compared, so recording one more field
    is one more line. Raises ``ValueError`` when the document cannot be canonical JSON."""
    return {
        "version": record.version,
        "state": record.state.value,
        "document_digest": document_digest(record.document),
        "scenario_version": record.scenario_version,
        "approvals": [approval_fields(a) for a in record.approvals],
    }


def record_entries(record: RequestRecord) -> list[tuple[str, dict[str, Any]]]:
    """(kind, fields) of the entries for the new events of ``record`` being saved: each
    carries what the save leaves the request in (:func:`request_head`), with its own
    event's version."""
    if not record.events:
        return []
    head = request_head(record)
    return [
        (
            f"request.{e.kind}",
            request_event_fields(e.request_id, e.version, instant(e.at), e.by, e.detail)
            | {k: v for k, v in head.items() if k != "version"},
        )
        for e in record.events
    ]


# the events whose entry commits to the request document itself
DOCUMENT_EVENTS = frozenset({"request.submitted", "request.amended"})


def sealed_entries(
    record: RequestRecord,
) -> tuple[list[tuple[str, dict[str, Any]]], list[Disclosure]]:
    """:func:`record_entries` as the log keeps them (format 2): what only the request's
    parties may read replaced by salted commitments
    (:func:`clearance.domain.ledger.disclosure.seal_request_entry`), with the
    disclosures that open them, to be stored beside the log."""
    entries: list[tuple[str, dict[str, Any]]] = []
    disclosures: list[Disclosure] = []
    for kind, fields in record_entries(record):
        document = record.document if kind in DOCUMENT_EVENTS else None
        sealed, disclosed = seal_request_entry(kind, fields, document)
        entries.append((kind, sealed))
        disclosures += disclosed
    return entries, disclosures
