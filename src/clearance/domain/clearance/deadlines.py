"""Review deadlines: how long an authority may take over a request it is asked to review.

A scenario gives an authority ``review_deadline: {within: PT4H, share_of_lead_time: 0.5}``:
the deadline is the earlier of ``within`` after the request reached the authority (its
stage opened) and that share of the time then left before the request's first
``time_start``. Either part may be left out, not both.

>>> from datetime import UTC, datetime, timedelta
>>> rule = ReviewDeadline(within=timedelta(hours=4), share_of_lead_time=0.5)
>>> at = datetime(2017, 11, 20, tzinfo=UTC)
>>> rule.due(at, at + timedelta(hours=2)).isoformat()
'2017-11-20T01:00:00+00:00'
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from clearance.domain.clearance.model import ReviewDeadline
from clearance.domain.clearance.workflow import RequestRecord


def review_deadlines(
    record: RequestRecord, rules: Mapping[str, ReviewDeadline | None]
) -> dict[str, datetime]:
    """The deadline of each authority the request waits for now that has a rule."""
    found = {}
    for authority in record.awaiting():
        rule = rules.get(authority)
        if rule is not None:
            found[authority] = rule.due(record.waiting_since(authority), record.time_start)
    return found
