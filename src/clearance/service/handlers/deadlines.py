"""Tell of what time brings (the server's sweep, beside ``expire_due``): a request
expiring soon, an authority's review deadline passed. Each is told once per subscription
(the outbox's ``once_key``), however often the sweep runs and on however many processes.
"""

from __future__ import annotations

from datetime import timedelta

from clearance.domain.documents import instant
from clearance.service.context import Context
from clearance.service.notify import messages_for, requester
from clearance.service.outbox import Message
from clearance.service.queries import deadlines_of

EXPIRING_SOON = timedelta(hours=1)


def tell_due(ctx: Context, soon: timedelta = EXPIRING_SOON) -> int:
    """Add to the outbox the ``expiring_soon`` of pending requests whose first time_start
    is within ``soon``, and the ``deadline_passed`` of reviews past their authority's
    deadline; returns how many messages were added."""
    now = ctx.clock.now()
    messages: list[Message] = []
    with ctx.uow() as uow:
        for record in uow.requests.due_for_expiry(now + soon):
            if record.time_start <= now:
                continue  # expire_due's
            to = [*requester(record), *(("authority", a) for a in record.awaiting())]
            key = f"{record.id}@{instant(record.time_start)}"
            messages += messages_for(uow, "expiring_soon", to, record, {}, now, key)
        ruled = [a for a, x in ctx.current_scenario().authorities.items() if x.review_deadline]
        for authority in ruled:
            for record in uow.requests.needing_review(authority):
                if record.time_start <= now or authority not in record.awaiting():
                    continue
                at = deadlines_of(ctx, record).get(authority)
                if at is None or at > now:
                    continue
                detail = {"authority": authority, "review_deadline": instant(at)}
                key = f"{record.id}:{authority}@{instant(record.waiting_since(authority))}"
                to = [("authority", authority)]
                messages += messages_for(uow, "deadline_passed", to, record, detail, now, key)
        added = uow.webhooks.enqueue(messages) if messages else 0
        uow.commit()
    return added
