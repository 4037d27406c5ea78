"""What a monitor checks, as pure functions over what it read and what it kept.

A monitor (issue 13 item 4) follows a log on behalf of one party. Each pass it reads the
log's latest checkpoint and, after checking it, the entries added since the checkpoint
it verified last. Nothing here talks to the network or a disk: the service
(:mod:`clearance.service.monitor`) feeds in what the log served and what the monitor
kept, and stores the result only when every check here passed.

- :func:`check_views`: every checkpoint the monitor has seen (from the log, from a
  witness, from another party's monitor) is kept; two of the same size with different
  roots are a split view, a checkpoint smaller than one verified before a rollback.
  Both are named, with the sources that showed them.
- :class:`Follower`: the log's entries in order. Each entry's leaf hash joins a
  :class:`~clearance.domain.ledger.merkle.Frontier`; ``key`` and ``member.*`` entries
  teach a :class:`~clearance.domain.ledger.audit.KeyRing` which keys were recorded or
  enrolled *at that point of the log*; every ``request.decided`` entry's signature is
  verified with the key enrolled (or recorded) before it. A failure names the entry.
- :func:`changed_entries`: when the log serves other data at an index the monitor
  stored (what a rewritten history looks like), which indices changed.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from clearance.domain.errors import AuditError
from clearance.domain.ledger import audit, members
from clearance.domain.ledger.merkle import Frontier, leaf_hash

__all__ = [
    "Follower",
    "Seen",
    "changed_entries",
    "check_views",
    "describe_seen",
]


@dataclass(frozen=True, slots=True)
class Seen:
    """One checkpoint a monitor saw: its size and root, the signed note, and where it came
    from (``log``, a witness URL, a gossip file)."""

    size: int
    root: bytes
    note: str
    source: str


def describe_seen(seen: Seen) -> str:
    """``checkpoint of size 12 (root 3q2+7w...) from log``: how failures name one."""
    root = base64.b64encode(seen.root).decode("ascii")
    return f"checkpoint of size {seen.size} (root {root}) from {seen.source}"


def check_views(new: Seen, seen: Iterable[Seen], verified: Seen | None) -> None:
    """Raise :class:`AuditError` naming both checkpoints when ``new`` and one ``seen``
    before have the same size and different roots (a split view), or naming the rollback
    when ``new`` is smaller than the checkpoint ``verified`` last."""
    for old in seen:
        if old.size == new.size and old.root != new.root:
            raise AuditError(
                f"split view: {describe_seen(old)} and {describe_seen(new)} have the same "
                "size and different roots"
            )
    if verified is not None and new.size < verified.size:
        raise AuditError(
            f"rollback: {describe_seen(new)} is smaller than the {describe_seen(verified)} "
            "this monitor verified before"
        )


def changed_entries(stored: Sequence[bytes], served: Sequence[bytes]) -> list[int]:
    """Indices where the data the log serves now differs from the data stored before."""
    return [i for i, (a, b) in enumerate(zip(stored, served, strict=False)) if a != b]


@dataclass
class Follower:
    """The log read in order from entry 0: the tree so far and the keys so far.

    :meth:`add` checks one entry and raises :class:`AuditError` naming it (``log index
    N (kind, request)``) when it is not canonical JSON, records a key or an enrollment
    that does not check, or is a decision whose signature does not verify with the key
    enrolled for its member (or recorded for its authority) before it."""

    frontier: Frontier = field(default_factory=Frontier)
    keys: audit.KeyRing = field(default_factory=audit.KeyRing)
    decisions: int = 0

    @property
    def size(self) -> int:
        return self.frontier.size

    def add(self, index: int, data: bytes) -> dict[str, Any]:
        if index != self.frontier.size:
            raise AuditError(
                f"log index {self.frontier.size}: the log served log index {index} in its place"
            )
        try:
            entry = audit.parse_entry(data)
        except ValueError as e:
            raise AuditError(f"log index {index}: the entry {e}") from None
        kind = entry["kind"]
        try:
            if kind == audit.KEY:
                self.keys.learn(entry)
            elif kind in members.KINDS:
                self.keys.learn_member(entry)
            elif kind == audit.DECIDED:
                self.keys.check_decision(entry)
                self.decisions += 1
        except (ValueError, KeyError, TypeError) as e:  # DecisionSignatureError included
            raise AuditError(f"{audit.describe(index, entry)}: {e}") from None
        self.frontier.append(leaf_hash(data))
        return entry

    def root(self) -> bytes:
        return self.frontier.root()
