"""Principals' bearer tokens: made here, stored only as a digest."""

from __future__ import annotations

import hashlib
import secrets


def token_digest(token: str) -> str:
    """Tokens are 256-bit random strings, so one SHA-256 is enough to store them safely."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)
