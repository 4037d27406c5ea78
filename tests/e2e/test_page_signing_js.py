"""The page's own crypto, run in Chromium against the Python side it must agree with:

- web/signing.js builds the decision statement, its RFC 8785 bytes, the document digest and
  the Ed25519 signature exactly as domain/ledger/signatures.py does, on the vector shared
  by both (tests/vectors/decision/statements.json, also checked in
  tests/unit/test_decision_vector.py), with a key imported from a `clearance key new` file
  and kept non-extractable;
- web/audit.js requires the witness policy's quorum: a checkpoint cosigned by 2 of the
  US, NE and FR witnesses passes, by 1 (or by keys the policy does not name, or over
  another tree) does not."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import Page

from clearance.adapters.key_files import private_pem
from clearance.domain.errors import QuorumError
from clearance.domain.ledger.checkpoint import format_checkpoint, sign_note, vkey
from clearance.domain.ledger.policy import check_quorum, parse_policy
from clearance.domain.ledger.witness import cosign, cosigner_vkey
from tests.e2e.pagekit import browser, page, site

__all__ = ["browser", "page", "site"]  # fixtures

VECTOR = Path(__file__).parents[1] / "vectors" / "decision" / "statements.json"

SIGN_VECTOR = """async ([text, pem]) => {
  const s = await import("/web/signing.js");
  const v = JSON.parse(text);
  const kept = await s.importKeyFile("vector-member", pem, "vector.key");
  const again = await s.loadKey("vector-member");
  const out = {
    publicKey: kept.publicKey,
    extractable: again.privateKey.extractable,
    documentCanonical: s.canonicalJson(v.document),
    digest: await s.documentDigest(v.document),
    cases: [],
  };
  for (const c of v.cases) {
    const statement = s.decisionStatement({
      requestId: v.request_id, seen: c.seen, digest: out.digest, authority: v.authority,
      decision: c.decision, comment: c.comment, conditions: c.conditions, by: v.by, at: v.at,
    });
    out.cases.push({ statement, canonical: s.canonicalJson(statement),
      signature: await s.signStatement(again.privateKey, statement) });
  }
  out.instant = s.signingInstant(Date.UTC(2020, 2, 1, 6, 0, 5, 987));
  return out;
}"""


def test_the_browser_signs_the_shared_vector_as_the_server_checks_it(page: Page) -> None:
    vector = json.loads(VECTOR.read_text(encoding="utf-8"))
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(vector["private_key_seed_hex"]))
    got = page.evaluate(
        SIGN_VECTOR, [VECTOR.read_text(encoding="utf-8"), private_pem(key).decode()]
    )
    assert got["publicKey"] == vector["public_key"]
    assert got["extractable"] is False  # kept in IndexedDB, usable, never readable
    assert got["documentCanonical"] == vector["document_canonical"]
    assert got["digest"] == vector["document_digest"]
    for mine, expected in zip(got["cases"], vector["cases"], strict=True):
        assert mine["statement"] == expected["statement"]
        assert mine["canonical"] == expected["canonical"]
        assert mine["signature"] == expected["signature"]
    assert got["instant"] == "2020-03-01T06:00:05Z"  # whole seconds, as the server writes it


GENERATE = """async () => {
  const s = await import("/web/signing.js");
  const made = await s.generateKey("browser-member");
  const kept = await s.loadKey("browser-member");
  let exported = "refused";
  try { await crypto.subtle.exportKey("pkcs8", kept.privateKey); exported = "exported"; } catch (e) {}
  const bad = await s.importKeyFile("x", "not a key", "notes.txt").then(() => "taken", (e) => e.message);
  return { publicKey: made.publicKey, same: kept.publicKey === made.publicKey, exported, bad };
}"""


def test_a_key_made_in_the_browser_is_kept_and_cannot_be_exported(page: Page) -> None:
    got = page.evaluate(GENERATE)
    assert len(got["publicKey"]) == 44
    assert got["same"]
    assert got["exported"] == "refused"
    assert got["bad"].startswith("notes.txt: not a private key file")


# -- the quorum ---------------------------------------------------------------------------

ORIGIN = "test.clearance/log"
NAMES = {p: f"witness.{p.lower()}.test" for p in ("US", "NE", "FR")}

CHECK_QUORUM = """async ([note, policy]) => {
  const a = await import("/web/audit.js");
  try {
    return { ok: true, detail: await a.checkQuorum(note, await a.parsePolicy(policy)) };
  } catch (e) {
    return { ok: false, detail: e.message };
  }
}"""


def seeded(label: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(label.encode()).digest())


def quorum_cases() -> tuple[str, list[tuple[str, str, bool]]]:
    log = seeded("log")
    witnesses = {p: seeded(f"witness {p}") for p in NAMES}
    policy = "\n".join(
        [
            f"log {vkey(ORIGIN, log.public_key())}",
            *(f"witness {p} {cosigner_vkey(NAMES[p], k.public_key())}" for p, k in witnesses.items()),
            "group parties 2 US NE FR",
            "quorum parties",
        ]
    ) + "\n"  # fmt: skip
    body = format_checkpoint(ORIGIN, 5, hashlib.sha256(b"root").digest())
    other = format_checkpoint(ORIGIN, 5, hashlib.sha256(b"another root").digest())
    note = sign_note(body, ORIGIN, log)

    def by(*parties: str, over: str = body, key: dict[str, Ed25519PrivateKey] | None = None) -> str:
        keys = key or witnesses
        return note + "".join(cosign(over, NAMES[p], keys[p], 1_700_000_000) for p in parties)

    intruders = {p: seeded(f"intruder {p}") for p in NAMES}
    cases = [
        ("two of three", by("US", "NE"), True),
        ("all three", by("US", "NE", "FR"), True),
        ("one", by("FR"), False),
        ("none", note, False),
        ("two, one over another tree", by("US") + cosign(other, NAMES["NE"], witnesses["NE"], 1), False),
        ("two by keys the policy does not name", by("US", "NE", key=intruders), False),
    ]  # fmt: skip
    return policy, cases


def test_the_audit_check_requires_the_witness_quorum_as_the_python_verifier_does(
    page: Page,
) -> None:
    policy, cases = quorum_cases()
    parsed = parse_policy(policy, "policy")
    assert parse_policy(parsed.text(), "again") == parsed  # served as the deployment reads it
    results: dict[str, Any] = {}
    for label, note, meets in cases:
        got = page.evaluate(CHECK_QUORUM, [note, policy])
        results[label] = got
        assert got["ok"] is meets, (label, got)
        try:
            check_quorum(parsed, note)
            python_ok = True
        except QuorumError:
            python_ok = False
        assert python_ok is meets, label  # the two verifiers agree
    assert results["two of three"]["detail"] == (
        "cosigned by NE, US, meeting the quorum parties (2 of US, NE, FR)"
    )
    assert results["one"]["detail"] == (
        "cosigned by FR: short of the quorum parties (2 of US, NE, FR)"
    )
