"""Witnesses: the tlog-witness add-checkpoint body, the witness's decision and
tlog-cosignature/v1 cosignatures (c2sp.org/tlog-witness, c2sp.org/tlog-cosignature)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from clearance.domain.ledger.checkpoint import NoteError, format_checkpoint, sign_note, vkey
from clearance.domain.ledger.merkle import (
    EMPTY_ROOT,
    consistency_proof_for,
    leaf_hash,
    root_hash,
)
from clearance.domain.ledger.witness import (
    AddCheckpoint,
    CosignatureError,
    InconsistentCheckpointError,
    LogKey,
    MalformedSubmissionError,
    OldSizeError,
    UnknownLogError,
    UnsignedCheckpointError,
    Witnessed,
    add_checkpoint_body,
    check_submission,
    cosign,
    cosignature_message,
    cosigner_key_id,
    cosigner_vkey,
    find_cosignature,
    parse_add_checkpoint,
    parse_cosigner_vkey,
    parse_signature_line,
    split_note,
)

ORIGIN = "clearance.example/log"
LOG_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"log key").digest())
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"forger").digest())
WITNESS_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"witness").digest())
WITNESS = "witness.example/w1"
LOGS = {ORIGIN: [LogKey(ORIGIN, LOG_KEY.public_key().public_bytes_raw())]}
LEAVES = [leaf_hash(b"entry %d" % i) for i in range(20)]

# The example request body of c2sp.org/tlog-witness (signatures from its keys).
SPEC_BODY = (
    "old 20852014\n"
    "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
    "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
    "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
    "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"
    "\n"
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5"
    "/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    "\u2014 example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks"
    "+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n"
)
# The example cosignature of c2sp.org/tlog-cosignature, and the message it documents.
SPEC_COSIGNATURE = (
    "\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dl"
    "rDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA=="
)
SPEC_CHECKPOINT = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)


def checkpoint_note(
    size: int, key: Ed25519PrivateKey = LOG_KEY, leaves: list[bytes] = LEAVES
) -> str:
    root = root_hash(leaves[:size]) if size else EMPTY_ROOT
    return sign_note(format_checkpoint(ORIGIN, size, root), ORIGIN, key)


def submission(old: int, size: int, leaves: list[bytes] = LEAVES) -> AddCheckpoint:
    proof = consistency_proof_for(old, size, leaves) if 0 < old < size else []
    return parse_add_checkpoint(
        add_checkpoint_body(old, proof, checkpoint_note(size, leaves=leaves))
    )


def witnessed(size: int, leaves: list[bytes] = LEAVES) -> Witnessed:
    return Witnessed(size, root_hash(leaves[:size]))


# -- the request body ---------------------------------------------------------------------


def test_the_spec_example_body_parses() -> None:
    parsed = parse_add_checkpoint(SPEC_BODY.encode())
    assert parsed.old_size == 20852014
    assert len(parsed.proof) == 4
    assert parsed.proof[0] == base64.b64decode("PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=")
    assert parsed.note.startswith("example.com/behind-the-sofa\n20852163\n")
    text, lines = split_note(parsed.note)
    assert text == SPEC_CHECKPOINT
    assert [parse_signature_line(line)[0] for line in lines] == ["example.com/behind-the-sofa"] * 2


def test_a_body_round_trips() -> None:
    note = checkpoint_note(7)
    proof = consistency_proof_for(3, 7, LEAVES)
    assert parse_add_checkpoint(add_checkpoint_body(3, proof, note)) == AddCheckpoint(
        3, tuple(proof), note
    )


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        (b"\xff\xfe", "not UTF-8"),
        (b"old 3\n", "an empty line"),
        (b"new 3\n\nx\n", "'old <size>'"),
        (b"old 03\n\nx\n", "leading zeroes"),
        (b"old -1\n\nx\n", "leading zeroes"),
        (b"old 3 \n\nx\n", "leading zeroes"),
        (b"old 3\nnot base64!\n\nx\n", "line 2: a consistency proof line is not standard base64"),
        (b"old 3\nAAAA\n\nx\n", "line 2: a proof hash is 32 bytes, got 3"),
        (b"old 3\n\n", "no checkpoint"),
        (
            b"old 3\n" + b"".join([base64.b64encode(bytes(32)) + b"\n"] * 64) + b"\nx\n",
            "at most 63",
        ),
    ],
)
def test_a_malformed_body_is_refused_naming_the_rule(body: bytes, rule: str) -> None:
    with pytest.raises(MalformedSubmissionError, match=rule):
        parse_add_checkpoint(body)


# -- the witness's decision ---------------------------------------------------------------


def test_the_first_checkpoint_is_accepted_from_size_zero() -> None:
    body, checkpoint = check_submission(submission(0, 5), LOGS, None)
    assert checkpoint.size == 5
    assert body == checkpoint.text()


def test_a_consistent_extension_is_accepted() -> None:
    _, checkpoint = check_submission(submission(5, 13), LOGS, witnessed(5))
    assert checkpoint.size == 13


def test_the_same_checkpoint_again_is_accepted() -> None:
    _, checkpoint = check_submission(submission(5, 5), LOGS, witnessed(5))
    assert checkpoint.size == 5


def test_an_unknown_origin_is_404() -> None:
    with pytest.raises(UnknownLogError, match=ORIGIN):
        check_submission(submission(0, 5), {"other.example/log": LOGS[ORIGIN]}, None)


def test_a_checkpoint_signed_by_another_key_is_403() -> None:
    forged = AddCheckpoint(0, (), checkpoint_note(5, key=OTHER_KEY))
    with pytest.raises(UnsignedCheckpointError, match="no signature by the log's key"):
        check_submission(forged, LOGS, None)


def test_a_bad_signature_by_the_log_key_is_403() -> None:
    note = checkpoint_note(5)
    _text, sig = note.split("\n\n")
    altered = format_checkpoint(ORIGIN, 6, root_hash(LEAVES[:6])) + "\n" + sig
    with pytest.raises(UnsignedCheckpointError, match="does not verify"):
        check_submission(AddCheckpoint(0, (), altered), LOGS, None)


def test_an_old_size_above_the_checkpoint_is_400() -> None:
    with pytest.raises(MalformedSubmissionError, match="greater than"):
        check_submission(AddCheckpoint(6, (), checkpoint_note(5)), LOGS, witnessed(6))


def test_a_stale_old_size_is_409_with_the_witness_size() -> None:
    with pytest.raises(OldSizeError) as refused:
        check_submission(submission(3, 13), LOGS, witnessed(5))
    assert refused.value.size == 5
    with pytest.raises(OldSizeError) as first:
        check_submission(submission(3, 13), LOGS, None)
    assert first.value.size == 0


def test_a_rollback_is_refused() -> None:
    # a log presenting an older tree: the honest old size is above its size
    with pytest.raises(MalformedSubmissionError, match="greater than"):
        check_submission(AddCheckpoint(13, (), checkpoint_note(5)), LOGS, witnessed(13))
    # and claiming an older old size is a conflict naming what the witness holds
    with pytest.raises(OldSizeError) as refused:
        check_submission(submission(3, 5), LOGS, witnessed(13))
    assert refused.value.size == 13


def test_a_split_view_at_the_same_size_is_refused_naming_both_roots() -> None:
    other = [*LEAVES[:4], leaf_hash(b"rewritten"), *LEAVES[5:]]
    with pytest.raises(InconsistentCheckpointError, match="split view") as refused:
        check_submission(submission(8, 8, leaves=other), LOGS, witnessed(8))
    message = str(refused.value)
    assert base64.b64encode(root_hash(LEAVES[:8])).decode() in message
    assert base64.b64encode(root_hash(other[:8])).decode() in message


def test_a_rewritten_entry_fails_the_consistency_proof() -> None:
    # the log rewrites entry 4 and signs a new, larger tree; its honest-looking proof
    # from 8 cannot lead to the root the witness cosigned
    rewritten = [*LEAVES[:4], leaf_hash(b"rewritten"), *LEAVES[5:]]
    with pytest.raises(InconsistentCheckpointError, match="does not extend"):
        check_submission(submission(8, 13, leaves=rewritten), LOGS, witnessed(8))


def test_a_tampered_proof_is_refused() -> None:
    good = submission(5, 13)
    bad = AddCheckpoint(5, (bytes(32), *good.proof[1:]), good.note)
    with pytest.raises(InconsistentCheckpointError):
        check_submission(bad, LOGS, witnessed(5))


def test_a_proof_from_size_zero_is_refused() -> None:
    bad = AddCheckpoint(0, (bytes(32),), checkpoint_note(5))
    with pytest.raises(InconsistentCheckpointError, match="size 0 must be empty"):
        check_submission(bad, LOGS, None)


def test_size_zero_needs_the_empty_root() -> None:
    assert check_submission(AddCheckpoint(0, (), checkpoint_note(0)), LOGS, None)[1].size == 0
    wrong = sign_note(format_checkpoint(ORIGIN, 0, bytes(32)), ORIGIN, LOG_KEY)
    with pytest.raises(InconsistentCheckpointError, match="empty tree"):
        check_submission(AddCheckpoint(0, (), wrong), LOGS, None)


def test_a_checkpoint_that_is_not_a_note_is_400() -> None:
    with pytest.raises(MalformedSubmissionError, match="checkpoint"):
        check_submission(AddCheckpoint(0, (), "clearance.example/log\n5\n"), LOGS, None)


# -- cosignatures -------------------------------------------------------------------------


def test_the_spec_cosignature_decodes_to_its_documented_timestamp() -> None:
    name, raw = parse_signature_line(SPEC_COSIGNATURE)
    assert name == "witness.example.com/w1"
    assert len(raw) == 4 + 8 + 64
    assert struct.unpack(">Q", raw[4:12]) == (1679315147,)


def test_the_signed_message_is_the_spec_example() -> None:
    assert cosignature_message(SPEC_CHECKPOINT, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\n"
        b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )


def test_the_key_id_uses_type_0x04() -> None:
    public = WITNESS_KEY.public_key().public_bytes_raw()
    expected = hashlib.sha256(WITNESS.encode() + b"\n\x04" + public).digest()[:4]
    assert cosigner_key_id(WITNESS, public) == expected
    text = cosigner_vkey(WITNESS, public)
    assert text.split("+")[1] == expected.hex()
    assert parse_cosigner_vkey(text) == (WITNESS, public)
    with pytest.raises(NoteError, match="type 0x04"):
        parse_cosigner_vkey(vkey(WITNESS, public))  # a type 0x01 (log) key is not one


def test_a_cosignature_verifies_and_carries_its_time() -> None:
    body = format_checkpoint(ORIGIN, 5, root_hash(LEAVES[:5]))
    line = cosign(body, WITNESS, WITNESS_KEY, 1_700_000_000)
    public = WITNESS_KEY.public_key().public_bytes_raw()
    found = find_cosignature(body, [line.rstrip("\n")], WITNESS, public)
    assert found is not None
    assert found.timestamp == 1_700_000_000
    # the message is the cosignature/v1 one, not the bare note text
    _, raw = parse_signature_line(line.rstrip("\n"))
    WITNESS_KEY.public_key().verify(raw[12:], cosignature_message(body, 1_700_000_000))


def test_a_cosignature_on_another_body_fails() -> None:
    body = format_checkpoint(ORIGIN, 5, root_hash(LEAVES[:5]))
    other = format_checkpoint(ORIGIN, 6, root_hash(LEAVES[:6]))
    line = cosign(body, WITNESS, WITNESS_KEY, 1_700_000_000).rstrip("\n")
    public = WITNESS_KEY.public_key().public_bytes_raw()
    with pytest.raises(CosignatureError, match="does not verify"):
        find_cosignature(other, [line], WITNESS, public)


def test_a_log_signature_is_not_a_cosignature() -> None:
    # the same key used as a log key (type 0x01) has another key ID: ignored
    body = format_checkpoint(ORIGIN, 5, root_hash(LEAVES[:5]))
    note = sign_note(body, WITNESS, WITNESS_KEY)
    _, lines = split_note(note)
    public = WITNESS_KEY.public_key().public_bytes_raw()
    assert find_cosignature(body, lines, WITNESS, public) is None


def test_a_zero_timestamp_is_refused() -> None:
    with pytest.raises(NoteError, match="timestamp"):
        cosign(format_checkpoint(ORIGIN, 1, LEAVES[0]), WITNESS, WITNESS_KEY, 0)


# -- hostile bodies -------------------------------------------------------------------------

REFUSED = (
    MalformedSubmissionError,
    UnknownLogError,
    UnsignedCheckpointError,
    OldSizeError,
    InconsistentCheckpointError,
)


def _decide(body: bytes) -> None:
    # every refusal is one the HTTP layer maps to a 4xx; anything else fails the test
    with contextlib.suppress(*REFUSED):
        check_submission(parse_add_checkpoint(body), LOGS, witnessed(5))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_are_cosigned_or_refused_with_a_4xx_class(body: bytes) -> None:
    _decide(body)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=0, max_value=30),
    st.lists(st.binary(min_size=32, max_size=32), max_size=6),
    st.sampled_from([checkpoint_note(5), checkpoint_note(9), checkpoint_note(0)]),
    st.integers(min_value=0, max_value=400),
    st.text(max_size=8),
)
def test_a_mangled_request_is_cosigned_or_refused_with_a_4xx_class(
    old: int, proof: list[bytes], note: str, cut: int, junk: str
) -> None:
    body = add_checkpoint_body(old, proof, note)
    _decide(body[:cut] + junk.encode() + body[cut:])
