"""Signed decisions: the statement an authority signs when a member decides, and its check.

When a member approves or denies for an authority, the authority's Ed25519 key signs the RFC 8785
canonical JSON of this statement::

    {"request_id", "version"          (the version the decision creates),
     "document_digest"                (SHA-256 hex of the canonical request document),
     "authority", "decision"          ("approve" or "deny"),
     "comment", "conditions"          (null, or text and optional window and volume),
     "by", "at"}                      (the member; RFC 3339 UTC instant with a Z)

The signature (standard base64 of the 64 raw bytes) is stored on the approval and in the
decision's event, so the audit log carries it too: anyone holding the authority's public
key can rebuild the statement from the log entry (:func:`statement_from_event`) or from
the stored approval (:func:`decision_statement`) and check it with
:func:`verify_statement`, without trusting the server.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import date, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from clearance.domain.clearance.model import Approval, ApprovalStatus, Conditions
from clearance.domain.documents import instant
from clearance.domain.errors import DecisionSignatureError
from clearance.domain.ledger.merkle import canonical_json

__all__ = [
    "STATEMENT_FIELDS",
    "DecisionSignatureError",
    "canonical_stored",
    "conditions_json",
    "decision_of",
    "decision_statement",
    "document_digest",
    "instant",
    "sign_statement",
    "statement_for",
    "statement_from_event",
    "verify_signed",
    "verify_statement",
]

STATEMENT_FIELDS = (
    "request_id",
    "version",
    "document_digest",
    "authority",
    "decision",
    "comment",
    "conditions",
    "by",
    "at",
)


def document_digest(document: Any) -> str:
    """SHA-256 (hex) of the RFC 8785 canonical JSON of a request document, as stored: a
    date or time YAML left in it counts as its ISO 8601 text, as the database keeps it."""
    return hashlib.sha256(canonical_stored(document)).hexdigest()


def canonical_stored(value: Any) -> bytes:
    """RFC 8785 canonical JSON of ``value`` as the database stores it (dates and times as
    ISO 8601 text); raises ``ValueError`` for what JSON cannot hold exactly."""
    try:
        return canonical_json(value)
    except ValueError:
        return canonical_json(json.loads(json.dumps(value, default=_iso_text)))


def _iso_text(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def conditions_json(c: Conditions | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {
        "text": c.text,
        "time_start": instant(c.time_start) if c.time_start else None,
        "time_end": instant(c.time_end) if c.time_end else None,
        "volume": c.volume,
    }


def decision_of(approval: Approval) -> str:
    """``approve`` or ``deny`` for an approval a person decided."""
    if approval.status is ApprovalStatus.APPROVED:
        return "approve"
    if approval.status is ApprovalStatus.DENIED:
        return "deny"
    raise ValueError(f"{approval.authority}'s approval is {approval.status.value}, not decided")


def decision_statement(
    request_id: str, version: int, digest: str, approval: Approval
) -> dict[str, Any]:
    """The statement signed for ``approval`` (decided by a person) on version ``version``
    of request ``request_id`` whose document has digest ``digest``."""
    if approval.by is None or approval.at is None:
        raise ValueError(f"{approval.authority}'s approval has no decision to sign")
    return statement_for(
        request_id,
        version,
        digest,
        approval.authority,
        decision_of(approval),
        approval.comment,
        approval.conditions,
        approval.by,
        approval.at,
    )


def statement_for(
    request_id: str,
    version: int,
    digest: str,
    authority: str,
    decision: str,
    comment: str,
    conditions: Conditions | None,
    by: str,
    at: datetime,
) -> dict[str, Any]:
    """The statement of a decision about to be made (what its member signs where they
    make it): ``version`` is the one the decision creates, the version seen plus one."""
    return {
        "request_id": request_id,
        "version": version,
        "document_digest": digest,
        "authority": authority,
        "decision": decision,
        "comment": comment,
        "conditions": conditions_json(conditions),
        "by": by,
        "at": instant(at),
    }


def statement_from_event(entry: dict[str, Any]) -> dict[str, Any]:
    """The signed statement rebuilt from a ``request.decided`` audit entry (see
    :mod:`clearance.domain.ledger.audit`); raises ``KeyError`` when a field is missing."""
    detail = entry["detail"]
    return {
        "request_id": entry["request_id"],
        "version": entry["version"],
        "document_digest": detail["document_digest"],
        "authority": detail["authority"],
        "decision": detail["decision"],
        "comment": detail["comment"],
        "conditions": detail["conditions"],
        "by": entry["by"],
        "at": entry["at"],
    }


def sign_statement(private_key: Ed25519PrivateKey, statement: dict[str, Any]) -> str:
    return base64.b64encode(private_key.sign(canonical_json(statement))).decode("ascii")


def verify_statement(public_key: bytes, statement: dict[str, Any], signature: str) -> None:
    """Raise :class:`DecisionSignatureError` unless ``signature`` is the key's signature of the
    statement's canonical JSON."""
    if not signature:
        raise DecisionSignatureError("the decision is not signed")
    verify_signed(public_key, statement, signature, "decision")


def verify_signed(
    public_key: bytes, statement: dict[str, Any], signature: str, what: str = "statement"
) -> None:
    """Raise :class:`DecisionSignatureError` unless ``signature`` (base64) is the key's
    Ed25519 signature of the statement's canonical JSON."""
    if not signature:
        raise DecisionSignatureError(f"the {what} is not signed")
    try:
        raw = base64.b64decode(signature.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as e:
        raise DecisionSignatureError(f"the {what} signature is not base64") from e
    if len(raw) != 64:
        raise DecisionSignatureError(f"the {what} signature is not an Ed25519 signature")
    try:
        key = Ed25519PublicKey.from_public_bytes(public_key)
        key.verify(raw, canonical_json(statement))
    except InvalidSignature as e:
        raise DecisionSignatureError(f"the {what} signature does not verify") from e
    except ValueError as e:
        raise DecisionSignatureError(f"the public key is unusable: {e}") from e
