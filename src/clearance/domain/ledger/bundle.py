"""A clearance anyone can check offline: one request's audit bundle, and its check.

In the spirit of C2SP tlog-proof, a bundle carries what a verifier needs beside its own
witness policy, and nothing it must trust::

    {"format": "clearance.audit-bundle/v1",
     "request_id": "...",
     "log": {"origin", "vkey"},            (informative: the policy names the log's key)
     "checkpoint": "<signed note, with the witnesses' cosignatures>",
     "entries": [{"index", "data" (base64 of the entry's canonical JSON),
                  "inclusion_proof": [base64 hash, ...]}, ...],
     "disclosures": [{"commitment", "salt", "value"}, ...]}

``entries`` holds, in log order, every entry about the request and every ``key`` and
``member.*`` entry of the authorities that decided it (their root keys, the enrollments
and revocations signed by them): each is proven in the checkpoint's tree by its
inclusion proof, so the keys a decision is checked with are the log's, at that point of
the log, never the bundle's word.

``disclosures`` open the salted commitments the request's entries make
(``domain.ledger.disclosure``): what only its operator and the authorities in its chain
may read. Each must open its commitment, and every decision must be opened whole, since
its signature is over the comment, conditions and member the entry seals.

:func:`verify_bundle` raises :class:`AuditError` naming the first thing that fails (the
checkpoint, a cosignature, an entry's proof, a decision's signature, a disclosure); a
bundle that is not the shape above raises :class:`InputError` naming the field. A
decision recorded unsigned (its authority names no root key) is counted by authority in
the summary, not failed: the log proves it was recorded, not that authority's consent.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from clearance.domain.errors import AuditError, DisclosureError, InputError, ProofError, QuorumError
from clearance.domain.ledger import audit, members
from clearance.domain.ledger.disclosure import check_disclosure
from clearance.domain.ledger.merkle import leaf_hash, verify_inclusion
from clearance.domain.ledger.policy import Policy, check_quorum

__all__ = ["FORMAT", "BundleSummary", "make_bundle", "verify_bundle", "wanted"]

FORMAT = "clearance.audit-bundle/v1"


def wanted(entry: Mapping[str, Any], authorities: set[str]) -> bool:
    """Whether a key or member entry is needed to check these authorities' decisions."""
    kind = entry.get("kind")
    if kind == audit.KEY:
        return entry.get("role") in (audit.ROOT_ROLE, audit.AUTHORITY_ROLE) and (
            entry.get("name") in authorities
        )
    return kind in members.KINDS and entry.get("authority") in authorities


def make_bundle(
    request_id: str,
    origin: str,
    log_vkey: str,
    note: str,
    entries: Sequence[tuple[int, bytes, Sequence[bytes]]],
    disclosures: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The bundle of ``entries`` (index, data, inclusion proof in ``note``'s tree)."""
    return {
        "format": FORMAT,
        "request_id": request_id,
        "log": {"origin": origin, "vkey": log_vkey},
        "checkpoint": note,
        "entries": [
            {"index": i, "data": _b64(d), "inclusion_proof": [_b64(h) for h in p]}
            for i, d, p in sorted(entries, key=lambda e: e[0])
        ],
        "disclosures": [dict(d) for d in disclosures],
    }


@dataclass(frozen=True, slots=True)
class BundleSummary:
    request_id: str
    size: int
    entries: int
    decisions: int
    disclosures: int
    cosigned: tuple[str, ...]
    state: str | None
    # authority -> its decisions recorded unsigned (it names no root key): not a failure
    unsigned: Mapping[str, int] = field(default_factory=dict)

    @property
    def signed(self) -> int:
        return self.decisions - sum(self.unsigned.values())


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(value: object, field: str) -> bytes:
    if not isinstance(value, str):
        raise InputError("must be base64 text", field=field)
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise InputError("must be base64", field=field) from None


def verify_bundle(bundle: object, policy: Policy) -> BundleSummary:
    """Check a bundle against ``policy`` alone (see the module docstring)."""
    if not isinstance(bundle, dict):
        raise InputError("must be a JSON object", field="bundle")
    if bundle.get("format") != FORMAT:
        raise InputError(f"must be {FORMAT!r}", field="format")
    request_id = bundle.get("request_id")
    if not isinstance(request_id, str) or not request_id:
        raise InputError("must be the request's id", field="request_id")
    note = bundle.get("checkpoint")
    if not isinstance(note, str):
        raise InputError("must be a signed checkpoint note", field="checkpoint")
    rows = bundle.get("entries")
    if not isinstance(rows, list) or not rows:
        raise InputError("must be a non-empty list", field="entries")
    try:
        quorum = check_quorum(policy, note)
    except QuorumError as e:
        raise AuditError(f"checkpoint: {e}") from None
    size, root = quorum.checkpoint.size, quorum.checkpoint.root
    keys = audit.KeyRing()
    disclosed = _disclosed(bundle.get("disclosures", []))
    parsed: dict[int, dict[str, Any]] = {}
    decisions, state, last = 0, None, -1
    for n, row in enumerate(rows):
        where = f"entries[{n}]"
        if not isinstance(row, dict) or type(row.get("index")) is not int:
            raise InputError("must be an object with an integer index", field=where)
        index: int = row["index"]
        if index <= last:
            raise InputError("entries must be in increasing index order", field=f"{where}.index")
        last = index
        data = _unb64(row.get("data"), f"{where}.data")
        proof_rows = row.get("inclusion_proof")
        if not isinstance(proof_rows, list):
            raise InputError("must be a list of base64 hashes", field=f"{where}.inclusion_proof")
        proof = [_unb64(h, f"{where}.inclusion_proof[{k}]") for k, h in enumerate(proof_rows)]
        try:
            verify_inclusion(leaf_hash(data), index, size, proof, root)
        except ProofError as e:
            raise AuditError(
                f"log index {index}: not in the checkpoint's tree of size {size}: {e}"
            ) from None
        try:
            entry = audit.parse_entry(data)
        except ValueError as e:
            raise AuditError(f"log index {index}: the entry {e}") from None
        kind = entry["kind"]
        try:
            if kind == audit.KEY:
                keys.learn(entry)
            elif kind in members.KINDS:
                keys.learn_member(entry)
            elif kind.startswith("request."):
                if entry.get("request_id") != request_id:
                    raise ValueError(f"is about {entry.get('request_id')}, not {request_id}")
                state = entry.get("state") if isinstance(entry.get("state"), str) else state
                entry, problems = audit.open_request_entry(entry, disclosed, "")
                if kind == audit.DECIDED:
                    if problems:
                        raise ValueError(
                            "its signature cannot be checked: " + problems[0].lstrip(": ")
                        )
                    keys.check_decision(entry)
                    decisions += 1
                elif any("does not match" in p for p in problems):
                    raise ValueError(problems[0].lstrip(": "))
            else:
                raise ValueError("is neither about the request nor a key it needs")
        except (ValueError, KeyError, TypeError) as e:  # DecisionSignatureError included
            raise AuditError(f"{audit.describe(index, entry)}: {e}") from None
        parsed[index] = entry
    if not any(e["kind"].startswith("request.") for e in parsed.values()):
        raise AuditError(f"the bundle holds no entry about {request_id}")
    opened = len(disclosed)
    return BundleSummary(
        request_id,
        size,
        len(parsed),
        decisions,
        opened,
        tuple(sorted(quorum.cosigned)),
        state,
        dict(keys.unsigned),
    )


def _disclosed(rows: object) -> dict[str, Mapping[str, Any]]:
    """The bundle's disclosures by commitment, each checked against its own commitment
    (``domain.ledger.disclosure``)."""
    if not isinstance(rows, list):
        raise InputError("must be a list", field="disclosures")
    found: dict[str, Mapping[str, Any]] = {}
    for n, row in enumerate(rows):
        try:
            d = check_disclosure(row)
        except DisclosureError as e:
            raise AuditError(f"disclosures[{n}]: {e}") from None
        found[d.commitment] = row
    return found
