"""Members' keys: made on the member's side, enrolled by their authority's root key.

An authority that keeps its own keys names its root public key in the scenario
(``authorities.<id>.root_key``). A member makes a key pair where they work
(``clearance key new``) and hands over the public half; the authority's officer signs an
enrollment statement with the root key, and the service records it (public keys only) and
logs statement and signature, so anyone can check it against the root key. Revoking a
member's key is the same with ``kind`` ``member.key_revoked``. The statement, signed as
RFC 8785 canonical JSON::

    {"kind", "authority", "member", "public_key" (base64 of the raw 32-byte key), "at"}

A decision for such an authority is signed by the deciding member's enrolled key
(``domain.ledger.signatures``: the same statement an authority key used to sign).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from clearance.domain.documents import Fields, instant
from clearance.domain.errors import (
    DecisionSignatureError,
    ForbiddenError,
    InputError,
    RequestError,
)
from clearance.domain.ledger.signatures import verify_signed

ENROLLED = "member.enrolled"
KEY_REVOKED = "member.key_revoked"
KINDS = (ENROLLED, KEY_REVOKED)


def public_key(text: object, field: str) -> bytes:
    """A raw Ed25519 public key from its base64 text (what ``clearance key new`` prints)."""
    if not isinstance(text, str):
        raise RequestError("must be a public key as base64 text", field=field)
    try:
        raw = base64.b64decode(text.strip().encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise RequestError(
            "must be base64 (the last line `clearance key new` prints)", field=field
        ) from None
    if len(raw) != 32:
        raise RequestError(
            f"must be a 32-byte Ed25519 public key, not {len(raw)} bytes", field=field
        )
    return raw


def key_text(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True)
class MemberStatement:
    """An enrollment or a key revocation, as its authority's root key signed it."""

    kind: str
    authority: str
    member: str
    public_key: bytes
    at: datetime
    signature: str

    def fields(self) -> dict[str, Any]:
        """What was signed (canonical JSON of this is the signed message)."""
        return member_statement(self.kind, self.authority, self.member, self.public_key, self.at)

    def verify(self, root_key: bytes) -> None:
        """Raise :class:`DecisionSignatureError` unless the root key signed it."""
        try:
            verify_signed(root_key, self.fields(), self.signature)
        except DecisionSignatureError as e:
            raise DecisionSignatureError(
                f"{self.authority}'s {self.kind} of {self.member}: {e}"
            ) from None


def member_statement(
    kind: str, authority: str, member: str, public_key: bytes, at: datetime
) -> dict[str, Any]:
    return {
        "kind": kind,
        "authority": authority,
        "member": member,
        "public_key": key_text(public_key),
        "at": instant(at),
    }


def read_statement(raw: object, signature: object, path: str = "statement") -> MemberStatement:
    """A statement and its signature as a client sends them (JSON), checked field by
    field; the signature itself is checked against the root key by the caller."""
    f = Fields(raw, path=path, error=RequestError)
    f.only("kind", "authority", "member", "public_key", "at")
    kind = f.text("kind")
    if kind not in KINDS:
        raise f.fail(f"must be one of {', '.join(KINDS)}", "kind")
    member = f.text("member")
    if not member.strip() or len(member) > 200:
        raise f.fail("must be a name of 1 to 200 characters", "member")
    key = public_key(f.raw("public_key"), f"{path}.public_key")
    if not isinstance(signature, str) or not signature:
        raise InputError("must be the root key's signature (base64)", field="signature")
    return MemberStatement(kind, f.text("authority"), member, key, f.instant("at"), signature)


def statement_from_entry(entry: dict[str, Any]) -> MemberStatement:
    """The statement a ``member.enrolled`` or ``member.key_revoked`` entry records;
    raises ``ValueError`` when the entry is malformed."""
    try:
        return read_statement(
            {k: entry.get(k) for k in ("kind", "authority", "member", "public_key", "at")},
            entry.get("signature"),
        )
    except InputError as e:
        raise ValueError(f"its {e.field}: {e.rule}") from None


def read_body(body: object, authority: str, kind: str) -> MemberStatement:
    """A statement as the API takes it, ``{"statement": {...}, "signature": "..."}``, for
    ``authority`` (the one the path names) and of ``kind`` (enrollment or revocation)."""
    f = Fields(body, error=RequestError)
    f.only("statement", "signature")
    statement = read_statement(f.raw("statement"), f.raw("signature"))
    # well-formed, but not a statement this address takes: refused (403) as not allowed
    if statement.authority != authority:
        raise ForbiddenError(
            f"statement.authority: names {statement.authority!r}, not {authority!r} (the "
            "authority in the path): a statement enrolls or revokes for its own authority only"
        )
    if statement.kind != kind:
        raise ForbiddenError(f"statement.kind: is {statement.kind}; this address takes {kind} only")
    return statement
