"""Ed25519 keys on disk, outside the database: the instance's log key, and one key per
authority.

Layout of the key directory (``CLEARANCE_KEY_DIR``; mode 0700)::

    instance.pem                 the log's checkpoint signer
    authorities/<id>.pem         one per authority (the id percent-encoded if need be)

Private keys are unencrypted PKCS#8 PEM files of mode 0600. A missing key is created on
first use: written to a temporary file (0600 from the start, fsynced) and then
hard-linked to its name, which fails if another process got there first; that process's
key is then used, so two processes never sign with different keys for the same name.
"""

from __future__ import annotations

import base64
import os
import re
import threading
import urllib.parse
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clearance.adapters.key_files import private_pem, write_new
from clearance.domain.errors import InputError
from clearance.domain.ledger.checkpoint import raw_public
from clearance.service.ports import Signer

_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


class KeyStore(Signer):
    """Keys in ``directory``; safe to share between threads and processes."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory).expanduser()
        self._cache: dict[Path, Ed25519PrivateKey] = {}
        self._lock = threading.Lock()

    # -- paths -------------------------------------------------------------------------
    def instance_path(self) -> Path:
        return self.directory / "instance.pem"

    def authority_path(self, authority: str) -> Path:
        if not authority or len(authority) > 200 or "\x00" in authority:
            raise InputError("must be an authority id of 1 to 200 characters", field="authority")
        name = authority if _SAFE.fullmatch(authority) else urllib.parse.quote(authority, safe="")
        if name in (".", ".."):
            name = name.replace(".", "%2E")
        return self.directory / "authorities" / f"{name}.pem"

    # -- keys --------------------------------------------------------------------------
    def instance_key(self) -> Ed25519PrivateKey:
        """The log's signing key, created if missing."""
        return self._key(self.instance_path(), create=True)

    def authority_key(self, authority: str, *, create: bool = True) -> Ed25519PrivateKey:
        """``authority``'s signing key; created if missing (unless ``create`` is False,
        when a missing key raises ``FileNotFoundError``)."""
        return self._key(self.authority_path(authority), create=create)

    def has_authority_key(self, authority: str) -> bool:
        return self.authority_path(authority).exists()

    def public_keys(self) -> dict[str, Any]:
        """``{"instance": raw key or None, "authorities": {id: raw key}}`` of the keys on
        disk (none is created)."""
        instance = self.instance_path()
        authorities: dict[str, bytes] = {}
        folder = self.directory / "authorities"
        if folder.is_dir():
            for path in sorted(folder.glob("*.pem")):
                authority = urllib.parse.unquote(path.stem)
                authorities[authority] = raw_public(self._key(path, create=False))
        return {
            "instance": raw_public(self._key(instance, create=False))
            if instance.exists()
            else None,
            "authorities": authorities,
        }

    # -- the Signer port ---------------------------------------------------------------
    def sign(self, authority: str, payload: bytes) -> str:
        signature = self.authority_key(authority).sign(payload)
        return base64.b64encode(signature).decode("ascii")

    def public_key(self, authority: str) -> bytes:
        return raw_public(self.authority_key(authority))

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
