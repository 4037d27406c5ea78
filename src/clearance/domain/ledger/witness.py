"""Witnesses of the audit log: C2SP tlog-witness ``add-checkpoint`` and tlog-cosignature/v1.

A witness is a party that keeps, for each log it follows (known by its origin and public
key), the latest checkpoint it cosigned, and cosigns a new one only when a consistency
proof shows that the new tree extends that one (c2sp.org/tlog-witness). A log that
rewrites or drops an entry, rolls back, or shows two trees of one size to different
parties cannot get the same witness to cosign both.

The ``add-checkpoint`` request body::

    old <size the client believes the witness last cosigned>
    <base64 consistency proof hash>          (zero to 63 lines)
    <empty line>
    <the checkpoint, a signed note>

The witness's decision (:func:`check_submission`), in the spec's order; each refusal is
an error class the HTTP layer maps to the spec's status:

    malformed body, or old size > checkpoint size     MalformedSubmissionError     400
    origin unknown to the witness                     UnknownLogError              404
    no valid signature by the log's key               UnsignedCheckpointError      403
    old size != the size it last cosigned             OldSizeError (.size)         409
    size 0 with a root other than SHA-256("")         InconsistentCheckpointError  422
    a proof with old size 0; a proof that fails;      InconsistentCheckpointError  422
    the same size with another root (a split view)

(the classes live in :mod:`clearance.domain.errors`, the statuses in the witness's HTTP
layer, ``clearance.api.witness``).

A cosignature (c2sp.org/tlog-cosignature, Ed25519) is a signed-note signature line whose
key ID is ``SHA-256(name || 0x0A || 0x04 || public key)[:4]`` and whose signature is
``u64 timestamp (big-endian) || Ed25519 signature`` over::

    cosignature/v1
    time <timestamp>
    <the checkpoint body, extension lines included>
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from clearance.domain.errors import (
    CosignatureError,
    InconsistentCheckpointError,
    MalformedSubmissionError,
    OldSizeError,
    UnknownLogError,
    UnsignedCheckpointError,
)
from clearance.domain.ledger.checkpoint import (
    Checkpoint,
    NoteError,
    SignatureError,
    key_id,
    parse_typed_vkey,
    read_checkpoint,
    verify_note,
    vkey,
)
from clearance.domain.ledger.merkle import EMPTY_ROOT, HASH_SIZE, ProofError, verify_consistency

__all__ = [
    "COSIGNATURE_V1",
    "EMPTY_ROOT",
    "MAX_PROOF_LINES",
    "SIZE_MEDIA_TYPE",
    "AddCheckpoint",
    "Cosignature",
    "CosignatureError",
    "InconsistentCheckpointError",
    "LogKey",
    "MalformedSubmissionError",
    "OldSizeError",
    "UnknownLogError",
    "UnsignedCheckpointError",
    "Witnessed",
    "add_checkpoint_body",
    "check_submission",
    "cosign",
    "cosignature_message",
    "cosigner_key_id",
    "cosigner_vkey",
    "find_cosignature",
    "parse_add_checkpoint",
    "parse_cosigner_vkey",
    "parse_signature_line",
    "split_note",
    "with_cosignatures",
]

COSIGNATURE_V1 = 0x04  # signed-note signature type of Ed25519 tlog-cosignature/v1
MAX_PROOF_LINES = 63
MAX_TIMESTAMP = 2**63 - 1
SIZE_MEDIA_TYPE = "text/x.tlog.size"
_SIG_PREFIX = "\u2014 "
_SIZE_RE = re.compile(r"0|[1-9][0-9]*")
_ED25519_SIG_SIZE = 64


# -- refusals -------------------------------------------------------------------------


# -- signature lines --------------------------------------------------------------------


def _b64(text: str, what: str, error: type[Exception] = NoteError) -> bytes:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as e:
        raise error(f"{what} is not standard base64") from e
    if base64.b64encode(raw).decode("ascii") != text:
        raise error(f"{what} is not canonical base64")
    return raw


def parse_signature_line(line: str) -> tuple[str, bytes]:
    """``(key name, key ID || signature)`` of one note signature line (no newline)."""
    if not line.startswith(_SIG_PREFIX):
        raise NoteError("a signature line starts with an em dash and a space")
    name, sep, encoded = line[len(_SIG_PREFIX) :].partition(" ")
    if not sep or not name or " " in encoded:
        raise NoteError("a signature line is '\u2014 <key name> <base64 signature>'")
    raw = _b64(encoded, f"signature by {name}")
    if len(raw) < 5:
        raise NoteError(f"signature by {name} holds no 4-byte key ID and signature")
    return name, raw


def split_note(note: str) -> tuple[str, list[str]]:
    """``(text, signature lines)`` of a signed note: the text ends with its newline, the
    lines are without theirs."""
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("a signed note needs a blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise NoteError("a signed note ends with newline-terminated signature lines")
    lines = block[:-1].split("\n")
    for line in lines:
        parse_signature_line(line)
    return text, lines


# -- cosignatures -----------------------------------------------------------------------


def cosigner_key_id(name: str, public_key: Ed25519PublicKey | bytes) -> bytes:
    """SHA-256(name || 0x0A || 0x04 || 32-byte public key)[:4]."""
    return key_id(name, public_key, COSIGNATURE_V1)


def cosigner_vkey(name: str, public_key: Ed25519PublicKey | bytes) -> str:
    """A witness's verifier key: ``<name>+<hex key ID>+<base64(0x04 || public key)>``."""
    return vkey(name, public_key, COSIGNATURE_V1)


def parse_cosigner_vkey(text: str) -> tuple[str, bytes]:
    """``(name, 32-byte public key)`` of a witness's verifier key (type 0x04)."""
    return parse_typed_vkey(
        text,
        COSIGNATURE_V1,
        "a witness's verifier key is an Ed25519 cosignature key (type 0x04, 32 bytes)",
    )


def cosignature_message(body: str, timestamp: int) -> bytes:
    """What a cosigner signs: ``cosignature/v1\\ntime T\\n`` and the checkpoint body."""
    _check_timestamp(timestamp)
    if not body.endswith("\n"):
        raise NoteError("a checkpoint body ends with a newline")
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


def _check_timestamp(timestamp: int) -> None:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise NoteError(f"a cosignature timestamp is an integer, got {timestamp!r}")
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise NoteError(f"a cosignature timestamp is within 0..2^63-1, got {timestamp}")


def cosign(body: str, name: str, private_key: Ed25519PrivateKey, timestamp: int) -> str:
    """The cosignature line (with its newline) of ``name`` on checkpoint ``body``."""
    if timestamp == 0:
        raise NoteError("a witness's cosignature must not omit its timestamp (0)")
    signature = private_key.sign(cosignature_message(body, timestamp))
    raw = cosigner_key_id(name, private_key.public_key()) + struct.pack(">Q", timestamp)
    return f"{_SIG_PREFIX}{name} {base64.b64encode(raw + signature).decode('ascii')}\n"


@dataclass(frozen=True, slots=True)
class Cosignature:
    """A verified cosignature: who, when (POSIX seconds), and its line."""

    name: str
    timestamp: int
    line: str


def find_cosignature(
    body: str, lines: Sequence[str], name: str, public_key: bytes
) -> Cosignature | None:
    """The verified cosignature by (``name``, ``public_key``) among signature ``lines`` of
    the note whose text is ``body``; None when there is none. A line with that name and
    key ID that does not verify raises :class:`CosignatureError` (the note is malformed,
    per signed-note)."""
    expected = cosigner_key_id(name, public_key)
    key = Ed25519PublicKey.from_public_bytes(public_key)
    found: Cosignature | None = None
    for line in lines:
        signer, raw = parse_signature_line(line)
        if signer != name or raw[:4] != expected:
            continue
        if len(raw) != 4 + 8 + _ED25519_SIG_SIZE:
            raise CosignatureError(f"cosignature by {name} is not a timestamped Ed25519 one")
        (timestamp,) = struct.unpack(">Q", raw[4:12])
        if timestamp > MAX_TIMESTAMP:
            raise CosignatureError(f"cosignature by {name} has a timestamp above 2^63-1")
        try:
            key.verify(raw[12:], cosignature_message(body, timestamp))
        except InvalidSignature:
            raise CosignatureError(f"cosignature by {name} does not verify") from None
        if found is None or timestamp > found.timestamp:
            found = Cosignature(name, timestamp, line)
    return found


def with_cosignatures(note: str, lines: Iterable[str]) -> str:
    """``note`` with the signature ``lines`` (each with or without its newline) added; a
    line by the same key name and key ID as one already there replaces it."""
    text, kept = split_note(note)
    added = [line.rstrip("\n") for line in lines]
    for line in added:
        parse_signature_line(line)
    replaced = {_signer(line) for line in added}
    merged = [line for line in kept if _signer(line) not in replaced] + added
    return text + "\n" + "".join(line + "\n" for line in merged)


def _signer(line: str) -> tuple[str, bytes]:
    name, raw = parse_signature_line(line)
    return name, raw[:4]


# -- add-checkpoint ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddCheckpoint:
    """A parsed add-checkpoint request: the old size, the consistency proof and the
    checkpoint (a signed note, as sent)."""

    old_size: int
    proof: tuple[bytes, ...]
    note: str


def add_checkpoint_body(old_size: int, proof: Sequence[bytes], note: str) -> bytes:
    """The request body a log sends to a witness."""
    lines = [f"old {old_size}", *(base64.b64encode(p).decode("ascii") for p in proof)]
    return ("".join(line + "\n" for line in lines) + "\n" + note).encode("utf-8")


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """Parse an add-checkpoint body strictly; raise :class:`MalformedSubmissionError` naming
    the line and the rule."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedSubmissionError("the body is not UTF-8", field="body") from None
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise MalformedSubmissionError(
            "the body is an old size line, proof lines, an empty line and a checkpoint",
            field="body",
        )
    lines = head.split("\n")
    first = lines[0]
    if not first.startswith("old "):
        raise MalformedSubmissionError("must be 'old <size>'", field="line 1")
    size_text = first[4:]
    if not _SIZE_RE.fullmatch(size_text):
        raise MalformedSubmissionError(
            f"old size {size_text!r} is not a decimal without leading zeroes", field="line 1"
        )
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise MalformedSubmissionError(
            f"at most {MAX_PROOF_LINES} consistency proof lines, got {len(lines) - 1}",
            field="body",
        )
    proof: list[bytes] = []
    for number, line in enumerate(lines[1:], start=2):
        try:
            raw = _b64(line, "a consistency proof line", MalformedSubmissionError)
        except MalformedSubmissionError as e:
            raise MalformedSubmissionError(e.rule, field=f"line {number}") from None
        if len(raw) != HASH_SIZE:
            raise MalformedSubmissionError(
                f"a proof hash is {HASH_SIZE} bytes, got {len(raw)}", field=f"line {number}"
            )
        proof.append(raw)
    if not note:
        raise MalformedSubmissionError("no checkpoint after the empty line", field="checkpoint")
    return AddCheckpoint(int(size_text), tuple(proof), note)


@dataclass(frozen=True, slots=True)
class LogKey:
    """A log a witness follows: its key name and Ed25519 public key (32 bytes)."""

    name: str
    public_key: bytes


@dataclass(frozen=True, slots=True)
class Witnessed:
    """What a witness last cosigned for a log: the tree's size and root."""

    size: int
    root: bytes


def _body_origin(note: str) -> tuple[str, Checkpoint]:
    try:
        text, _ = split_note(note)
        checkpoint = read_checkpoint(text)
    except NoteError as e:
        raise MalformedSubmissionError(str(e), field="checkpoint") from None
    return text, checkpoint


def check_submission(
    submission: AddCheckpoint,
    logs: Mapping[str, Sequence[LogKey]],
    latest: Witnessed | None,
) -> tuple[str, Checkpoint]:
    """The witness's decision on ``submission``: ``(checkpoint body, checkpoint)`` when
    it may cosign it, given the logs it follows (origin -> keys) and ``latest``, what it
    last cosigned for that origin (None: never). Raises one refusal (see the module)."""
    body, checkpoint = _body_origin(submission.note)
    keys = logs.get(checkpoint.origin)
    if not keys:
        raise UnknownLogError(f"this witness does not follow the log {checkpoint.origin!r}")
    _, lines = split_note(submission.note)
    present = {(name, raw[:4]) for name, raw in map(parse_signature_line, lines)}
    signed = False
    for key in keys:
        if (key.name, key_id(key.name, key.public_key)) not in present:
            continue  # a log key that did not sign this note; another one may have
        try:
            verify_note(submission.note, key.name, key.public_key)
        except SignatureError as e:
            raise UnsignedCheckpointError(f"checkpoint of {checkpoint.origin}: {e}") from None
        except NoteError as e:
            raise MalformedSubmissionError(str(e), field="checkpoint") from None
        signed = True
    if not signed:
        raise UnsignedCheckpointError(
            f"checkpoint of {checkpoint.origin} carries no signature by the log's key"
        )
    old, size = submission.old_size, checkpoint.size
    if old > size:
        raise MalformedSubmissionError(
            f"old size {old} is greater than the checkpoint's size {size}", field="line 1"
        )
    known = latest.size if latest is not None else 0
    if old != known:
        raise OldSizeError(
            f"old size {old} is not the size this witness last cosigned ({known})", known
        )
    if size == 0 and checkpoint.root != EMPTY_ROOT:
        raise InconsistentCheckpointError("a checkpoint of size 0 must have the empty tree's root")
    if old == 0:
        if submission.proof:
            raise InconsistentCheckpointError("a consistency proof from size 0 must be empty")
        return body, checkpoint
    assert latest is not None  # old == known != 0
    if old == size:
        if submission.proof:
            raise InconsistentCheckpointError("a consistency proof between equal sizes is empty")
        if checkpoint.root != latest.root:
            raise InconsistentCheckpointError(
                f"split view: size {size} was cosigned with root {_b64s(latest.root)}, "
                f"this checkpoint has root {_b64s(checkpoint.root)}"
            )
        return body, checkpoint
    try:
        verify_consistency(old, size, submission.proof, latest.root, checkpoint.root)
    except ProofError as e:
        raise InconsistentCheckpointError(
            f"checkpoint of size {size} does not extend the cosigned tree of size {old} "
            f"(root {_b64s(latest.root)}): {e}"
        ) from None
    return body, checkpoint


def _b64s(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
