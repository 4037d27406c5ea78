"""A witness's one use case: cosign a checkpoint that extends what it cosigned before.

:class:`Witness` holds the witness's name and key, the logs it follows and a
:class:`WitnessStore`; :meth:`Witness.add_checkpoint` parses a tlog-witness
``add-checkpoint`` body, and, in one atomic step of the store, reads what it last cosigned
for the checkpoint's origin, decides (:func:`clearance.domain.ledger.witness.check_submission`),
cosigns and stores the new checkpoint with its cosignature. Two submissions racing from
the same old size cannot both advance: the second sees the first's size and is refused
with it (409).

Contract of :class:`WitnessStore` (the SQLite one is ``adapters.witness_store``;
:class:`MemoryWitnessStore` is its fake): ``advance(origin, step)`` calls ``step`` with
the stored state of ``origin`` (or None) inside one transaction that no other
``advance`` can interleave with, stores what ``step`` returns and commits before
returning it; an exception from ``step`` stores nothing.
"""

from __future__ import annotations

import abc
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clearance.domain.ledger.witness import (
    LogKey,
    Witnessed,
    check_submission,
    cosign,
    cosigner_vkey,
    parse_add_checkpoint,
)

__all__ = ["Cosigned", "MemoryWitnessStore", "Witness", "WitnessState", "WitnessStore"]


@dataclass(frozen=True, slots=True)
class WitnessState:
    """What a witness last cosigned for one log: the tree, and the checkpoint note with
    the log's signature and this witness's cosignature (served to monitors)."""

    tree: Witnessed
    note: str


Step = Callable[[WitnessState | None], WitnessState]


class WitnessStore(abc.ABC):
    @abc.abstractmethod
    def advance(self, origin: str, step: Step) -> WitnessState:
        """Run ``step`` on the stored state of ``origin`` and store its result, atomically."""

    @abc.abstractmethod
    def latest(self, origin: str) -> WitnessState | None:
        """What was last cosigned for ``origin``, or None."""


class MemoryWitnessStore(WitnessStore):
    """The fake: a dict under a lock."""

    def __init__(self) -> None:
        self._states: dict[str, WitnessState] = {}
        self._lock = threading.Lock()

    def advance(self, origin: str, step: Step) -> WitnessState:
        with self._lock:
            state = step(self._states.get(origin))
            self._states[origin] = state
            return state

    def latest(self, origin: str) -> WitnessState | None:
        with self._lock:
            return self._states.get(origin)


@dataclass(frozen=True, slots=True)
class Cosigned:
    """The answer to an add-checkpoint call: the cosignature lines (each ending with a
    newline) and the tree they cosign."""

    lines: str
    size: int


class Witness:
    """One witness: ``name`` and ``key`` (Ed25519), the ``logs`` it follows, its store,
    and ``clock`` (POSIX seconds, for the cosignatures' timestamps)."""

    def __init__(
        self,
        name: str,
        key: Ed25519PrivateKey,
        logs: Iterable[LogKey],
        store: WitnessStore,
        clock: Callable[[], int] = lambda: int(time.time()),
    ) -> None:
        self.name = name
        self.key = key
        self.store = store
        self.clock = clock
        by_origin: dict[str, list[LogKey]] = {}
        for log in logs:
            by_origin.setdefault(log.name, []).append(log)
        self.logs: Mapping[str, Sequence[LogKey]] = by_origin

    @property
    def vkey(self) -> str:
        return cosigner_vkey(self.name, self.key.public_key())

    def add_checkpoint(self, body: bytes) -> Cosigned:
        """Cosign the checkpoint in ``body`` or raise the refusal (see
        :mod:`clearance.domain.ledger.witness`)."""
        submission = parse_add_checkpoint(body)
        line = ""

        def step(state: WitnessState | None) -> WitnessState:
            nonlocal line
            text, checkpoint = check_submission(
                submission, self.logs, state.tree if state is not None else None
            )
            line = cosign(text, self.name, self.key, max(self.clock(), 1))
            # keep the log's signatures only (not other witnesses' lines), then ours
            kept = _log_signatures(submission.note, self.logs[checkpoint.origin])
            return WitnessState(Witnessed(checkpoint.size, checkpoint.root), kept + line)

        origin = _origin_of(submission.note)
        state = self.store.advance(origin, step)
        return Cosigned(line, state.tree.size)

    def latest(self, origin: str) -> WitnessState | None:
        return self.store.latest(origin)


def _origin_of(note: str) -> str:
    return note.split("\n", 1)[0]


def _log_signatures(note: str, keys: Sequence[LogKey]) -> str:
    text, _, block = note.rpartition("\n\n")
    names = {k.name for k in keys}
    kept = [
        line for line in block.splitlines() if line.removeprefix("\u2014 ").split(" ")[0] in names
    ]
    return text + "\n\n" + "".join(line + "\n" for line in kept)
