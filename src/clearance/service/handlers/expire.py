"""Requests still pending at their first time_start expire (the server's sweep)."""

from __future__ import annotations

from clearance.service.context import Context


def expire_due(ctx: Context) -> list[str]:
    """Expire every request still pending at its first time_start; returns their ids."""
    now = ctx.clock.now()
    with ctx.uow() as uow:
        expired = []
        for record in uow.requests.due_for_expiry(now):
            loaded = record.version
            if record.expire_if_due(now):
                uow.requests.save(record, loaded)
                expired.append(record)
        uow.commit()
    return [r.id for r in expired]
