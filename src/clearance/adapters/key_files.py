"""Ed25519 private keys in files their owner names (a witness's, a member's, an
authority's root key): unencrypted PKCS#8 PEM, mode 0600, never replaced once written.

Unlike ``adapters.keys`` (the server's own key directory), these files belong to a party
and live wherever it keeps them; the server never reads them.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clearance.domain.errors import InputError

__all__ = ["new_key_file", "private_pem", "read_key_file", "write_new"]


def new_key_file(path: Path, field: str = "--out") -> Ed25519PrivateKey:
    """Generate a key and write it to ``path`` (0600 from the start, fsynced); an
    existing file is refused, never overwritten."""
    key = Ed25519PrivateKey.generate()
    try:
        write_new(path, private_pem(key))
    except FileExistsError:
        raise InputError("exists; a key file is never overwritten", source=str(path)) from None
    except OSError as e:
        raise InputError(f"cannot create it: {e.strerror}", source=str(path), field=field) from None
    return key


def private_pem(key: Ed25519PrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM, as every key file holds it."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_new(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file (mode 0600 from the start, whatever the umask,
    fsynced); ``FileExistsError`` when ``path`` exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_key_file(path: Path, field: str = "--key") -> Ed25519PrivateKey:
    """The Ed25519 private key in ``path``; :class:`InputError` naming the file if it is
    missing, unreadable or not one."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read it: {e.strerror}", source=str(path), field=field) from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise InputError(
            "is not an unencrypted PEM private key", source=str(path), field=field
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError("is not an Ed25519 private key", source=str(path), field=field)
    return key
