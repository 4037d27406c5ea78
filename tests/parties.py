"""The parties in tests: authorities that keep their own root keys and members who sign
their decisions, the keys held by the test (the party), never by the server.

The server holds no authority's key (issue 13): an authority that names a root key in
the scenario has its members' keys enrolled by statements that root key signs, and each
decision signed by the member who makes it; one that names none has its decisions
recorded unsigned. A test that checks a decision's signature uses these parties:

- :func:`root_key` / :func:`member_key`: deterministic Ed25519 keys, from a seed such as
  ``sha256(b"clearance-test-root:" + authority)``, so a subprocess server, the CLI and
  every xdist worker agree without sharing a file;
- :func:`scenario_with_roots` copies a scenario folder with root public keys written in
  (as ``clearance demo`` writes ``var/scenario``), for servers and the CLI;
  :func:`with_roots` does the same to an in-memory scenario (``tests/e2e/conftest.niger``)
  and :func:`record_roots` logs them as a scenario load does;
- :func:`enroll` enrolls a member's key through the real handler
  (``handlers.apply_member_statement``), :func:`enrollment` makes the statement the
  authority's officer would (``POST /v1/authorities/{id}/members`` takes it whole);
- :func:`signed_decision` signs a decision statement: the API's body, or ``Signed`` for
  ``handlers.decide``.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clearance.adapters.key_files import private_pem, write_new
from clearance.domain.clearance.model import Conditions
from clearance.domain.clearance.scenario import Scenario
from clearance.domain.documents import instant
from clearance.domain.ledger.audit import ROOT_ROLE
from clearance.domain.ledger.checkpoint import raw_public
from clearance.domain.ledger.members import ENROLLED, MemberStatement, key_text
from clearance.domain.ledger.signatures import (
    conditions_json,
    document_digest,
    sign_statement,
    statement_for,
)
from clearance.service import handlers
from clearance.service.audit import record_keys
from clearance.service.context import Context
from clearance.service.handlers.decide import Signed

__all__ = [
    "enroll",
    "enrollment",
    "key_file",
    "member_key",
    "public",
    "record_roots",
    "root_key",
    "scenario_with_roots",
    "signed_decision",
    "with_roots",
]


def _seeded(seed: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed).digest())


def root_key(authority: str) -> Ed25519PrivateKey:
    """``authority``'s root key, the same in every process of the test run."""
    return _seeded(b"clearance-test-root:" + authority.encode("utf-8"))


def member_key(authority: str, member: str) -> Ed25519PrivateKey:
    """``member``'s own key for ``authority``, the same in every process."""
    return _seeded(b"clearance-test-member:" + f"{authority}\x00{member}".encode())


def public(key: Ed25519PrivateKey) -> str:
    """The public half as the scenario, the CLI and the API write it (base64)."""
    return key_text(raw_public(key))


def key_file(key: Ed25519PrivateKey, path: Path) -> Path:
    """``key`` in a PEM file of mode 0600 on the party's side (``--key``, ``--root-key``)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_new(path, private_pem(key))
    return path


def scenario_with_roots(source: Path, out: Path, authorities: Iterable[str]) -> Path:
    """A copy of the scenario folder ``source`` at ``out`` in which each of
    ``authorities`` names its root public key (:func:`root_key`)."""
    shutil.copytree(source, out)
    main = out / "scenario.yaml"
    document = yaml.safe_load(main.read_text(encoding="utf-8"))
    for authority in authorities:
        document["authorities"][authority]["root_key"] = public(root_key(authority))
    main.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return out


def with_roots(scenario: Scenario, authorities: Iterable[str]) -> Scenario:
    """``scenario`` (a test's own copy) with ``authorities`` naming their root keys."""
    scenario.authorities = dict(scenario.authorities) | {
        a: replace(scenario.authorities[a], root_key=raw_public(root_key(a))) for a in authorities
    }
    return scenario


def record_roots(ctx: Context, authorities: Iterable[str]) -> None:
    """Log the root keys as a scenario load does (``handlers.load_scenario``), for a
    context over an in-memory scenario: enrollments are checked against them."""
    with ctx.uow() as uow:
        record_keys(uow, {(ROOT_ROLE, a): raw_public(root_key(a)) for a in authorities})
        uow.commit()


def enrollment(
    authority: str,
    member: str,
    at: datetime,
    key: Ed25519PrivateKey | None = None,
    *,
    kind: str = ENROLLED,
    root: Ed25519PrivateKey | None = None,
) -> MemberStatement:
    """The statement ``authority``'s root key signs to enroll (or, with ``kind``, revoke)
    ``member``'s key (:func:`member_key` unless given)."""
    key = key or member_key(authority, member)
    unsigned = MemberStatement(kind, authority, member, raw_public(key), at, "")
    signature = sign_statement(root or root_key(authority), unsigned.fields())
    return replace(unsigned, signature=signature)


def enroll(
    ctx: Context,
    authority: str,
    member: str,
    key: Ed25519PrivateKey | None = None,
    *,
    kind: str = ENROLLED,
    root: Ed25519PrivateKey | None = None,
) -> None:
    """Enroll ``member``'s key through the real handler, at the context's time."""
    statement = enrollment(authority, member, ctx.clock.now(), key, kind=kind, root=root)
    handlers.apply_member_statement(ctx, statement)


def signed_decision(
    record: Any,
    authority: str,
    member: str,
    at: datetime,
    decision: str = "approve",
    comment: str = "",
    conditions: Conditions | None = None,
    key: Ed25519PrivateKey | None = None,
) -> tuple[dict[str, Any], Signed]:
    """``member``'s decision on ``record`` (as they read it: its id, version and
    document) signed with their key (:func:`member_key` unless given): the body of
    ``POST /v1/requests/{id}/decisions``, and the same as ``Signed`` for the handler."""
    statement = statement_for(
        _field(record, "id"), _field(record, "version") + 1,
        document_digest(_field(record, "document")), authority, decision, comment, conditions,
        member, at,
    )  # fmt: skip
    signature = sign_statement(key or member_key(authority, member), statement)
    body: dict[str, Any] = {
        "authority": authority, "decision": decision, "comment": comment,
        "at": instant(at), "signature": signature,
    }  # fmt: skip
    if conditions is not None:
        shown = conditions_json(conditions) or {}
        body["conditions"] = {k: v for k, v in shown.items() if v is not None}
    return body, Signed(at, signature)


def _field(record: Any, name: str) -> Any:
    """A request as the API shows it (a dict) or as the service holds it."""
    return record[name] if isinstance(record, dict) else getattr(record, name)
