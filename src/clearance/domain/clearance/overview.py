"""The overview: requests by state, and how long each authority keeps requests waiting.

An authority's **waiting time** for one decision runs from when its approval could first be
decided (``workflow.waiting_since``: submission, or the end of the earlier stages)
to the moment a person decided it. Approvals given by policy or grant take no one's time
and are not counted. The median and the 90th percentile (nearest rank) of those times,
per authority, show where the chain is slow; approvals still waiting are reported
separately (how many, and the oldest), since the slowest desks are often the ones that
have not decided yet. A request **cleared automatically** had every approval given by a
policy or a standing grant: no person's step.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from clearance.domain.clearance.model import ApprovalStatus
from clearance.domain.clearance.workflow import (
    RequestRecord,
    RequestState,
    awaiting,
    due_to_expire,
    waiting_since,
)

BY_RULE = frozenset({ApprovalStatus.AUTO_APPROVED, ApprovalStatus.COVERED_BY_GRANT})


@dataclass(frozen=True, slots=True)
class ApprovalTimes:
    """One approval of a chain, as far as the overview needs it."""

    authority: str
    stage: int
    status: ApprovalStatus
    at: datetime | None
    by: str | None


@dataclass(frozen=True, slots=True)
class ChainTimes:
    """One request, as far as the overview needs it: a few columns, no document (what a
    repository can read fast for thousands of requests)."""

    id: str
    state: RequestState
    created_at: datetime
    time_start: datetime
    approvals: tuple[ApprovalTimes, ...]

    @classmethod
    def of(cls, record: RequestRecord) -> ChainTimes:
        approvals = tuple(
            ApprovalTimes(a.authority, a.stage, a.status, a.at, a.by) for a in record.approvals
        )
        return cls(record.id, record.state, record.created_at, record.time_start, approvals)

    def state_at(self, now: datetime) -> RequestState:
        """The state as a read at ``now`` shows it: still pending at its start, expired."""
        return (
            RequestState.EXPIRED if due_to_expire(self.state, self.time_start, now) else self.state
        )


@dataclass(frozen=True, slots=True)
class AuthorityWaits:
    authority: str
    decisions: int
    median_wait_seconds: float | None
    p90_wait_seconds: float | None
    waiting_now: int
    oldest_waiting_seconds: float | None


@dataclass(frozen=True, slots=True)
class Overview:
    requests: int
    by_state: dict[str, int]
    authorities: list[AuthorityWaits]  # slowest median first; no decision yet last
    cleared_automatically: int = 0  # cleared with no person's step: policies and grants

    @property
    def automatic_share(self) -> float | None:
        """The share of the cleared requests that no person had to approve."""
        cleared = self.by_state.get(RequestState.CLEARED.value, 0)
        return self.cleared_automatically / cleared if cleared else None

    @property
    def bottleneck(self) -> str | None:
        """The authority whose decisions wait longest (by median), if any kept one
        waiting at all."""
        slow = [a for a in self.authorities if (a.median_wait_seconds or 0.0) > 0.0]
        return slow[0].authority if slow else None  # no one, when every decision was instant


def nearest_rank(sorted_values: list[float], share: float) -> float:
    """The ``share`` percentile by nearest rank: the smallest value with at least that
    share of the values at or below it.

    >>> nearest_rank([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 0.9)
    9.0
    >>> nearest_rank([4.0], 0.9)
    4.0
    """
    if not sorted_values:
        raise ValueError("no values")
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


def overview(chains: Iterable[ChainTimes], now: datetime) -> Overview:
    by_state: Counter[str] = Counter({s.value: 0 for s in RequestState})
    waits: defaultdict[str, list[float]] = defaultdict(list)
    waiting: defaultdict[str, list[float]] = defaultdict(list)
    seen: set[str] = set()
    count = automatic = 0
    for chain in chains:
        count += 1
        state = chain.state_at(now)
        by_state[state.value] += 1
        if state is RequestState.CLEARED and all(a.status in BY_RULE for a in chain.approvals):
            automatic += 1
        holding = set(awaiting(state, chain.approvals))
        for approval in chain.approvals:
            if approval.by is not None and approval.at is not None:
                since = waiting_since(chain.approvals, chain.created_at, approval.stage)
                waits[approval.authority].append((approval.at - since).total_seconds())
                seen.add(approval.authority)
            elif approval.authority in holding:
                since = waiting_since(chain.approvals, chain.created_at, approval.stage)
                waiting[approval.authority].append(max(0.0, (now - since).total_seconds()))
                seen.add(approval.authority)
    rows = []
    for authority in seen:
        done = sorted(max(0.0, w) for w in waits[authority])
        now_waiting = waiting[authority]
        rows.append(
            AuthorityWaits(
                authority=authority,
                decisions=len(done),
                median_wait_seconds=statistics.median(done) if done else None,
                p90_wait_seconds=nearest_rank(done, 0.9) if done else None,
                waiting_now=len(now_waiting),
                oldest_waiting_seconds=max(now_waiting) if now_waiting else None,
            )
        )
    rows.sort(
        key=lambda r: (r.median_wait_seconds is None, -(r.median_wait_seconds or 0), r.authority)
    )
    return Overview(count, dict(by_state), rows, automatic)
