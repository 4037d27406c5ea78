"""Member-key statements and the log's key ring, pure: no database."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clearance.domain.errors import DecisionSignatureError, RequestError
from clearance.domain.ledger.audit import ROOT_ROLE, KeyRing
from clearance.domain.ledger.checkpoint import raw_public
from clearance.domain.ledger.members import (
    ENROLLED,
    KEY_REVOKED,
    MemberStatement,
    public_key,
    read_statement,
)
from clearance.domain.ledger.signatures import sign_statement

AT = datetime(2017, 11, 20, tzinfo=UTC)


def signed(kind: str, member_key: bytes, root: Ed25519PrivateKey) -> MemberStatement:
    unsigned = MemberStatement(kind, "US.DoD", "officer", member_key, AT, "")
    return replace(unsigned, signature=sign_statement(root, unsigned.fields()))


def entry(statement: MemberStatement) -> dict[str, object]:
    return {**statement.fields(), "signature": statement.signature}


def test_a_statement_verifies_with_its_root_key_only() -> None:
    root, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    statement = signed(ENROLLED, raw_public(Ed25519PrivateKey.generate()), root)
    statement.verify(raw_public(root))
    with pytest.raises(DecisionSignatureError, match="does not verify"):
        statement.verify(raw_public(other))
    with pytest.raises(DecisionSignatureError):
        replace(statement, member="someone-else").verify(raw_public(root))


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        (5, "base64 text"),
        ("not base64!", "base64"),
        (base64.b64encode(b"x" * 31).decode(), "31 bytes"),
    ],
)
def test_a_public_key_names_its_field_and_rule(text: object, rule: str) -> None:
    with pytest.raises(RequestError, match=rule) as raised:
        public_key(text, "--public-key")
    assert raised.value.field == "--public-key"


def test_a_statement_from_a_client_names_each_bad_field() -> None:
    good = signed(ENROLLED, raw_public(Ed25519PrivateKey.generate()), Ed25519PrivateKey.generate())
    assert read_statement(good.fields(), good.signature) == good
    with pytest.raises(RequestError) as raised:
        read_statement(good.fields() | {"kind": "member.promoted"}, good.signature)
    assert raised.value.field == "statement.kind"
    with pytest.raises(RequestError) as raised:
        read_statement(good.fields() | {"extra": 1}, good.signature)
    assert raised.value.field == "statement.extra"


def test_the_key_ring_follows_enrollments_and_revocations_in_log_order() -> None:
    root = Ed25519PrivateKey.generate()
    member = raw_public(Ed25519PrivateKey.generate())
    ring = KeyRing()
    with pytest.raises(DecisionSignatureError, match=r"no root key of US\.DoD"):
        ring.learn_member(entry(signed(ENROLLED, member, root)))
    ring.keys[(ROOT_ROLE, "US.DoD")] = raw_public(root)
    ring.learn_member(entry(signed(ENROLLED, member, root)))
    assert ring.members == {("US.DoD", "officer"): member}
    with pytest.raises(ValueError, match="has a key already"):
        ring.learn_member(entry(signed(ENROLLED, member, root)))
    ring.learn_member(entry(signed(KEY_REVOKED, member, root)))
    assert ring.members == {}
    with pytest.raises(ValueError, match="lacks"):
        ring.learn_member(entry(signed(KEY_REVOKED, member, root)))
