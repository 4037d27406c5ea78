"""The log's side of witnessing (service.witnessing) against in-process witnesses
(service.witness over the memory store) behind a fake client: the 409 retry, the
consistency proofs, and what is refused or not trusted."""

from __future__ import annotations

from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clearance.domain.errors import ClearanceError, OldSizeError
from clearance.domain.ledger.merkle import consistency_proof_for
from clearance.domain.ledger.policy import parse_policy
from clearance.domain.ledger.witness import SIZE_MEDIA_TYPE, LogKey, cosigner_vkey
from clearance.service.witness import MemoryWitnessStore, Witness
from clearance.service.witnessing import WitnessClient, Witnessing, WitnessReply
from tests.witnesskit import PlayedLog


class InProcess(WitnessClient):
    """Routes each URL to a Witness object, answering as the HTTP layer does."""

    def __init__(self, witnesses: dict[str, Witness]) -> None:
        self.witnesses = witnesses
        self.calls: list[tuple[str, int]] = []
        self.tamper = False
        self.closed = False

    def add_checkpoint(self, url: str, body: bytes) -> WitnessReply:
        name = url.split("/")[2]
        self.calls.append((name, int(body.split(b"\n", 1)[0][4:])))
        try:
            lines = self.witnesses[name].add_checkpoint(body).lines
        except OldSizeError as e:
            return WitnessReply(409, SIZE_MEDIA_TYPE, f"{e.size}\n")
        except ClearanceError as e:
            return WitnessReply(422, "application/problem+json", str(e))
        if self.tamper:
            lines = lines[:-6] + ("A" if lines[-6] != "A" else "B") + lines[-5:]
        return WitnessReply(200, "text/plain; charset=utf-8", lines)

    def close(self) -> None:
        self.closed = True


def setup(log: PlayedLog) -> tuple[Witnessing, InProcess]:
    witnesses = {
        n: Witness(
            f"witness.test/{n}",
            Ed25519PrivateKey.generate(),
            [LogKey(log.origin, log.public_key)],
            MemoryWitnessStore(),
            lambda: 1_800_000_000,
        )
        for n in ("us", "ne", "fr")
    }
    policy = parse_policy(
        "".join(
            f"witness {n} {cosigner_vkey(w.name, w.key.public_key())} http://{n}/\n"
            for n, w in witnesses.items()
        )
        + "group all3 all us ne fr\nquorum all3\n"
    )
    client = InProcess(witnesses)
    return Witnessing(policy, client), client


def proof_of(log: PlayedLog) -> Callable[[int, int], list[bytes]]:
    return lambda a, b: consistency_proof_for(a, b, log.leaves)


def test_the_first_submission_learns_the_size_from_409_and_then_sends_proofs() -> None:
    log = PlayedLog()
    witnessing, client = setup(log)
    first = witnessing.collect(log.note(5), 5, proof_of(log))
    assert set(first.lines) == {"us", "ne", "fr"}
    assert sorted(client.calls) == [("fr", 0), ("ne", 0), ("us", 0)]
    client.calls.clear()
    second = witnessing.collect(log.note(9), 9, proof_of(log))
    assert set(second.lines) == {"us", "ne", "fr"}
    assert sorted(client.calls) == [("fr", 5), ("ne", 5), ("us", 5)]
    # a fresh log process (knowing no size) gets 409 and retries from the witness's size
    again = Witnessing(witnessing.policy, client)
    client.calls.clear()
    assert set(again.collect(log.note(12), 12, proof_of(log)).lines) == {"us", "ne", "fr"}
    again.close()
    assert sorted(client.calls) == [
        ("fr", 0),
        ("fr", 9),
        ("ne", 0),
        ("ne", 9),
        ("us", 0),
        ("us", 9),
    ]
    witnessing.close()
    assert client.closed


def test_a_rewritten_tree_or_a_rollback_collects_nothing_and_says_why() -> None:
    log = PlayedLog()
    witnessing, _ = setup(log)
    witnessing.collect(log.note(8), 8, proof_of(log))
    log.rewrite(2)
    forged = witnessing.collect(log.note(8), 8, proof_of(log))
    assert forged.lines == {}
    assert all("split view" in why for why in forged.refusals.values())
    rolled = witnessing.collect(log.note(6), 6, proof_of(log))
    assert rolled.lines == {}
    assert all("a rollback" in why for why in rolled.refusals.values())


def test_a_cosignature_that_does_not_verify_is_not_kept() -> None:
    log = PlayedLog()
    witnessing, client = setup(log)
    client.tamper = True
    collected = witnessing.collect(log.note(4), 4, proof_of(log))
    assert collected.lines == {}
    assert all("does not verify" in why for why in collected.refusals.values())
