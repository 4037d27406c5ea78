"""Signed checkpoints of the audit log: C2SP tlog-checkpoint bodies in C2SP signed notes.

A checkpoint body (c2sp.org/tlog-checkpoint) is three or more non-empty lines, each
ending in a newline::

    <origin>
    <tree size, decimal, no leading zeroes>
    <base64 RFC 6962 root hash>
    [extension lines]

A signed note (c2sp.org/signed-note) is that text, a blank line, then one or more
signature lines ``— <key name> <base64(key ID || signature)>`` (em dash U+2014). Only
Ed25519 (signature type 0x01) is supported::

    key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]

Verification follows the spec: signatures from unknown keys (another name or key ID) are
ignored, a signature from the known key that fails rejects the whole note, and a note with
no verified signature from the known key is rejected. Every failure raises a
:class:`ProofError` subclass: :class:`NoteError` for malformed text, :class:`SignatureError`
for a missing or bad signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from clearance.domain.errors import NoteError, SignatureError
from clearance.domain.ledger.merkle import HASH_SIZE

__all__ = [
    "ED25519",
    "MAX_SIGNATURES",
    "Checkpoint",
    "NoteError",
    "SignatureError",
    "format_checkpoint",
    "key_id",
    "open_checkpoint",
    "parse_checkpoint",
    "parse_vkey",
    "raw_public",
    "read_checkpoint",
    "sign_note",
    "verify_note",
    "vkey",
]

ED25519 = 0x01  # signed-note signature type
MAX_SIGNATURES = 100  # the spec asks for a limit of at least 16; Go's note package uses 100
_SIG_PREFIX = "\u2014 "  # em dash, space
_ED25519_SIG_SIZE = 64
_SIZE_RE = re.compile(r"0|[1-9][0-9]*")


# -- checkpoint bodies --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One checkpoint body: the log's origin, its tree size, its root hash, and any
    extension lines (opaque; their use is not recommended)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        return format_checkpoint(self.origin, self.size, self.root, self.extensions)


def _check_text_chars(text: str, what: str) -> None:
    """Valid UTF-8 and no ASCII control characters other than newline (signed-note)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise NoteError(f"{what} is not valid UTF-8") from e
    for ch in text:
        if ch < " " and ch != "\n":
            raise NoteError(f"{what} contains the control character {ch!r}")


def format_checkpoint(origin: str, size: int, root: bytes, extensions: Sequence[str] = ()) -> str:
    """The checkpoint body ``origin\\nsize\\nbase64(root)\\n`` plus extension lines."""
    if not origin or "\n" in origin:
        raise NoteError("a checkpoint origin must be one non-empty line")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise NoteError(f"a checkpoint tree size must be a non-negative integer, got {size!r}")
    if not isinstance(root, bytes) or len(root) != HASH_SIZE:
        raise NoteError(f"a checkpoint root hash must be {HASH_SIZE} bytes")
    for line in extensions:
        if not line or "\n" in line:
            raise NoteError("checkpoint extension lines must each be one non-empty line")
    lines = [origin, str(size), base64.b64encode(root).decode("ascii"), *extensions]
    text = "".join(line + "\n" for line in lines)
    _check_text_chars(text, "checkpoint")
    return text


def read_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint body strictly, extension lines included."""
    _check_text_chars(text, "checkpoint")
    if not text.endswith("\n"):
        raise NoteError("a checkpoint must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise NoteError(f"a checkpoint has at least 3 lines, got {len(lines)}")
    if any(not line for line in lines):
        raise NoteError("checkpoint lines must be non-empty")
    origin, size_text, root_text, *extensions = lines
    if not _SIZE_RE.fullmatch(size_text):
        raise NoteError(
            f"checkpoint tree size {size_text!r} is not a decimal without leading zeroes"
        )
    root = _b64decode(root_text, "checkpoint root hash")
    if len(root) != HASH_SIZE:
        raise NoteError(f"checkpoint root hash is {len(root)} bytes, not {HASH_SIZE}")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def parse_checkpoint(text: str) -> tuple[str, int, bytes]:
    """``(origin, size, root)`` of a checkpoint body; see :func:`read_checkpoint`."""
    c = read_checkpoint(text)
    return c.origin, c.size, c.root


def _b64decode(text: str, what: str) -> bytes:
    """Strict standard base64 (RFC 4648 section 4): padded, canonical, nothing else."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as e:
        raise NoteError(f"{what} is not standard base64") from e
    if base64.b64encode(raw).decode("ascii") != text:
        raise NoteError(f"{what} is not canonical base64")
    return raw


# -- keys ---------------------------------------------------------------------------------


def raw_public(key: Ed25519PrivateKey | Ed25519PublicKey | bytes) -> bytes:
    """The 32 bytes of an Ed25519 public key, from its private key, the key itself or its
    bytes (checked); the one form keys are stored, logged and compared in."""
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    if isinstance(key, Ed25519PublicKey):
        return key.public_bytes_raw()
    if not isinstance(key, bytes) or len(key) != 32:
        raise NoteError("an Ed25519 public key is 32 bytes")
    return key


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name:
        raise NoteError("a key name must be non-empty")
    if "+" in name or any(ch.isspace() for ch in name):
        raise NoteError(f"key name {name!r} contains a space or '+'")
    _check_text_chars(name, "key name")


def key_id(name: str, public_key: Ed25519PublicKey | bytes, kind: int = ED25519) -> bytes:
    """The 4-byte key ID: SHA-256(name || 0x0A || type || public key)[:4]; the type is
    0x01 for a signed-note key, 0x04 for a witness's cosignature key."""
    _check_name(name)
    raw = raw_public(public_key)
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([kind]) + raw).digest()[:4]


def vkey(name: str, public_key: Ed25519PublicKey | bytes, kind: int = ED25519) -> str:
    """The verifier key string ``<name>+<hex key ID>+<base64(type || public key)>``."""
    raw = raw_public(public_key)
    encoded = base64.b64encode(bytes([kind]) + raw).decode("ascii")
    return f"{name}+{key_id(name, raw, kind).hex()}+{encoded}"


def parse_vkey(text: str) -> tuple[str, Ed25519PublicKey]:
    """``(name, public key)`` of a verifier key string; its key ID must match."""
    name, raw = parse_typed_vkey(
        text, ED25519, "only Ed25519 verifier keys (type 0x01, 32 bytes) are supported"
    )
    return name, Ed25519PublicKey.from_public_bytes(raw)


def parse_typed_vkey(text: str, kind: int, refusal: str) -> tuple[str, bytes]:
    """``(name, raw 32-byte key)`` of a verifier key of type ``kind`` (``refusal`` says
    what else it is not); its key ID must match."""
    parts = text.split("+", 2)  # the base64 key may itself contain '+'
    if len(parts) != 3:
        raise NoteError("a verifier key is <name>+<key ID>+<key>")
    name, hex_id, key_text = parts
    _check_name(name)
    if not re.fullmatch(r"[0-9a-f]{8}", hex_id):
        raise NoteError(f"verifier key ID {hex_id!r} is not 8 lowercase hex digits")
    key = _b64decode(key_text, "verifier key")
    if len(key) != 33 or key[0] != kind:
        raise NoteError(refusal)
    if key_id(name, key[1:], kind).hex() != hex_id:
        raise NoteError("verifier key ID does not match its name and key")
    return name, key[1:]


# -- signed notes -------------------------------------------------------------------------


def sign_note(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """The signed note: ``text`` (which must end with a newline), a blank line, and one
    Ed25519 signature line by the key ``name``."""
    _check_text_chars(text, "note text")
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    kid = key_id(name, private_key.public_key())
    signature = private_key.sign(text.encode("utf-8"))
    encoded = base64.b64encode(kid + signature).decode("ascii")
    return f"{text}\n{_SIG_PREFIX}{name} {encoded}\n"


def verify_note(note: str, name: str, public_key: Ed25519PublicKey | bytes) -> str:
    """The text of ``note`` once a signature by (``name``, ``public_key``) verifies.

    Raises :class:`NoteError` for a malformed note and :class:`SignatureError` when no
    signature from that key is present or one of its signatures fails.
    """
    _check_text_chars(note, "signed note")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("a signed note needs a blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise NoteError("a signed note ends with newline-terminated signature lines")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"a signed note carries at most {MAX_SIGNATURES} signatures")
    expected = key_id(name, public_key)
    key = (
        public_key
        if isinstance(public_key, Ed25519PublicKey)
        else Ed25519PublicKey.from_public_bytes(raw_public(public_key))
    )
    message = text.encode("utf-8")
    verified = False
    for line in lines:
        if not line.startswith(_SIG_PREFIX):
            raise NoteError("a signature line starts with an em dash and a space")
        signer, sep, encoded = line[len(_SIG_PREFIX) :].partition(" ")
        if not sep:
            raise NoteError("a signature line is '\u2014 <key name> <base64 signature>'")
        _check_name(signer)
        raw = _b64decode(encoded, "signature")
        if len(raw) < 5:
            raise NoteError("a signature holds a 4-byte key ID and at least one byte")
        if signer != name or raw[:4] != expected:
            continue  # an unknown key: ignored, as the spec requires
        if len(raw) != 4 + _ED25519_SIG_SIZE:
            raise SignatureError(f"signature by {name} is not an Ed25519 signature")
        try:
            key.verify(raw[4:], message)
        except InvalidSignature as e:
            raise SignatureError(f"signature by {name} does not verify") from e
        verified = True
    if not verified:
        raise SignatureError(f"note carries no signature by {name} with key ID {expected.hex()}")
    return text


def open_checkpoint(
    note: str, name: str, public_key: Ed25519PublicKey | bytes, *, origin: str | None = None
) -> Checkpoint:
    """Verify a signed checkpoint and parse its body; with ``origin``, it must match."""
    checkpoint = read_checkpoint(verify_note(note, name, public_key))
    if origin is not None and checkpoint.origin != origin:
        raise NoteError(f"checkpoint origin {checkpoint.origin!r} is not {origin!r}")
    return checkpoint
