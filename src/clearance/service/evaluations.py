"""Use case: evaluate request documents against a scenario, storing nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from clearance.domain.clearance.evaluation import evaluate_many
from clearance.domain.clearance.model import Evaluation, Request
from clearance.domain.clearance.requests import parse_request
from clearance.domain.clearance.scenario import Scenario


@dataclass(frozen=True)
class Document:
    """A request document as read from a file or a body; ``source`` names where from."""

    source: str
    content: object


@dataclass(frozen=True)
class Evaluated:
    """One document's evaluation: what was read, from where, and what the rules say."""

    source: str
    request: Request
    evaluation: Evaluation


def evaluate_documents(documents: Sequence[Document], scenario: Scenario) -> list[Evaluated]:
    """Validate every document first, within the scenario's limits (the first bad one
    raises ``RequestError`` and nothing is evaluated), then evaluate them all in one
    batch. How far ahead a request may be filed is a submission's rule, not checked here."""
    requests = [
        parse_request(d.content, scenario, d.source, limits=scenario.limits) for d in documents
    ]
    evaluations = evaluate_many(requests, scenario)
    return [
        Evaluated(d.source, r, e) for d, r, e in zip(documents, requests, evaluations, strict=True)
    ]
