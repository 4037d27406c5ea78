"""An authority's member approves or denies the approval it holds on a request."""

from __future__ import annotations

from clearance.domain.airspace.volumes import parse_volume
from clearance.domain.clearance import access
from clearance.domain.clearance.model import Conditions, Principal
from clearance.domain.clearance.workflow import Decision, RequestRecord
from clearance.domain.documents import Fields, instant
from clearance.domain.errors import ConflictError, RequestError
from clearance.service.audit import decision_signer
from clearance.service.context import Context
from clearance.service.documents import loggable
from clearance.service.queries import visible


def decide(
    ctx: Context,
    who: Principal,
    request_id: str,
    authority: str,
    decision: Decision,
    comment: str = "",
    conditions: object = None,
    expected_version: int | None = None,
) -> RequestRecord:
    """Record ``who``'s decision for ``authority``. With ``expected_version`` (the version
    its author saw: the API's If-Match), a request changed since is refused (409)."""
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
            ctx.airspace.settle(record)
            raise ConflictError(f"request {request_id} expired at {instant(record.time_start)}")
        access.must_decide(who, record, authority, decision)
        parsed = _conditions(conditions, record) if conditions is not None else None
        sign = decision_signer(uow, ctx.signer, authority) if ctx.signer else None
        record.decide(authority, decision, who.name, now, comment, parsed, sign)
        uow.requests.save(record, loaded)
        uow.commit()
    ctx.airspace.settle(record)
    return record


def _conditions(raw: object, record: RequestRecord) -> Conditions:
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
