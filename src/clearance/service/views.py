"""Plain-data views of domain results, shared by the CLI's --json and the API."""

from __future__ import annotations

from typing import Any

from clearance.domain.model import Approval, Evaluation, Violation


def approval_view(a: Approval) -> dict[str, Any]:
    return {
        "authority": a.authority,
        "party": a.party,
        "stage": a.stage,
        "status": a.status.value,
        "reasons": list(a.reasons),
        "policies": list(a.policies),
        "grant": a.grant,
    }


def violation_view(v: Violation) -> dict[str, str]:
    return {"code": v.code, "message": v.message}


def evaluation_view(e: Evaluation) -> dict[str, Any]:
    return {
        "outcome": e.outcome.value,
        "approvals": [approval_view(a) for a in e.approvals],
        "violations": [violation_view(v) for v in e.violations],
    }
