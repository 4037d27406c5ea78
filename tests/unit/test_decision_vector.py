"""The decision statement's test vector (tests/vectors/decision/statements.json), shared
with the browser's signer (web/signing.js, checked in tests/e2e/test_page_signing_js.py):
the Python side builds the same statement, the same RFC 8785 bytes, the same document
digest and the same Ed25519 signature from the vector's inputs, and the signature
verifies only for the statement it was made for."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clearance.domain.clearance.model import Conditions
from clearance.domain.errors import DecisionSignatureError
from clearance.domain.ledger.merkle import canonical_json
from clearance.domain.ledger.signatures import (
    document_digest,
    sign_statement,
    statement_for,
    verify_statement,
)

VECTOR = json.loads(
    (Path(__file__).parents[1] / "vectors" / "decision" / "statements.json").read_text("utf-8")
)
KEY = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(VECTOR["private_key_seed_hex"]))


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def conditions(raw: dict[str, Any] | None) -> Conditions | None:
    if raw is None:
        return None
    return Conditions(raw["text"], when(raw["time_start"]), when(raw["time_end"]), None)


def test_the_document_hashes_as_the_vector_says() -> None:
    assert canonical_json(VECTOR["document"]).decode() == VECTOR["document_canonical"]
    assert document_digest(VECTOR["document"]) == VECTOR["document_digest"]
    public = KEY.public_key().public_bytes_raw()
    assert base64.b64encode(public).decode() == VECTOR["public_key"]


@pytest.mark.parametrize("case", VECTOR["cases"], ids=lambda c: c["decision"])
def test_each_statement_is_built_canonicalised_and_signed_as_the_vector_says(
    case: dict[str, Any],
) -> None:
    statement = statement_for(
        VECTOR["request_id"], case["seen"] + 1, VECTOR["document_digest"], VECTOR["authority"],
        case["decision"], case["comment"], conditions(case["conditions"]), VECTOR["by"],
        when(VECTOR["at"]),
    )  # fmt: skip
    assert statement == case["statement"]
    assert canonical_json(statement).decode() == case["canonical"]
    assert sign_statement(KEY, statement) == case["signature"]
    public = KEY.public_key().public_bytes_raw()
    verify_statement(public, statement, case["signature"])
    with pytest.raises(DecisionSignatureError, match="does not verify"):
        verify_statement(public, statement | {"version": case["seen"] + 2}, case["signature"])
