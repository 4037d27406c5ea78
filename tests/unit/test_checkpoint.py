"""Checkpoints (c2sp.org/tlog-checkpoint) in Ed25519 signed notes (c2sp.org/signed-note)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clearance.domain.ledger.checkpoint import (
    Checkpoint,
    NoteError,
    SignatureError,
    format_checkpoint,
    key_id,
    open_checkpoint,
    parse_checkpoint,
    parse_vkey,
    read_checkpoint,
    sign_note,
    verify_note,
    vkey,
)
from clearance.domain.ledger.merkle import EMPTY_ROOT, ProofError, leaf_hash, root_hash

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "merkle"  # vendored; see its README
ORIGIN = "clearance.example/audit"
ROOT = root_hash([leaf_hash(b"%d" % i) for i in range(7)])
KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"test signing key").digest())
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"another key").digest())
EM = "\u2014"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# -- checkpoint bodies --------------------------------------------------------------------


def test_a_checkpoint_body_is_origin_size_and_base64_root_on_three_lines() -> None:
    text = format_checkpoint(ORIGIN, 7, ROOT)
    assert text == f"{ORIGIN}\n7\n{b64(ROOT)}\n"
    assert parse_checkpoint(text) == (ORIGIN, 7, ROOT)


def test_a_checkpoint_round_trips_with_extension_lines_and_the_empty_tree() -> None:
    text = format_checkpoint(ORIGIN, 0, EMPTY_ROOT, ["ext one", "ext two"])
    assert text.endswith("\next one\next two\n")
    assert read_checkpoint(text) == Checkpoint(ORIGIN, 0, EMPTY_ROOT, ("ext one", "ext two"))
    assert read_checkpoint(text).text() == text
    big = format_checkpoint(ORIGIN, 2**63, ROOT)
    assert parse_checkpoint(big) == (ORIGIN, 2**63, ROOT)


def test_the_c2sp_example_checkpoint_body_parses() -> None:
    text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    origin, size, root = parse_checkpoint(text)
    assert (origin, size, len(root)) == ("example.com/behind-the-sofa", 20852163, 32)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (f"{ORIGIN}\n7\n{b64(ROOT)}", "no final newline"),
        (f"{ORIGIN}\n7\n", "two lines"),
        (f"\n7\n{b64(ROOT)}\n", "empty origin"),
        (f"{ORIGIN}\n07\n{b64(ROOT)}\n", "leading zero"),
        (f"{ORIGIN}\n-7\n{b64(ROOT)}\n", "negative size"),
        (f"{ORIGIN}\n+7\n{b64(ROOT)}\n", "plus sign"),
        (f"{ORIGIN}\n 7\n{b64(ROOT)}\n", "space before size"),
        (f"{ORIGIN}\n7.0\n{b64(ROOT)}\n", "not an integer"),
        (f"{ORIGIN}\n\u0667\n{b64(ROOT)}\n", "non-ASCII digit"),
        (f"{ORIGIN}\n7\n{b64(ROOT[:31])}\n", "31-byte root"),
        (f"{ORIGIN}\n7\n{b64(ROOT + b'x')}\n", "33-byte root"),
        (f"{ORIGIN}\n7\n{b64(ROOT).rstrip('=')}\n", "unpadded base64"),
        (f"{ORIGIN}\n7\n{b64(ROOT).replace('+', '-').replace('/', '_')}\n", "url-safe base64"),
        (f"{ORIGIN}\n7\n {b64(ROOT)}\n", "space in root"),
        (f"{ORIGIN}\n7\n{b64(ROOT)}\n\nextension\n", "empty extension line"),
        (f"{ORIGIN}\n7\n{b64(ROOT)}\n\n", "trailing blank line"),
        (f"{ORIGIN}\r\n7\n{b64(ROOT)}\n", "carriage return"),
        (f"{ORIGIN}\t\n7\n{b64(ROOT)}\n", "tab"),
    ],
)
def test_a_malformed_checkpoint_body_is_rejected(text: str, why: str) -> None:
    with pytest.raises(NoteError):
        parse_checkpoint(text)


def test_a_non_canonical_base64_root_is_rejected() -> None:
    good = b64(ROOT)  # 32 bytes: 43 characters + "=", the last one carrying 2 spare bits
    last = good[-2]
    bent = (
        good[:-2]
        + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[
            ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".index(last) ^ 1)
        ]
        + "="
    )
    assert base64.b64decode(bent) == ROOT
    with pytest.raises(NoteError, match="canonical"):
        parse_checkpoint(f"{ORIGIN}\n7\n{bent}\n")


@pytest.mark.parametrize(
    ("origin", "size", "root", "extensions"),
    [
        ("", 1, ROOT, ()),
        ("a\nb", 1, ROOT, ()),
        (ORIGIN, -1, ROOT, ()),
        (ORIGIN, True, ROOT, ()),
        (ORIGIN, 1, ROOT[:31], ()),
        (ORIGIN, 1, ROOT, ("",)),
        (ORIGIN, 1, ROOT, ("two\nlines",)),
        ("bell\x07", 1, ROOT, ()),
    ],
)
def test_a_checkpoint_that_would_not_parse_is_not_formatted(
    origin: str, size: int, root: bytes, extensions: tuple[str, ...]
) -> None:
    with pytest.raises(NoteError):
        format_checkpoint(origin, size, root, extensions)


# -- keys ---------------------------------------------------------------------------------


def test_the_c2sp_example_verifier_key_parses_and_re_encodes() -> None:
    example = json.loads((VECTORS / "signed_note_example.json").read_text(encoding="utf-8"))
    name, public_key = parse_vkey(example["vkey"])
    assert name == "example.com/foo"
    assert key_id(name, public_key).hex() == "530d903a"
    assert vkey(name, public_key) == example["vkey"]


def test_the_key_id_is_the_first_four_bytes_of_sha256_of_name_newline_type_and_key() -> None:
    raw = parse_vkey(vkey(ORIGIN, KEY.public_key()))[1]
    public = base64.b64decode(vkey(ORIGIN, raw).split("+", 2)[2])[1:]
    want = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + public).digest()[:4]
    assert key_id(ORIGIN, KEY.public_key()) == want
    assert key_id(ORIGIN, public) == want
    assert vkey(ORIGIN, public).split("+")[1] == want.hex()


def test_a_verifier_key_whose_base64_contains_plus_round_trips() -> None:
    seeds = (hashlib.sha256(b"plus %d" % i).digest() for i in range(64))
    keys = [Ed25519PrivateKey.from_private_bytes(seed).public_key() for seed in seeds]
    with_plus = [vkey(ORIGIN, k) for k in keys if "+" in vkey(ORIGIN, k).split("+", 2)[2]]
    assert with_plus
    for text in with_plus:
        assert vkey(*parse_vkey(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        "example.com/foo+530d903a",
        "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/fo0+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U",
        "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
    ],
    ids=["no key", "wrong id", "wrong name", "upper-case id", "wrong type", "short key", "no name"],
)
def test_a_bad_verifier_key_is_rejected(text: str) -> None:
    with pytest.raises(NoteError):
        parse_vkey(text)


@pytest.mark.parametrize("name", ["", "has space", "has+plus", "nbsp\u00a0", "tab\t"])
def test_a_key_name_with_spaces_or_plus_is_refused(name: str) -> None:
    with pytest.raises(NoteError):
        key_id(name, KEY.public_key())
    with pytest.raises(NoteError):
        sign_note("text\n", name, KEY)


# -- signed notes -------------------------------------------------------------------------


def test_the_c2sp_example_signed_note_verifies() -> None:
    example = json.loads((VECTORS / "signed_note_example.json").read_text(encoding="utf-8"))
    name, public_key = parse_vkey(example["vkey"])
    assert verify_note(example["signed_note"], name, public_key) == example["note_text"]
    tampered = example["signed_note"].replace("example message", "example massage")
    with pytest.raises(SignatureError):
        verify_note(tampered, name, public_key)


def test_a_signed_checkpoint_is_text_blank_line_and_an_em_dash_signature_line() -> None:
    body = format_checkpoint(ORIGIN, 7, ROOT)
    note = sign_note(body, ORIGIN, KEY)
    text, sig_line = note.split("\n\n")
    assert text + "\n" == body
    assert sig_line.startswith(f"{EM} {ORIGIN} ")
    assert sig_line.endswith("\n")
    raw = base64.b64decode(sig_line.split(" ")[2].rstrip("\n"), validate=True)
    assert len(raw) == 4 + 64
    assert raw[:4] == key_id(ORIGIN, KEY.public_key())
    KEY.public_key().verify(raw[4:], body.encode())  # the signature covers the text only
    assert verify_note(note, ORIGIN, KEY.public_key()) == body
    assert open_checkpoint(note, ORIGIN, KEY.public_key(), origin=ORIGIN) == Checkpoint(
        ORIGIN, 7, ROOT
    )


def test_a_note_whose_text_has_blank_lines_keeps_them() -> None:
    text = "first\n\nthird\n"
    assert verify_note(sign_note(text, ORIGIN, KEY), ORIGIN, KEY.public_key()) == text


def test_signatures_by_unknown_keys_are_ignored() -> None:
    body = format_checkpoint(ORIGIN, 7, ROOT)
    ours = sign_note(body, ORIGIN, KEY).split("\n\n")[1]
    witness = sign_note(body, "witness.example/w1", OTHER_KEY).split("\n\n")[1]
    same_name_other_key = sign_note(body, ORIGIN, OTHER_KEY).split("\n\n")[1]
    note = body + "\n" + witness + same_name_other_key + ours
    assert verify_note(note, ORIGIN, KEY.public_key()) == body
    assert verify_note(note, "witness.example/w1", OTHER_KEY.public_key()) == body


def test_a_tampered_text_is_rejected() -> None:
    note = sign_note(format_checkpoint(ORIGIN, 7, ROOT), ORIGIN, KEY)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_note(note.replace("\n7\n", "\n8\n"), ORIGIN, KEY.public_key())


def test_a_note_signed_by_another_key_or_name_is_rejected() -> None:
    note = sign_note(format_checkpoint(ORIGIN, 7, ROOT), ORIGIN, KEY)
    with pytest.raises(SignatureError, match="no signature"):
        verify_note(note, ORIGIN, OTHER_KEY.public_key())
    with pytest.raises(SignatureError, match="no signature"):
        verify_note(note, "clearance.example/other", KEY.public_key())


def test_a_bad_signature_from_the_known_key_rejects_the_note_even_beside_a_good_one() -> None:
    body = format_checkpoint(ORIGIN, 7, ROOT)
    good = sign_note(body, ORIGIN, KEY).split("\n\n")[1]
    kid = key_id(ORIGIN, KEY.public_key())
    forged = f"{EM} {ORIGIN} {b64(kid + bytes(64))}\n"
    with pytest.raises(SignatureError, match="does not verify"):
        verify_note(body + "\n" + good + forged, ORIGIN, KEY.public_key())
    short = f"{EM} {ORIGIN} {b64(kid + bytes(63))}\n"
    with pytest.raises(SignatureError, match="not an Ed25519"):
        verify_note(body + "\n" + good + short, ORIGIN, KEY.public_key())


def _note() -> tuple[str, str]:
    body = format_checkpoint(ORIGIN, 7, ROOT)
    return body, sign_note(body, ORIGIN, KEY).split("\n\n")[1]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda body, sig: body + sig,  # no blank line
        lambda body, sig: body + "\n" + sig[:-1],  # no final newline
        lambda body, sig: body + "\n",  # no signature lines
        lambda body, sig: body + "\n" + sig.replace(EM, "-", 1),  # hyphen, not em dash
        lambda body, sig: body + "\n" + sig.replace(EM, "\u2013", 1),  # en dash
        lambda body, sig: body + "\n" + sig.replace(f"{EM} ", EM, 1),  # no space after dash
        lambda body, sig: body + "\n" + sig.replace(" ", "  ", 1),  # two spaces
        lambda body, sig: body + "\n" + sig.replace("=", "", 1),  # unpadded base64
        lambda body, sig: body + "\n" + sig[:-2] + "!\n",  # not base64
        lambda body, sig: body + "\n" + sig[:-1] + " extra\n",  # trailing field
        lambda body, sig: body + "\n" + f"{EM} {ORIGIN} {b64(b'abcd')}\n",  # key ID only
        lambda body, sig: body + "\n" + f"{EM} {ORIGIN}\n",  # no signature field
        lambda body, sig: body + "\n" + sig + "\n",  # blank line after signatures
        lambda body, sig: body + "\n" + sig + "trailing text\n",  # text after signatures
        lambda body, sig: body.replace("7", "7\x00") + "\n" + sig,  # control character
        lambda body, sig: body + "\n" + sig.replace("\n", "\r\n"),  # CRLF
        lambda body, sig: body + "\n" + sig * 101,  # too many signatures
    ],
    ids=[
        "no-blank-line",
        "no-final-newline",
        "no-signatures",
        "hyphen",
        "en-dash",
        "no-space-after-dash",
        "two-spaces",
        "unpadded-base64",
        "not-base64",
        "extra-field",
        "key-id-only",
        "no-signature-field",
        "blank-line-after-signatures",
        "text-after-signatures",
        "control-character",
        "crlf",
        "too-many-signatures",
    ],
)
def test_a_malformed_signed_note_is_rejected(mangle: object) -> None:
    body, sig = _note()
    note = mangle(body, sig)  # type: ignore[operator]
    with pytest.raises(ProofError):
        verify_note(note, ORIGIN, KEY.public_key())


def test_the_good_note_behind_the_malformed_cases_verifies() -> None:
    body, sig = _note()
    assert verify_note(body + "\n" + sig, ORIGIN, KEY.public_key()) == body


def test_only_text_ending_in_a_newline_without_control_characters_is_signed() -> None:
    for text in ("no newline", "tab\there\n", "carriage\r\n", "surrogate \udc80\n"):
        with pytest.raises(NoteError):
            sign_note(text, ORIGIN, KEY)


def test_open_checkpoint_rejects_a_signed_body_from_another_origin() -> None:
    note = sign_note(format_checkpoint("other.example/log", 7, ROOT), ORIGIN, KEY)
    with pytest.raises(NoteError, match="origin"):
        open_checkpoint(note, ORIGIN, KEY.public_key(), origin=ORIGIN)
    bad_body = sign_note("not a checkpoint\n", ORIGIN, KEY)
    with pytest.raises(NoteError):
        open_checkpoint(bad_body, ORIGIN, KEY.public_key())
