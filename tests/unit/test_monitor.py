"""A monitor and a bundle over a log the test plays itself (fakes only, no database, no
network): a member's key enrolled by the authority's root key, a decision it signed, the
key revoked, and a decision it signed after that planted in the log. The monitor and
the bundle check each name the entry; disclosures open their commitments or are named."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clearance.domain.errors import AuditError
from clearance.domain.ledger.audit import ROOT_ROLE, entry_data, key_fields
from clearance.domain.ledger.bundle import make_bundle, verify_bundle
from clearance.domain.ledger.checkpoint import format_checkpoint, raw_public, sign_note, vkey
from clearance.domain.ledger.disclosure import FORMAT, commitment_of
from clearance.domain.ledger.members import ENROLLED, KEY_REVOKED, MemberStatement, key_text
from clearance.domain.ledger.merkle import (
    consistency_proof_for,
    inclusion_proof_for,
    leaf_hash,
    root_hash,
)
from clearance.domain.ledger.policy import Policy, parse_policy
from clearance.domain.ledger.signatures import sign_statement, statement_from_event
from clearance.service.monitor import LogClient, MemoryMonitorStore, run_pass

ORIGIN = "test.clearance/log"
AT = datetime(2017, 11, 20, tzinfo=UTC)
DOD = "US.DoD"


_SALT = base64.b64encode(b"s" * 32).decode()
COMMENT = {"commitment": commitment_of(_SALT, "fine"), "salt": _SALT, "value": "fine"}


@dataclass
class PlayedLog(LogClient):
    """A log of real entries, signed by its own key; also the monitor's client."""

    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    root: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    member: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    data: list[bytes] = field(default_factory=list)
    source: str = "played log"

    @property
    def policy(self) -> Policy:
        return parse_policy(f"log {vkey(ORIGIN, self.key.public_key())}\nquorum none\n")

    def add(self, kind: str, fields: dict[str, Any]) -> int:
        self.data.append(entry_data(kind, fields))
        return len(self.data) - 1

    def statement(self, kind: str) -> int:
        unsigned = MemberStatement(kind, DOD, "officer", raw_public(self.member), AT, "")
        signature = sign_statement(self.root, unsigned.fields())
        fields = replace(unsigned, signature=signature).fields()
        return self.add(
            kind, {k: v for k, v in fields.items() if k != "kind"} | {"signature": signature}
        )

    def decision(self, request_id: str, version: int) -> int:
        """A decision entry as the service logs it: signed over the comment in clear, the
        comment sealed in the entry (its disclosure is ``COMMENT``)."""
        entry: dict[str, Any] = {
            "kind": "request.decided",
            "request_id": request_id,
            "version": version,
            "at": "2017-11-20T00:00:00Z",
            "by": "officer",
            "state": "cleared",
            "detail": {
                "authority": DOD,
                "decision": "approve",
                "comment": "fine",
                "conditions": None,
                "document_digest": "0" * 64,
                "key": key_text(raw_public(self.member)),
            },
        }
        entry["detail"]["signature"] = sign_statement(self.member, statement_from_event(entry))
        entry["format"] = FORMAT
        entry["detail"]["comment"] = {"commitment": COMMENT["commitment"]}
        return self.add("request.decided", {k: v for k, v in entry.items() if k != "kind"})

    def story(self) -> None:
        self.add("key", key_fields(ROOT_ROLE, DOD, raw_public(self.root)))
        self.statement(ENROLLED)
        self.decision("req-1", 2)

    def note(self, size: int | None = None) -> str:
        size = len(self.data) if size is None else size
        root = root_hash([leaf_hash(d) for d in self.data[:size]])
        return sign_note(format_checkpoint(ORIGIN, size, root), ORIGIN, self.key)

    # LogClient
    def checkpoint(self) -> str:
        return self.note()

    def consistency(self, size1: int, size2: int) -> list[bytes]:
        return consistency_proof_for(size1, size2, [leaf_hash(d) for d in self.data])

    def entries(self, start: int, stop: int) -> list[tuple[int, bytes]]:
        return list(enumerate(self.data))[start:stop]

    def bundle(self, indices: list[int], **extra: Any) -> dict[str, Any]:
        leaves = [leaf_hash(d) for d in self.data]
        rows = [(i, self.data[i], inclusion_proof_for(i, leaves)) for i in indices]
        return make_bundle("req-1", ORIGIN, "", self.note(), rows, **extra)


def test_a_decision_by_an_enrolled_key_verifies_and_one_after_its_revocation_is_named() -> None:
    log, store = PlayedLog(), MemoryMonitorStore()
    log.story()
    assert run_pass(log, store, log.policy).decisions == 1
    log.statement(KEY_REVOKED)
    planted = log.decision("req-1", 3)
    with pytest.raises(AuditError) as caught:
        run_pass(log, store, log.policy)
    assert str(caught.value).startswith(f"log index {planted} (request.decided, req-1): ")
    assert "not enrolled for them (or revoked) at that point of the log" in str(caught.value)
    verified = store.verified()
    assert verified is not None
    assert verified.size == planted - 1  # the pass that failed stored nothing


def test_an_enrollment_not_signed_by_the_root_key_is_named() -> None:
    log = PlayedLog()
    log.add("key", key_fields(ROOT_ROLE, DOD, raw_public(log.root)))
    log.root = Ed25519PrivateKey.generate()  # someone else's "root" signs the enrollment
    log.statement(ENROLLED)
    with pytest.raises(AuditError, match=r"^log index 1 \(member.enrolled\): .*does not verify"):
        run_pass(log, MemoryMonitorStore(), log.policy)


def test_the_bundle_proves_the_enrollment_its_decision_needs_and_opens_disclosures() -> None:
    log = PlayedLog()
    log.story()
    disclosure = COMMENT
    summary = verify_bundle(log.bundle([0, 1, 2], disclosures=[disclosure]), log.policy)
    assert (summary.decisions, summary.disclosures, summary.state) == (1, 1, "cleared")
    # without the enrollment, the decision's key is not enrolled as far as the bundle shows
    with pytest.raises(AuditError, match=r"^log index 2 \(request.decided, req-1\): "):
        verify_bundle(log.bundle([0, 2]), log.policy)
    # a disclosure that does not open its commitment is named
    wrong = disclosure | {"value": "something else"}
    with pytest.raises(AuditError, match=r"^disclosures\[0\]: .*does not match its commitment"):
        verify_bundle(log.bundle([0, 1, 2], disclosures=[wrong]), log.policy)
    salted = disclosure | {"salt": base64.b64encode(os.urandom(32)).decode()}
    with pytest.raises(AuditError, match="does not match its commitment"):
        verify_bundle(log.bundle([0, 1, 2], disclosures=[salted]), log.policy)
    # without it, the decision's signature cannot be checked, and the bundle says so
    with pytest.raises(AuditError, match=r"^log index 2 .*signature cannot be checked"):
        verify_bundle(log.bundle([0, 1, 2]), log.policy)
