"""Each authority's Cedar policies, parsed once and asked in batches.

Contract: for one (operator, authority, operation facts) the engine answers

- ``auto_approved`` when a ``permit`` for action ``approve`` holds and no ``forbid`` does;
- ``denied`` when a ``forbid`` holds (for either action), naming it;
- ``needs_review`` when no ``approve`` permit holds but a ``refer`` permit does;
- ``denied`` when nothing permits either: Cedar denies by default, and so do we.

Every policy carries ``@id("...")`` and ``@reason("...")``; the reason is the sentence
shown to people. A policy in ``policies/<authority>.cedar`` must name that authority as
its resource, so one authority can never decide for another. Answers are memoised: a
decision depends on nothing but its inputs, and the same few facts recur constantly.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import cedarpy

from clearance.domain.clearance.model import ApprovalStatus
from clearance.domain.errors import ScenarioError

SCHEMA_TEXT = (
    files("clearance.domain.clearance").joinpath("clearance.cedarschema").read_text("utf-8")
)
ACTIONS = ("approve", "refer")


@dataclass(frozen=True, slots=True)
class PolicyText:
    """One authority's policy file."""

    authority: str
    source: str
    text: str


@dataclass(frozen=True, slots=True)
class PolicyInfo:
    id: str
    authority: str
    effect: str
    reason: str


@dataclass(frozen=True, slots=True)
class Question:
    """May ``operator`` have ``authority``'s approval, given the operation facts?

    ``context`` values are strings, booleans or sorted lists of strings (Cedar sets).
    """

    operator: str
    authority: str
    context: Mapping[str, Any]

    @staticmethod
    def context_key(context: Mapping[str, Any]) -> tuple[Any, ...]:
        """A hashable form of a context; compute it once per request, not per question."""
        return tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in context.items())


@dataclass(frozen=True, slots=True)
class Verdict:
    status: ApprovalStatus
    policies: tuple[str, ...]
    reasons: tuple[str, ...]


class PolicyEngine:
    """All authorities' policies in one Cedar ``PolicySet``, validated against the schema."""

    def __init__(
        self,
        texts: Sequence[PolicyText],
        entities: list[dict[str, Any]],
        *,
        cache_size: int = 65536,
    ) -> None:
        self.schema = cedarpy.Schema.from_str(SCHEMA_TEXT)
        self.policies: dict[str, PolicyInfo] = {}
        for t in texts:
            for info in _read_policies(t):
                if info.id in self.policies:
                    raise ScenarioError(
                        f"policy id {info.id!r} is also used by {self.policies[info.id].authority}",
                        source=t.source,
                        field=f"policy {info.id}",
                    )
                self.policies[info.id] = info
        combined = "\n".join(t.text for t in texts)
        self.policy_set = cedarpy.PolicySet.from_str(combined)
        try:
            self.entities = cedarpy.Entities.from_json_str(json.dumps(entities), self.schema)
        except ValueError as e:  # pragma: no cover - the loader builds entities itself
            raise ScenarioError(f"entities do not match the Cedar schema: {e}") from None
        self._cache: OrderedDict[tuple[Any, ...], Verdict] = OrderedDict()
        self._cache_size = cache_size

    def decide(self, questions: Sequence[Question]) -> list[Verdict]:
        """Answer every question, in order, with at most two batched Cedar calls."""
        context_keys: dict[int, tuple[Any, ...]] = {}
        keys = []
        for q in questions:
            ck = context_keys.get(id(q.context))
            if ck is None:
                ck = context_keys[id(q.context)] = Question.context_key(q.context)
            keys.append((q.operator, q.authority, ck))
        answers: list[Verdict | None] = [self._cached(k) for k in keys]
        todo = [i for i, a in enumerate(answers) if a is None]
        if todo:
            approve = self._ask([questions[i] for i in todo], "approve")
            refer_needed = [i for i, r in zip(todo, approve, strict=True) if _undecided(r)]
            refer = dict(
                zip(
                    refer_needed,
                    self._ask([questions[i] for i in refer_needed], "refer"),
                    strict=True,
                )
            )
            for i, r in zip(todo, approve, strict=True):
                verdict = self._verdict(questions[i], r, refer.get(i))
                answers[i] = verdict
                self._remember(keys[i], verdict)
        return [a for a in answers if a is not None]

    def _ask(self, questions: Sequence[Question], action: str) -> list[cedarpy.AuthzResult]:
        if not questions:
            return []
        requests = [
            {
                "principal": {"type": "Operator", "id": q.operator},
                "action": {"type": "Action", "id": action},
                "resource": {"type": "Authority", "id": q.authority},
                "context": dict(q.context),
            }
            for q in questions
        ]
        results: list[cedarpy.AuthzResult] = cedarpy.is_authorized_batch(
            requests, self.policy_set, self.entities
        )
        return results

    def _verdict(
        self, q: Question, approve: cedarpy.AuthzResult, refer: cedarpy.AuthzResult | None
    ) -> Verdict:
        errors = tuple(approve.diagnostics.errors) + (
            tuple(refer.diagnostics.errors) if refer else ()
        )
        if approve.allowed:
            return self._explain(ApprovalStatus.AUTO_APPROVED, approve)
        if refer is None:  # a forbid decided
            return self._explain(ApprovalStatus.DENIED, approve)
        if refer.allowed:
            return self._explain(ApprovalStatus.NEEDS_REVIEW, refer)
        if refer.diagnostics.reasons:
            return self._explain(ApprovalStatus.DENIED, refer)
        detail = f" (policy errors: {'; '.join(errors)})" if errors else ""
        return Verdict(
            ApprovalStatus.DENIED,
            (),
            (
                f"no policy of {q.authority} approves this operation or refers it for review{detail}",
            ),
        )

    def _explain(self, status: ApprovalStatus, result: cedarpy.AuthzResult) -> Verdict:
        by_reason = result.diagnostics.id_annotations_by_reason
        ids = tuple(sorted(by_reason[r] for r in result.diagnostics.reasons))
        return Verdict(status, ids, tuple(self.policies[i].reason for i in ids))

    def resize_cache(self, size: int) -> None:
        """Keep at most ``size`` answers (0 turns the cache off); clears it."""
        self._cache.clear()
        self._cache_size = size

    def _cached(self, key: tuple[Any, ...]) -> Verdict | None:
        verdict = self._cache.get(key)
        if verdict is not None:
            self._cache.move_to_end(key)
        return verdict

    def _remember(self, key: tuple[Any, ...], verdict: Verdict) -> None:
        if self._cache_size <= 0:
            return
        self._cache[key] = verdict
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


def _undecided(result: cedarpy.AuthzResult) -> bool:
    """Denied only because nothing permitted it (no forbid fired): ask about review."""
    return not result.allowed and not result.diagnostics.reasons


def _read_policies(t: PolicyText) -> list[PolicyInfo]:
    """Parse and check one file: syntax, schema, annotations and resource scope."""
    try:
        parsed = json.loads(cedarpy.policies_to_json_str(t.text))
    except (ValueError, RuntimeError) as e:
        raise ScenarioError(f"Cedar syntax error: {_first_line(e)}", source=t.source) from None
    if parsed.get("templates"):
        raise ScenarioError("policy templates are not supported", source=t.source)
    result = cedarpy.validate_policies(t.text, SCHEMA_TEXT)
    annotated: dict[str, dict[str, Any]] = parsed.get("staticPolicies", {})
    if not result.validation_passed:
        err = result.errors[0]
        pid = annotated.get(err.policy_id, {}).get("annotations", {}).get("id", err.policy_id)
        raise ScenarioError(
            f"does not validate against the Cedar schema: {err.error}",
            source=t.source,
            field=f"policy {pid}" if pid else "",
        )
    infos = []
    for parser_id, body in annotated.items():
        notes = body.get("annotations", {})
        pid = notes.get("id")
        where = f"policy {pid or parser_id}"
        if not pid:
            raise ScenarioError('needs an @id("...") annotation', source=t.source, field=where)
        if not notes.get("reason"):
            raise ScenarioError(
                '@reason("...") is required: the sentence people see', source=t.source, field=where
            )
        scope = body.get("resource", {})
        wanted = {"type": "Authority", "id": t.authority}
        if scope.get("op") != "==" or scope.get("entity") != wanted:
            raise ScenarioError(
                f'resource must be Authority::"{t.authority}" (a file speaks for its authority only)',
                source=t.source,
                field=where,
            )
        infos.append(PolicyInfo(pid, t.authority, body["effect"], notes["reason"]))
    return infos


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
