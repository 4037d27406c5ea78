"""An authority's member approves or denies the approval it holds on a request."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from clearance.domain.airspace.volumes import parse_volume
from clearance.domain.clearance import access
from clearance.domain.clearance.model import Conditions, Principal
from clearance.domain.clearance.workflow import Decision, RequestRecord
from clearance.domain.documents import Fields, instant
from clearance.domain.errors import (
    ConflictError,
    DecisionSignatureError,
    ForbiddenError,
    RequestError,
)
from clearance.domain.ledger.members import key_text
from clearance.domain.ledger.signatures import verify_signed
from clearance.service.context import Context
from clearance.service.documents import loggable
from clearance.service.notify import record_changed
from clearance.service.ports import UnitOfWork
from clearance.service.queries import visible

# How far a signed decision's time may lie from the service's clock: a statement signed
# long ago (or ahead) is refused rather than dated by the signer's word.
SIGNED_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class Signed:
    """A decision signed where it was made: the time it states and the member's
    signature of its statement (``domain.ledger.signatures``)."""

    at: datetime
    signature: str


def decide(
    ctx: Context,
    who: Principal,
    request_id: str,
    authority: str,
    decision: Decision,
    comment: str = "",
    conditions: object = None,
    expected_version: int | None = None,
    signed: Signed | None = None,
) -> RequestRecord:
    """Record ``who``'s decision for ``authority``. With ``expected_version`` (the version
    its author saw: the API's If-Match), a request changed since is refused (409).

    An authority that keeps a root key (``Authority.root_key``) has its decisions signed
    by the member who makes them, with the key it enrolled for them: ``signed`` is then
    required, and checked against that key for the statement of this very decision (this
    request, the version it creates, this document). Otherwise the decision is recorded
    unsigned: the service holds no authority's key, so nothing proves that authority's
    consent, and every verifier reports such decisions as unsigned."""
    access.must_be_member(who, authority)
    with ctx.uow() as uow:
        record = visible(uow, who, request_id)
        loaded = record.version
        if expected_version is not None and loaded != expected_version:
            raise ConflictError(
                f"request {request_id} is at version {loaded}, not {expected_version}: "
                "read it again before deciding"
            )
        now = ctx.clock.now()
        if record.expire_if_due(now):
            uow.requests.save(record, loaded)
            uow.commit()
            raise ConflictError(f"request {request_id} expired at {instant(record.time_start)}")
        access.must_decide(who, record, authority, decision)
        parsed = read_conditions(conditions, record) if conditions is not None else None
        # the current version names who keeps a root key (revocations do not matter here)
        keeper = ctx.scenarios.current(uow).authorities.get(authority)
        root = keeper.root_key if keeper is not None else None
        key: bytes | None = None
        sign: Callable[[bytes], str] | None = None
        if root is not None:
            key, sign, now = _member_signed(uow, who.name, authority, signed, now)
        elif signed is not None:
            raise ForbiddenError(
                f"{authority} names no root key in the scenario: its decisions are recorded "
                "unsigned, and no member's signature is taken for it"
            )
        try:
            record.decide(
                authority, decision, who.name, now, comment, parsed, sign,
                key=key_text(key) if key else None,
            )  # fmt: skip
        except DecisionSignatureError as e:
            raise ForbiddenError(
                f"{e} with the key enrolled for {who.name} of {authority}"
            ) from None
        record_changed(uow, record)
        uow.requests.save(record, loaded)
        uow.commit()
    return record


def _member_signed(
    uow: UnitOfWork, member: str, authority: str, signed: Signed | None, now: datetime
) -> tuple[bytes, Callable[[bytes], str], datetime]:
    """The member's enrolled key, a ``sign`` that checks their signature instead of making
    one, and the time their statement names."""
    if signed is None:
        raise ForbiddenError(
            f"decisions for {authority} are signed by the member who makes them: sign the "
            "decision's statement with your enrolled key (clearance request decide --key FILE)"
        )
    key = uow.member_keys.active(authority, member)
    if key is None:
        raise ForbiddenError(f"no key is enrolled for {member} of {authority} (or it was revoked)")
    if abs(signed.at - now) > SIGNED_WINDOW:
        raise RequestError(
            f"the decision is signed at {instant(signed.at)}, more than "
            f"{SIGNED_WINDOW.seconds // 60} minutes from the service's time ({instant(now)})",
            field="at",
        )

    def check(payload: bytes) -> str:
        verify_signed(key, json.loads(payload), signed.signature, "decision")
        return signed.signature

    return key, check, signed.at


def read_conditions(raw: object, record: RequestRecord) -> Conditions:
    """Conditions attached to an approval; a narrower window must lie within the request's."""
    f = Fields(raw, path="conditions", error=RequestError)
    f.only("text", "time_start", "time_end", "volume")
    text = f.text("text")
    start = f.instant("time_start") if f.has("time_start") else None
    end = f.instant("time_end") if f.has("time_end") else None
    lo, hi = start or record.time_start, end or record.time_end
    if lo >= hi:
        raise f.fail("time_end must be after time_start", "time_end")
    if lo < record.time_start or hi > record.time_end:
        raise f.fail(
            f"the window must lie within the request's ({instant(record.time_start)} to "
            f"{instant(record.time_end)})"
        )
    volume = None
    if f.has("volume"):
        raw_volume = f.raw("volume")
        parse_volume(f.obj("volume"))
        assert isinstance(raw_volume, dict)
        loggable(raw_volume, "conditions.volume")
        volume = raw_volume
    return Conditions(text, start, end, volume)
