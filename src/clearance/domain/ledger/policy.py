"""Witness policies in C2SP tlog-policy syntax, and whether a checkpoint meets one.

A policy (c2sp.org/tlog-policy) names the logs a verifier accepts, the witnesses it
knows and the quorum of them whose cosignatures make a checkpoint valid::

    log <vkey> [<url>]
    witness <name> <vkey> [<url>]
    group <name> <k>|any|all <member>...
    quorum <name>|none

One item per line, separated by spaces or tabs; empty lines and ``#`` comments are
ignored. A group names witnesses or groups defined on earlier lines, each at most once,
with 1 <= k <= n; exactly one quorum line; no two logs or witnesses share a public key;
witnesses and groups share one namespace, and ``none`` is reserved. Log keys are Ed25519
signed-note keys (type 0x01), witness keys Ed25519 cosignature keys (type 0x04).

:func:`check_quorum` verifies a cosigned checkpoint against a policy: signed by one of
its logs, and cosigned by enough witnesses, or a :class:`QuorumError` naming what is
missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from clearance.domain.errors import PolicyError, QuorumError
from clearance.domain.ledger.checkpoint import (
    Checkpoint,
    NoteError,
    SignatureError,
    key_id,
    parse_vkey,
    raw_public,
    read_checkpoint,
    verify_note,
    vkey,
)
from clearance.domain.ledger.witness import (
    CosignatureError,
    cosigner_vkey,
    find_cosignature,
    parse_cosigner_vkey,
    parse_signature_line,
    split_note,
)

__all__ = [
    "NONE",
    "Group",
    "Policy",
    "PolicyError",
    "PolicyLog",
    "PolicyWitness",
    "Quorum",
    "QuorumError",
    "check_quorum",
    "cosigned_by",
    "parse_policy",
]

NONE = "none"
MAX_ITEMS = 256  # logs, witnesses and groups each (the spec asks for at least 32)


@dataclass(frozen=True, slots=True)
class PolicyLog:
    name: str  # the key name: the log's origin
    public_key: bytes
    url: str | None = None


@dataclass(frozen=True, slots=True)
class PolicyWitness:
    name: str  # the policy's name for it
    key_name: str  # the name in its vkey and cosignature lines
    public_key: bytes
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    threshold: int
    members: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Policy:
    logs: tuple[PolicyLog, ...]
    witnesses: Mapping[str, PolicyWitness]
    groups: Mapping[str, Group]
    quorum: str

    def satisfied(self, cosigned: set[str], name: str | None = None) -> bool:
        """Whether the witnesses named in ``cosigned`` meet ``name`` (the quorum)."""
        name = self.quorum if name is None else name
        if name == NONE:
            return True
        if name in self.witnesses:
            return name in cosigned
        group = self.groups[name]
        met = sum(1 for m in group.members if self.satisfied(cosigned, m))
        return met >= group.threshold

    def describe(self, name: str | None = None) -> str:
        """The rule ``name`` (default: the quorum) in words."""
        name = self.quorum if name is None else name
        if name == NONE or name in self.witnesses:
            return name
        group = self.groups[name]
        n = len(group.members)
        k = "all" if group.threshold == n and n > 1 else str(group.threshold)
        return f"{name} ({k} of {', '.join(self.describe(m) for m in group.members)})"

    def text(self) -> str:
        """The policy in tlog-policy syntax (what :func:`parse_policy` reads back)."""
        lines = [
            " ".join(filter(None, ("log", vkey(log.name, log.public_key), log.url)))
            for log in self.logs
        ]
        lines += [
            " ".join(
                filter(None, ("witness", w.name, cosigner_vkey(w.key_name, w.public_key), w.url))
            )
            for w in self.witnesses.values()
        ]
        lines += [
            f"group {g.name} {g.threshold} {' '.join(g.members)}" for g in self.groups.values()
        ]
        return "\n".join([*lines, f"quorum {self.quorum}"]) + "\n"


@dataclass
class _Parsing:
    source: str
    logs: list[PolicyLog] = field(default_factory=list)
    witnesses: dict[str, PolicyWitness] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    keys: dict[bytes, str] = field(default_factory=dict)
    quorum: str | None = None
    used: set[str] = field(default_factory=set)

    def error(self, number: int, rule: str) -> PolicyError:
        return PolicyError(rule, source=self.source, field=f"line {number}")

    def defined(self, name: str) -> bool:
        return name in self.witnesses or name in self.groups


def _check_chars(text: str, source: str) -> None:
    for number, line in enumerate(text.split("\n"), start=1):
        for ch in line:
            if ch != "\t" and (ch < " " or ch == "\x7f"):
                raise PolicyError(
                    f"control character {ch!r} is not allowed (only tab and newline)",
                    source=source,
                    field=f"line {number}",
                )


def parse_policy(text: str, source: str = "policy") -> Policy:
    """Parse a policy file's text; :class:`PolicyError` names the line and the rule."""
    _check_chars(text, source)
    p = _Parsing(source)
    for number, raw_line in enumerate(text.split("\n"), start=1):
        items = raw_line.replace("\t", " ").split()
        if not items or items[0].startswith("#"):
            continue
        keyword, args = items[0], items[1:]
        if keyword == "log":
            _log(p, number, args)
        elif keyword == "witness":
            _witness(p, number, args)
        elif keyword == "group":
            _group(p, number, args)
        elif keyword == "quorum":
            if len(args) != 1:
                raise p.error(number, "is 'quorum <name>'")
            if p.quorum is not None:
                raise p.error(number, "a policy has exactly one quorum line")
            if args[0] != NONE and not p.defined(args[0]):
                raise p.error(number, f"quorum {args[0]!r} is not a witness or group defined above")
            p.quorum = args[0]
        else:
            raise p.error(number, f"unknown keyword {keyword!r} (log, witness, group, quorum)")
    if p.quorum is None:
        raise PolicyError("a policy needs a quorum line ('quorum none' for none)", source=source)
    return Policy(tuple(p.logs), dict(p.witnesses), dict(p.groups), p.quorum)


def _log(p: _Parsing, number: int, args: list[str]) -> None:
    if len(args) not in (1, 2):
        raise p.error(number, "is 'log <vkey> [<url>]'")
    try:
        name, key = parse_vkey(args[0])
    except NoteError as e:
        raise p.error(number, f"log key: {e}") from None
    public = raw_public(key)
    _unique_key(p, number, public, f"log {name}")
    if len(p.logs) >= MAX_ITEMS:
        raise p.error(number, f"at most {MAX_ITEMS} logs")
    p.logs.append(PolicyLog(name, public, args[1] if len(args) == 2 else None))


def _unique_key(p: _Parsing, number: int, public: bytes, what: str) -> None:
    if public in p.keys:
        raise p.error(number, f"{what} has the same public key as {p.keys[public]}")
    p.keys[public] = what


def _new_name(p: _Parsing, number: int, name: str) -> None:
    if name == NONE:
        raise p.error(number, "'none' is reserved")
    if p.defined(name):
        raise p.error(number, f"{name!r} is already defined")


def _witness(p: _Parsing, number: int, args: list[str]) -> None:
    if len(args) not in (2, 3):
        raise p.error(number, "is 'witness <name> <vkey> [<url>]'")
    name = args[0]
    _new_name(p, number, name)
    try:
        key_name, public = parse_cosigner_vkey(args[1])
    except NoteError as e:
        raise p.error(number, f"witness {name}: {e}") from None
    _unique_key(p, number, public, f"witness {name}")
    if len(p.witnesses) >= MAX_ITEMS:
        raise p.error(number, f"at most {MAX_ITEMS} witnesses")
    p.witnesses[name] = PolicyWitness(name, key_name, public, args[2] if len(args) == 3 else None)


def _group(p: _Parsing, number: int, args: list[str]) -> None:
    if len(args) < 3:
        raise p.error(number, "is 'group <name> <k>|any|all <member>...' with one member or more")
    name, k_text, members = args[0], args[1], args[2:]
    _new_name(p, number, name)
    for member in members:
        if member == NONE:
            raise p.error(number, "'none' cannot be a group member")
        if not p.defined(member):
            raise p.error(number, f"member {member!r} is not a witness or group defined above")
        if member in p.used:
            raise p.error(number, f"{member!r} is already a member of a group")
    if len(set(members)) != len(members):
        raise p.error(number, "a group lists each member once")
    n = len(members)
    if k_text == "any":
        k = 1
    elif k_text == "all":
        k = n
    elif k_text.isascii() and k_text.isdigit() and not (len(k_text) > 1 and k_text[0] == "0"):
        k = int(k_text)
        if not 1 <= k <= n:
            raise p.error(number, f"threshold {k} must be within 1..{n} (its members)")
    else:
        raise p.error(number, f"threshold {k_text!r} is not a decimal, 'any' or 'all'")
    if len(p.groups) >= MAX_ITEMS:
        raise p.error(number, f"at most {MAX_ITEMS} groups")
    p.used.update(members)
    p.groups[name] = Group(name, k, tuple(members))


@dataclass(frozen=True, slots=True)
class Quorum:
    """A checkpoint that met a policy: the checkpoint, the log that signed it and the
    witnesses (policy names) whose cosignatures verified, with their timestamps."""

    checkpoint: Checkpoint
    log: str
    cosigned: Mapping[str, int]


def cosigned_by(policy: Policy, note: str) -> dict[str, int]:
    """The policy's witnesses (by policy name) whose cosignatures on ``note`` verify, and
    their timestamps; the log's signature is not checked here (see :func:`check_quorum`)."""
    try:
        text, lines = split_note(note)
    except NoteError as e:
        raise QuorumError(f"checkpoint: {e}") from None
    return _cosigned(policy, text, lines)


def _cosigned(policy: Policy, text: str, lines: list[str]) -> dict[str, int]:
    cosigned: dict[str, int] = {}
    for name, witness in policy.witnesses.items():
        try:
            found = find_cosignature(text, lines, witness.key_name, witness.public_key)
        except (CosignatureError, NoteError) as e:
            raise QuorumError(f"witness {name}: {e}") from None
        if found is not None:
            cosigned[name] = found.timestamp
    return cosigned


def check_quorum(policy: Policy, note: str) -> Quorum:
    """Verify ``note`` (a checkpoint with its signatures and cosignatures) against
    ``policy``; raise :class:`QuorumError` naming what is missing."""
    try:
        text, lines = split_note(note)
        checkpoint = read_checkpoint(text)
    except NoteError as e:
        raise QuorumError(f"checkpoint: {e}") from None
    present = {(name, raw[:4]) for name, raw in map(parse_signature_line, lines)}
    signer = None
    for log in policy.logs:
        if (log.name, key_id(log.name, log.public_key)) not in present:
            continue
        try:
            verify_note(note, log.name, log.public_key)
        except (NoteError, SignatureError) as e:
            raise QuorumError(f"checkpoint of {checkpoint.origin}: {e}") from None
        if checkpoint.origin != log.name:
            raise QuorumError(f"checkpoint origin {checkpoint.origin!r} is not {log.name!r}")
        signer = log.name
        break
    if signer is None:
        known = ", ".join(log.name for log in policy.logs) or "none"
        raise QuorumError(
            f"checkpoint of {checkpoint.origin} is signed by none of the policy's logs ({known})"
        )
    cosigned = _cosigned(policy, text, lines)
    if not policy.satisfied(set(cosigned)):
        have = ", ".join(sorted(cosigned)) or "no witness"
        raise QuorumError(
            f"checkpoint of {checkpoint.origin} at size {checkpoint.size} lacks the quorum "
            f"{policy.describe()}: cosigned by {have}"
        )
    return Quorum(checkpoint, signer, cosigned)
