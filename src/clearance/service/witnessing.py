"""The log's side of witnessing: submit a new checkpoint to the witnesses a deployment
names and collect their cosignatures (C2SP tlog-witness, as its client).

:class:`Witnessing` holds the deployment's witness policy (``CLEARANCE_WITNESSES``: a
tlog-policy file whose ``witness`` lines carry URLs) and a :class:`WitnessClient`. For
each witness, in parallel, it sends ``add-checkpoint`` from the size it believes the
witness last cosigned (0 at first); a 409 names the witness's size, and it retries once
from there with the consistency proof ``proof(old, new)`` (which the caller serves from
the stored tree). A 200's cosignature is kept only if it verifies against the witness's
key in the policy. A witness that refuses (a rewrite, a rollback or a split view is
refused with 4xx) or cannot be reached contributes nothing, and is named in
``refusals``.
"""

from __future__ import annotations

import abc
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from clearance.domain.errors import ClearanceError
from clearance.domain.ledger.checkpoint import NoteError
from clearance.domain.ledger.policy import Policy, PolicyWitness
from clearance.domain.ledger.witness import (
    SIZE_MEDIA_TYPE,
    add_checkpoint_body,
    find_cosignature,
    split_note,
)

__all__ = ["Collected", "WitnessClient", "WitnessReply", "Witnessing"]

log = logging.getLogger("clearance.witnessing")

Proof = Callable[[int, int], list[bytes]]


@dataclass(frozen=True, slots=True)
class WitnessReply:
    status: int  # 0: no answer (the message says why)
    content_type: str  # the response's Content-Type header, as sent
    text: str


class WitnessClient(abc.ABC):
    """Sends an add-checkpoint body to a witness's submission prefix."""

    @abc.abstractmethod
    def add_checkpoint(self, url: str, body: bytes) -> WitnessReply: ...

    @abc.abstractmethod
    def close(self) -> None:
        """Release its connections."""


@dataclass
class Collected:
    """The cosignature lines (each with its newline) by policy witness name, and why the
    others gave none."""

    lines: dict[str, str] = field(default_factory=dict)
    refusals: dict[str, str] = field(default_factory=dict)


class Witnessing:
    def __init__(self, policy: Policy, client: WitnessClient) -> None:
        self.policy = policy
        self.client = client
        self.witnesses = [w for w in policy.witnesses.values() if w.url]
        self._sizes: dict[str, int] = {}  # what each witness last cosigned, as far as known
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, len(self.witnesses)), thread_name_prefix="clearance-witness"
        )

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.client.close()

    def collect(self, note: str, size: int, proof: Proof) -> Collected:
        """Submit ``note`` (a signed checkpoint of ``size`` entries) to every witness."""
        collected = Collected()
        futures = {
            w.name: self._pool.submit(self._one, w, note, size, proof) for w in self.witnesses
        }
        for name, future in futures.items():
            ok, text = future.result()
            if ok:
                collected.lines[name] = text
            else:
                collected.refusals[name] = text
                log.warning("witness %s gave no cosignature for size %d: %s", name, size, text)
        return collected

    def _one(self, w: PolicyWitness, note: str, size: int, proof: Proof) -> tuple[bool, str]:
        with self._lock:
            old = self._sizes.get(w.name, 0)
        for _ in range(2):
            if old > size:
                return False, f"it cosigned size {old}, above this checkpoint's {size} (a rollback)"
            try:
                path = proof(old, size) if 0 < old < size else []
            except ClearanceError as e:
                return False, f"no consistency proof from size {old}: {e}"
            assert w.url is not None
            reply = self.client.add_checkpoint(
                w.url.rstrip("/") + "/add-checkpoint", add_checkpoint_body(old, path, note)
            )
            media = reply.content_type.split(";")[0].strip().lower()
            if reply.status == 409 and media == SIZE_MEDIA_TYPE:
                text = reply.text
                if not (text.endswith("\n") and text[:-1].isascii() and text[:-1].isdigit()):
                    return False, f"409 with a malformed size {text!r}"
                old = int(text[:-1])
                with self._lock:
                    self._sizes[w.name] = old
                continue
            if reply.status != 200:
                return False, f"{reply.status or 'no answer'}: {reply.text.strip()[:300]}"
            return self._verified(w, note, size, reply.text)
        return False, "the witness's size kept changing"

    def _verified(self, w: PolicyWitness, note: str, size: int, text: str) -> tuple[bool, str]:
        try:
            body, _ = split_note(note)
            lines = [line for line in text.split("\n") if line]
            found = find_cosignature(body, lines, w.key_name, w.public_key)
        except (ClearanceError, NoteError) as e:
            return False, f"a bad cosignature: {e}"
        if found is None:
            return False, "no cosignature by its key in the answer"
        with self._lock:
            self._sizes[w.name] = size
        return True, found.line + "\n"
