"""The operator withdraws its request."""

from __future__ import annotations

from clearance.domain.clearance import access
from clearance.domain.clearance.model import Principal
from clearance.domain.clearance.workflow import RequestRecord
from clearance.service.context import Context
from clearance.service.queries import visible


def withdraw(ctx: Context, who: Principal, request_id: str) -> RequestRecord:
    with ctx.uow() as uow:
        record = visible(uow, who, request_id)
        access.must_withdraw(who, record)
        loaded = record.version
        record.withdraw(who.name, ctx.clock.now())
        uow.requests.save(record, loaded)
        uow.commit()
    return record
