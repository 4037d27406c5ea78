"""The page's own audit verifier (web/audit.js), run in Chromium against the domain's
Merkle tree and checkpoints: every inclusion proof of every tree up to 33 leaves leads
to the root, every altered proof, leaf, index or size does not, and signed notes verify
only with the right key and text."""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import Page

from clearance.domain.ledger.checkpoint import format_checkpoint, sign_note
from clearance.domain.ledger.disclosure import check_disclosure, seal_request_entry
from clearance.domain.ledger.merkle import (
    ProofError,
    inclusion_proof_for,
    leaf_hash,
    root_hash,
    verify_inclusion,
)
from tests.e2e.pagekit import browser, page, site

__all__ = ["browser", "page", "site"]  # fixtures

MAX_SIZE = 33

CHECK_PROOFS = """async (cases) => {
  const m = await import("/web/audit.js");
  const b = m.fromBase64;
  const out = [];
  for (const c of cases) {
    let got;
    try {
      const root = await m.rootFromInclusionProof(b(c.leaf), c.index, c.size, c.proof.map(b));
      got = btoa(String.fromCharCode(...root)) === c.root;
    } catch (e) {
      got = false;
    }
    out.push(got);
  }
  return out;
}"""


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def proof_cases() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    good, bad = [], []
    for size in range(1, MAX_SIZE + 1):
        leaves = [leaf_hash(f"entry {i}".encode()) for i in range(size)]
        root = b64(root_hash(leaves))
        for index in range(size):
            proof = [b64(h) for h in inclusion_proof_for(index, leaves)]
            case = {"leaf": b64(leaves[index]), "index": index, "size": size, "proof": proof}
            good.append(case | {"root": root})
            other = (index + 1) % size
            if other != index:
                bad.append(case | {"root": root, "leaf": b64(leaves[other]), "what": "leaf"})
                bad.append(case | {"root": root, "index": other, "what": "index"})
            bad.append(case | {"root": root, "size": size + 1, "what": "size"})
            if proof:
                flipped = bytearray(base64.b64decode(proof[-1]))
                flipped[0] ^= 1
                altered = [*proof[:-1], b64(bytes(flipped))]
                bad.append(case | {"root": root, "proof": altered, "what": "hash"})
                bad.append(case | {"root": root, "proof": proof[:-1], "what": "shorter"})
            bad.append(case | {"root": root, "proof": [*proof, root], "what": "longer"})
    return good, bad


def python_verdict(case: dict[str, Any]) -> bool:
    """What the domain's RFC 9162 verifier says of the case."""
    try:
        verify_inclusion(
            base64.b64decode(case["leaf"]),
            case["index"],
            case["size"],
            [base64.b64decode(h) for h in case["proof"]],
            base64.b64decode(case["root"]),
        )
    except ProofError:
        return False
    return True


def test_every_inclusion_proof_verifies_and_altered_ones_fail_as_in_the_domain(
    page: Page,
) -> None:
    good, bad = proof_cases()
    assert len(good) == MAX_SIZE * (MAX_SIZE + 1) // 2
    assert all(page.evaluate(CHECK_PROOFS, good))
    results = page.evaluate(CHECK_PROOFS, bad)
    expected = [python_verdict(c) for c in bad]
    assert results == expected
    # A proof binds a leaf to a root, not to a size: claiming size 4 for the tree of 3
    # leaves can lead to the same root. The signed checkpoint is what binds the size.
    assert not any(ok for c, ok in zip(bad, results, strict=True) if c["what"] != "size")
    assert results.count(False) > 0.8 * len(bad)


CHECK_NOTE = """async ([note, name, key]) => {
  const m = await import("/web/audit.js");
  try {
    const parsed = await m.verifyNote(note, name, m.fromBase64(key));
    return { ok: true, size: parsed.size };
  } catch (e) {
    return { ok: false, why: e.message };
  }
}"""


def test_signed_checkpoints_verify_only_with_the_right_key_and_text(page: Page) -> None:
    key = Ed25519PrivateKey.generate()
    public = b64(key.public_key().public_bytes_raw())
    origin = "test.clearance/log"
    body = format_checkpoint(origin, 7, root_hash([leaf_hash(b"x")] * 7))
    note = sign_note(body, origin, key)
    assert page.evaluate(CHECK_NOTE, [note, origin, public]) == {"ok": True, "size": 7}

    stranger = b64(Ed25519PrivateKey.generate().public_key().public_bytes_raw())
    refused = page.evaluate(CHECK_NOTE, [note, origin, stranger])
    assert refused == {"ok": False, "why": f"the checkpoint carries no signature by {origin}"}
    renamed = page.evaluate(CHECK_NOTE, [note, "other.log", public])
    assert renamed["ok"] is False
    grown = note.replace("\n7\n", "\n8\n", 1)
    assert grown != note
    assert page.evaluate(CHECK_NOTE, [grown, origin, public]) == {
        "ok": False,
        "why": "the checkpoint's signature does not verify",
    }
    unsigned = note[: note.rindex("\n\n") + 2]
    assert page.evaluate(CHECK_NOTE, [unsigned, origin, public])["ok"] is False


CHECK_DISCLOSURES = """async (cases) => {
  const m = await import("/web/audit.js");
  const out = [];
  for (const d of cases) out.push(await m.checkDisclosure(d));
  return out;
}"""


def test_disclosures_check_in_the_page_as_in_the_domain_and_changed_ones_do_not(
    page: Page,
) -> None:
    """The page's checkDisclosure agrees with the domain's commitments on values of every
    JSON kind (nested objects with unsorted and non-ASCII keys, floats, a whole request
    document), and refuses a changed value or salt."""
    values: list[Any] = [
        "fine, keep clear of the wadi",
        {"text": "stay above 3000 m", "time_start": None, "volume": None, "é": 1, "a": [1.5]},
        ["reason one", "reason two — ünïcode"],
        {"volumes": [{"radius": {"value": 25000.0, "units": "M"}, "lat": 14.32}], "z": True},
        [[13.512345, 2.1], [13.6, -0.000001]],
        12,
    ]
    sealed = [seal_request_entry("request.submitted", {"by": None}, v)[1][0] for v in values]
    good = [d.to_json() for d in sealed]
    assert all(check_disclosure(d) for d in good)
    assert page.evaluate(CHECK_DISCLOSURES, good) == [True] * len(good)
    changed = [d | {"value": "other"} for d in good] + [
        d | {"salt": good[(i + 1) % len(good)]["salt"]} for i, d in enumerate(good)
    ]
    assert page.evaluate(CHECK_DISCLOSURES, changed) == [False] * len(changed)
