"""The log's instance key on disk, outside the database: the one private key the server
holds. An authority's root key and its members' keys stay with their owners (``clearance
key new`` on their own machines); the server reads only their public halves, from the
scenario and from logged enrollments.

Layout of the key directory (``CLEARANCE_KEY_DIR``; mode 0700)::

    instance.pem                 the log's checkpoint signer

The key is an unencrypted PKCS#8 PEM file of mode 0600. A missing key is created on first
use: written to a temporary file (0600 from the start, fsynced) and then hard-linked to
its name, which fails if another process got there first; that process's key is then
used, so two processes never sign with different keys.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clearance.adapters.key_files import private_pem, write_new


class KeyStore:
    """The instance key in ``directory``; safe to share between threads and processes."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory).expanduser()
        self._cache: dict[Path, Ed25519PrivateKey] = {}
        self._lock = threading.Lock()

    # -- paths -------------------------------------------------------------------------
    def instance_path(self) -> Path:
        return self.directory / "instance.pem"

    # -- keys --------------------------------------------------------------------------
    def instance_key(self) -> Ed25519PrivateKey:
        """The log's signing key, created if missing."""
        return self._key(self.instance_path(), create=True)

    # -- files -------------------------------------------------------------------------
    def _key(self, path: Path, *, create: bool) -> Ed25519PrivateKey:
        with self._lock:
            cached = self._cache.get(path)
            if cached is not None:
                return cached
            if not path.exists():
                if not create:
                    raise FileNotFoundError(f"no key at {path}")
                _create(path, self.directory)
            key = _load(path)
            self._cache[path] = key
            return key


def _load(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def _create(path: Path, directory: Path) -> None:
    """Write a new key to ``path`` unless one appears there meanwhile."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    write_new(temporary, private_pem(Ed25519PrivateKey.generate()))
    try:
        os.link(temporary, path)  # atomic, and refuses to replace an existing key
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
