"""Evaluate requests: feasibility, route, grants, Cedar policies, outcome.

``evaluate_many`` evaluates a batch so that the Cedar questions of all requests go to
the policy engine together; ``evaluate`` is the one-request case. The result never
depends on batch composition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from clearance.domain.clearance.feasibility import check_feasibility
from clearance.domain.clearance.grants import Coverage, coverage
from clearance.domain.clearance.model import (
    Approval,
    ApprovalStatus,
    Evaluation,
    Request,
    Violation,
    outcome_of,
)
from clearance.domain.clearance.policy import Question
from clearance.domain.clearance.routing import RoutedApproval, route
from clearance.domain.clearance.scenario import Scenario


@dataclass(frozen=True, slots=True)
class _Prepared:
    routed: list[RoutedApproval]
    covered: dict[str, Coverage]
    violations: list[Violation]
    questions: list[tuple[RoutedApproval, Question]]


def evaluate(request: Request, scenario: Scenario) -> Evaluation:
    return evaluate_many([request], scenario)[0]


def evaluate_many(requests: Sequence[Request], scenario: Scenario) -> list[Evaluation]:
    prepared = [_prepare(r, scenario) for r in requests]
    flat = [q for p in prepared for _, q in p.questions]
    verdicts = iter(scenario.policy.decide(flat))
    out = []
    for p in prepared:
        approvals = []
        for routed in p.routed:
            party = scenario.authorities[routed.authority].party
            cover = p.covered[routed.authority]
            if cover.grant is not None:
                g = cover.grant
                reasons = (
                    f"grant {g.id} from {g.grantor} covers this operation",
                    *(f"condition: {c}" for c in g.conditions),
                )
                approvals.append(
                    Approval(
                        routed.authority,
                        party,
                        routed.stage,
                        ApprovalStatus.COVERED_BY_GRANT,
                        reasons,
                        (),
                        g.id,
                        routed.volumes,
                    )
                )
                continue
            v = next(verdicts)
            approvals.append(
                Approval(
                    routed.authority,
                    party,
                    routed.stage,
                    v.status,
                    v.reasons + cover.shortfalls,
                    v.policies,
                    None,
                    routed.volumes,
                )
            )
        approvals_t = tuple(approvals)
        violations_t = tuple(p.violations)
        outcome = outcome_of(approvals_t, violations_t)
        out.append(Evaluation(outcome, approvals_t, violations_t, scenario.version))
    return out


def _prepare(request: Request, scenario: Scenario) -> _Prepared:
    operator = scenario.operators[request.operator]
    touched = [scenario.territories_touched(v.footprint) for v in request.volumes]
    routed = route(request, scenario, touched)
    all_touched = sorted({p for ps in touched for p in ps})
    covered = {s.authority: coverage(request, s.authority, s.volumes, scenario) for s in routed}
    # A host party consents by grant when one of its authorities' grants covers the
    # volumes over its territory, whether or not that authority is routed here.
    consenting: set[str] = {a for a, c in covered.items() if c.grant is not None}
    for host in all_touched:
        if host == operator.party:
            continue
        over = [i for i, ps in enumerate(touched) if host in ps]
        for auth in scenario.authorities.values():
            if (
                auth.party == host
                and auth.id not in covered
                and coverage(request, auth.id, over, scenario).grant is not None
            ):
                consenting.add(auth.id)
    hosts_consenting = {scenario.authorities[a].party for a in consenting}
    foreign = [p for p in all_touched if p != operator.party]
    site = scenario.sites[request.launch_site]
    aircraft = scenario.aircraft[request.aircraft]
    context = {
        "payload": request.payload.value,
        "purpose": request.purpose,
        "aircraft": aircraft.id,
        "aircraft_type": aircraft.type,
        "launch_site": site.id,
        "launch_site_munitions_storage": all(
            site.stores_munitions_for(operator.party, v.time_start) for v in request.volumes
        ),
        "territories": all_touched,
        "foreign_territory": bool(foreign),
        "covering_grants": sorted(consenting),
        "host_consent_by_grant": bool(foreign) and all(p in hosts_consenting for p in foreign),
    }
    questions = [
        (s, Question(request.operator, s.authority, context))
        for s in routed
        if covered[s.authority].grant is None
    ]
    return _Prepared(routed, covered, check_feasibility(request, scenario), questions)


def with_violations(evaluation: Evaluation, extra: Sequence[Violation]) -> Evaluation:
    """The same evaluation with more violations (deconfliction adds them)."""
    if not extra:
        return evaluation
    violations = (*evaluation.violations, *extra)
    return replace(
        evaluation,
        outcome=outcome_of(evaluation.approvals, violations),
        violations=violations,
    )
