"""A monitor's pass: follow the log, check everything, keep a copy, advance atomically.

:func:`run_pass` is one pass of ``clearance monitor``:

1. read the log's latest checkpoint and check its signature by the log the party's
   witness policy names;
2. keep it among the checkpoints seen (with any ``gossip``: checkpoints other parties'
   monitors or witnesses saw, each signed by the log) and look for a split view (two of
   one size with different roots) or a rollback (smaller than one seen from the log);
   then require the policy's quorum of cosignatures on it;
3. check the RFC 9162 consistency proof from the checkpoint verified last to the new
   one; when it fails, read the entries the monitor kept again from the log and name the
   ones that changed;
4. read the new entries, recompute the tree from entry 0 (the kept copy, then the new
   ones) and compare its root with the checkpoint's, re-verifying every decision's
   signature with the key enrolled at that point of the log
   (:class:`clearance.domain.ledger.monitor.Follower`);
5. only then store the new entries and the checkpoint as verified, in one transaction.

Any failure raises :class:`~clearance.domain.errors.AuditError` naming the entry or the
checkpoints; the verified state is left as it was.

Ports (fakes in the tests; the real ones in ``adapters.log_client`` and
``adapters.monitor_store``):

- :class:`LogClient`: what the monitor reads from the log (``checkpoint``,
  ``consistency``, ``entries``); ``source`` names the log in messages.
- :class:`MonitorStore`: ``seen``, ``see`` (kept even when a pass fails), ``verified``,
  ``entries`` (the kept copy, in index order), and ``advance`` (new entries and the
  verified checkpoint, all or nothing).
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from clearance.domain.errors import AuditError, InputError, ProofError, QuorumError
from clearance.domain.ledger.audit import describe, parse_entry
from clearance.domain.ledger.checkpoint import open_checkpoint
from clearance.domain.ledger.merkle import verify_consistency
from clearance.domain.ledger.monitor import (
    Follower,
    Seen,
    changed_entries,
    check_views,
    describe_seen,
)
from clearance.domain.ledger.policy import Policy, check_quorum

__all__ = ["LogClient", "MemoryMonitorStore", "MonitorStore", "Pass", "read_gossip", "run_pass"]


class LogClient(abc.ABC):
    source: str = "log"

    @abc.abstractmethod
    def checkpoint(self) -> str:
        """The latest signed checkpoint (a note with its cosignatures)."""

    @abc.abstractmethod
    def consistency(self, size1: int, size2: int) -> list[bytes]:
        """The consistency proof between the trees of ``size1`` and ``size2`` entries."""

    @abc.abstractmethod
    def entries(self, start: int, stop: int) -> list[tuple[int, bytes]]:
        """Entries ``start`` .. ``stop - 1`` as (index, data), in order."""


class MonitorStore(abc.ABC):
    @abc.abstractmethod
    def seen(self) -> list[Seen]: ...

    @abc.abstractmethod
    def see(self, checkpoints: Sequence[Seen]) -> None:
        """Keep these checkpoints among those seen (committed at once)."""

    @abc.abstractmethod
    def verified(self) -> Seen | None: ...

    @abc.abstractmethod
    def entries(self) -> Iterator[tuple[int, bytes]]:
        """The kept copy of the log, in index order."""

    @abc.abstractmethod
    def advance(self, checkpoint: Seen, entries: Sequence[tuple[int, bytes]]) -> None:
        """Add ``entries`` to the kept copy and make ``checkpoint`` the verified one, in
        one transaction."""


class MemoryMonitorStore(MonitorStore):
    """The fake: the same contract, in memory."""

    def __init__(self) -> None:
        self._seen: list[Seen] = []
        self._verified: Seen | None = None
        self._entries: list[bytes] = []

    def seen(self) -> list[Seen]:
        return list(self._seen)

    def see(self, checkpoints: Sequence[Seen]) -> None:
        for c in checkpoints:
            if c not in self._seen:
                self._seen.append(c)

    def verified(self) -> Seen | None:
        return self._verified

    def entries(self) -> Iterator[tuple[int, bytes]]:
        return iter(list(enumerate(self._entries)))

    def advance(self, checkpoint: Seen, entries: Sequence[tuple[int, bytes]]) -> None:
        if [i for i, _ in entries] != list(range(len(self._entries), checkpoint.size)):
            raise ValueError("entries must continue the kept copy up to the checkpoint")
        self._entries += [data for _, data in entries]
        self._verified = checkpoint


@dataclass(frozen=True, slots=True)
class Pass:
    """A pass that verified: the checkpoint now verified, the entries it added and
    the decisions re-verified in the whole copy, and the witnesses that cosigned."""

    size: int
    root: bytes
    added: int
    decisions: int
    cosigned: tuple[str, ...]
    # authority -> its decisions recorded unsigned (it names no root key): not a failure
    unsigned: Mapping[str, int] = field(default_factory=dict)

    @property
    def signed(self) -> int:
        """The decisions whose signature was verified."""
        return self.decisions - sum(self.unsigned.values())


def read_gossip(text: str, source: str, policy: Policy) -> Seen:
    """A checkpoint another party saw (a signed note, as ``DIR/checkpoint`` of its
    monitor holds): it must be signed by a log the policy names (the quorum is not
    required: a checkpoint shown to one party alone is what a split view looks like)."""
    last: Exception | None = None
    for log in policy.logs:
        try:
            c = open_checkpoint(text, log.name, log.public_key, origin=log.name)
        except ProofError as e:
            last = e
            continue
        return Seen(c.size, c.root, text, source)
    raise InputError(
        f"is not a checkpoint signed by a log the policy names: {last}", source=source
    ) from None


def run_pass(
    client: LogClient, store: MonitorStore, policy: Policy, gossip: Sequence[Seen] = ()
) -> Pass:
    """One pass (see the module docstring); raises :class:`AuditError` naming what failed."""
    note = client.checkpoint()
    try:
        new = read_gossip(note, client.source, policy)
    except InputError as e:
        raise AuditError(f"the checkpoint from {client.source}: {e.rule}") from None
    before = store.seen()
    store.see([new, *gossip])
    verified = store.verified()
    follower = Follower()
    kept: list[bytes] = []
    for index, data in store.entries():
        follower.add(index, data)
        kept.append(data)
    if verified is not None and (follower.size, follower.root()) != (
        verified.size,
        verified.root,
    ):
        raise AuditError(
            f"the monitor's own copy ({follower.size} entries) does not have the root of "
            f"the {describe_seen(verified)} it verified: its state directory was changed"
        )
    own = [s for s in before if s.source == client.source]
    biggest = max(own, key=lambda s: s.size, default=verified)
    if verified is not None and (biggest is None or verified.size > biggest.size):
        biggest = verified
    try:
        check_views(new, [*before, *gossip], biggest)
    except AuditError as e:
        raise _rewritten(client, kept[: new.size], str(e)) from None
    for i, g in enumerate(gossip):
        check_views(g, [*before, *gossip[:i]], None)
    try:  # after the views: a checkpoint shown to the log's monitors alone lacks the quorum
        quorum = check_quorum(policy, note)
    except QuorumError as e:
        raise AuditError(f"the checkpoint from {client.source}: {e}") from None
    if verified is not None and 0 < verified.size < new.size:
        proof = client.consistency(verified.size, new.size)
        try:
            verify_consistency(verified.size, new.size, proof, verified.root, new.root)
        except ProofError as e:
            both = f"the {describe_seen(verified)} and the {describe_seen(new)} are not consistent"
            raise _rewritten(client, kept, f"{both}: {e}") from None

    fetched = client.entries(follower.size, new.size) if follower.size < new.size else []
    for index, data in fetched:
        follower.add(index, data)
    if follower.size != new.size:
        raise AuditError(
            f"log index {follower.size}: missing (the {describe_seen(new)} has {new.size} entries)"
        )
    if follower.root() != new.root:
        start = verified.size if verified is not None else 0
        raise AuditError(
            f"log index {start} to {new.size - 1}: the entries {client.source} served do not "
            f"hash to the root of its {describe_seen(new)}"
        )
    store.advance(new, fetched)
    return Pass(
        new.size,
        new.root,
        len(fetched),
        follower.decisions,
        tuple(sorted(quorum.cosigned)),
        dict(follower.keys.unsigned),
    )


def _rewritten(client: LogClient, kept: list[bytes], why: str) -> AuditError:
    """``why`` (two checkpoints that cannot both be honest), naming first the entries the
    log now serves in place of those the monitor kept, when it does."""
    try:
        served = [data for _, data in client.entries(0, len(kept))] if kept else []
    except AuditError:
        served = []
    changed = changed_entries(kept, served)
    if not changed:
        return AuditError(why)
    first = changed[0]
    try:
        named = describe(first, parse_entry(kept[first]))
    except ValueError:
        named = describe(first, None)
    more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
    return AuditError(f"{named}: rewritten{more}: {why}")
