"""The API's bodies as pydantic models, for the OpenAPI contract only.

The domain reads every document itself (``domain.requests``, ``domain.volumes``) and
stays the validator of record, so its error messages name the field its own way; these
models describe the same rules in JSON Schema so that a client, or a fuzzer, knows
exactly what is accepted. What JSON Schema cannot say is written in the descriptions and
answered 422 by the domain: an order between two fields (``altitude_lower`` <=
``altitude_upper``, ``time_start`` < ``time_end``, ``from`` <= ``to``), a polygon whose
edges cross or that wraps the 180th meridian, a calendar date that does not exist, and
the scenario's limits on windows and areas.

Ids a request names (operator, aircraft, launch site, purpose) are listed as enums from
the scenario the service runs, added when the OpenAPI is built (``openapi.py``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from clearance.domain.airspace.volumes import MAX_RADIUS_M
from clearance.domain.clearance.model import ApprovalStatus, Outcome, Payload
from clearance.domain.clearance.workflow import RequestState

# What Fields.text accepts: a string with a non-space character and no NUL.
TEXT = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"
# What Fields.instant accepts (documents.RFC3339, then datetime.fromisoformat): digits
# 0-9 only, a year from 0001, months 01-12, days 01-31, a Z or an offset under 24 h, and
# nothing after it (a JSON Schema "$" would allow a trailing newline).
RFC3339 = (
    r"^(?!0000)[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[Tt ]"
    r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])(?![\s\S])"
)
SOURCES = ("body", "query", "path", "header")
Source = Literal["body", "query", "path", "header"]


class _Strict(BaseModel):
    """An input object: any key not described is refused (``Fields.only``)."""

    # python-re: the RFC 3339 pattern needs a lookahead (these models only describe)
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")


# -- problems ----------------------------------------------------------------------


class ProblemItem(BaseModel):
    source: Source
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details; ``field`` and ``source`` say what to fix and where."""

    type: str = Field(description="urn:clearance:problem:<slug>, or about:blank")
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    field: str | None = Field(None, description="The path inside the body, or a parameter.")
    source: Source | None = Field(None, description="Where the field is.")
    errors: list[ProblemItem] | None = Field(None, description="Every invalid input, if several.")


# -- a request document: ASTM F3548-21 Volume4D ----------------------------------------


class LatLng(_Strict):
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)


class Radius(_Strict):
    value: float = Field(gt=0, le=MAX_RADIUS_M, description="Metres.")
    units: Literal["M"] = "M"


class Circle(_Strict):
    center: LatLng
    radius: Radius


class Polygon(_Strict):
    vertices: list[LatLng] = Field(
        min_length=3,
        json_schema_extra={"uniqueItems": True},
        description="At least 3 distinct vertices, without repeating the first at the "
        "end; edges (great circles) must not cross nor cross the 180th meridian.",
    )


class Altitude(_Strict):
    value: float = Field(description="Metres above the WGS84 ellipsoid.")
    reference: Literal["W84"] = "W84"
    units: Literal["M"] = "M"


class Time(_Strict):
    value: str = Field(pattern=RFC3339, description="RFC 3339 with Z or an offset.")
    format: Literal["RFC3339"] = "RFC3339"


class Volume3D(_Strict):
    """Exactly one outline (the other absent or null); altitude_lower <= altitude_upper."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": [key], "properties": {key: {"type": "object"}}}
                for key in ("outline_circle", "outline_polygon")
            ]
        }
    )
    outline_circle: Circle | None = None
    outline_polygon: Polygon | None = None
    altitude_lower: Altitude
    altitude_upper: Altitude


class Volume4D(_Strict):
    """F3548's Volume4D; time_start before time_end."""

    volume: Volume3D
    time_start: Time
    time_end: Time


def _text(description: str) -> Any:
    return Field(pattern=TEXT, description=description)


class RequestDocument(_Strict):
    """A request for an operation, as JSON or the same written as YAML."""

    operator: str = _text("The operator's id (one of the scenario's).")
    aircraft: str = _text("The aircraft's id.")
    payload: Payload
    purpose: str = _text("The purpose's id.")
    launch_site: str = _text("The launch site's id.")
    justification: str = _text("Why the operation is needed.")
    volumes: list[Volume4D] = Field(min_length=1)
    id: str | None = Field(None, pattern=TEXT, description="The operator's own label.")
    title: str | None = Field(None, pattern=TEXT, description="The operator's own title.")


class AnyAltitude(Altitude):
    """An altitude the scenario's limits on filed requests do not bound."""


class ConditionVolume3D(Volume3D):
    altitude_lower: AnyAltitude
    altitude_upper: AnyAltitude


class ConditionVolume4D(Volume4D):
    """A volume in an approval's conditions (the limits apply to filed requests only)."""

    volume: ConditionVolume3D


class ConditionsIn(_Strict):
    """Conditions on an approval: a text, and a window (and volume) within the request's."""

    text: str = _text("What the operator must do.")
    time_start: str | None = Field(None, pattern=RFC3339)
    time_end: str | None = Field(None, pattern=RFC3339)
    volume: ConditionVolume4D | None = None


class DecisionBody(_Strict):
    """``POST /v1/requests/{id}/decisions``; the caller decides for their own authority."""

    authority: str
    decision: Literal["approve", "deny"]
    comment: str = ""
    conditions: ConditionsIn | None = None
    at: str | None = Field(
        None,
        pattern=RFC3339,
        description="With signature: the time the member signed, RFC 3339 (within 5 minutes "
        "of the service's clock).",
    )
    signature: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9+/]{86}==$",
        description="The member's Ed25519 signature (base64) of the decision's statement "
        "(RFC 8785 JSON of request_id, version: the one this decision creates, "
        "document_digest, authority, decision, comment, conditions, by, at). Required for "
        "an authority that names a root key.",
    )


class MemberStatementFields(_Strict):
    """What the authority's root key signs (RFC 8785 JSON of these five fields)."""

    kind: Literal["member.enrolled", "member.key_revoked"]
    authority: str = Field(pattern=TEXT)
    member: str = Field(pattern=TEXT, min_length=1, max_length=200)
    public_key: str = Field(
        pattern=r"^[A-Za-z0-9+/]{43}=$",
        description="The member's raw Ed25519 public key, base64 (what `clearance key new` "
        "prints).",
    )
    at: str = Field(pattern=RFC3339)


class MemberStatementBody(_Strict):
    """``POST /v1/authorities/{id}/members`` (an enrollment) or ``.../members/revocations``
    (a key revocation): the statement and its root-key signature, made on the authority's
    own machine (`clearance member statement`); the root key never reaches the service."""

    statement: MemberStatementFields
    signature: str = Field(
        pattern=r"^[A-Za-z0-9+/]{86}==$",
        description="The authority root key's Ed25519 signature (base64) of the statement.",
    )


INPUTS: tuple[type[BaseModel], ...] = (
    Problem,
    RequestDocument,
    DecisionBody,
    MemberStatementBody,
)


# -- responses -------------------------------------------------------------------------


class Violation(BaseModel):
    code: str
    message: str


class Approval(BaseModel):
    authority: str
    party: str
    stage: int
    status: ApprovalStatus
    reasons: list[str]
    policies: list[str]
    grant: str | None


class Conditions(BaseModel):
    text: str
    time_start: str | None
    time_end: str | None
    volume: dict[str, Any] | None


class DecidedApproval(Approval):
    volumes: list[int]
    by: str | None
    at: str | None
    comment: str
    conditions: Conditions | None
    signature: str | None = Field(description="The authority's Ed25519 signature, base64.")


class _Summary(BaseModel):
    id: str
    version: int
    state: RequestState = Field(description="The request's one live state.")
    operator: str
    submitted_by: str
    created_at: str
    updated_at: str
    time_start: str
    time_end: str
    awaiting: list[str]


class LastEvaluation(BaseModel):
    """What the rules said when the request was last evaluated (its submission or latest
    amendment); the live ``state`` beside it moves on with the decisions."""

    outcome: Outcome
    violations: list[Violation]
    evaluated_at: str
    scenario_version: str = Field(
        description="The scenario version (SHA-256 of its files) the request was last "
        "evaluated against; it is shown and checked against that version."
    )


class ReviewDue(BaseModel):
    authority: str
    at: str


class RequestResource(_Summary):
    waiting_since: dict[str, str]
    evaluation: LastEvaluation
    approvals: list[DecidedApproval]
    review_deadlines: list[ReviewDue]
    document: dict[str, Any]


class Event(BaseModel):
    version: int
    kind: str
    at: str
    by: str | None
    detail: dict[str, Any]


class RequestWithEvents(RequestResource):
    events: list[Event]


class Amended(RequestResource):
    kept: list[str] = Field(description="Authorities whose decisions still hold.")
    reset: list[str] = Field(description="Authorities that must decide again.")


class RequestList(BaseModel):
    items: list[RequestResource]


class Override(BaseModel):
    request: str
    reasons: list[str]


class Held(BaseModel):
    """Another operation holds the airspace a volume asks for: when, and nothing else."""

    volume: int
    time_start: str
    time_end: str
    message: str


class Change(BaseModel):
    """One RFC 6902 operation on the request document."""

    op: Literal["replace", "remove"]
    path: str = Field(description="A JSON Pointer into the document.")
    value: Any = Field(None, description="The new value (``replace`` only).")


class Suggestion(BaseModel):
    description: str
    outcome: Outcome = Field(description="cleared or pending: never denied or infeasible.")
    reviews: int = Field(description="Approvals that would still need a person.")
    approvals: list[Approval] = Field(description="The chain it would get, by stage.")
    changes: list[Change]
    document: dict[str, Any] = Field(description="The document with the changes applied.")


class Alternatives(BaseModel):
    """What would clear it: the document's own evaluation (a conflict is stated only as
    when the airspace is held) and the smallest changes that clear it or shorten its
    chain, best first (cleared, then fewer reviews, then the smallest change), each
    evaluated as a submission would be now, nothing stored."""

    request: str | None = Field(description="The stored request; null for a document.")
    outcome: Outcome
    approvals: list[Approval]
    violations: list[Violation]
    held: list[Held]
    suggestions: list[Suggestion]


class Evaluation(BaseModel):
    """``POST /v1/evaluations``: what submitting the document would give now."""

    outcome: Outcome
    approvals: list[Approval]
    violations: list[Violation]
    overrides: list[Override]
    document: dict[str, Any]
    alternatives: Alternatives | None = Field(
        None, description="With ?suggest=true: what would clear it."
    )


class ForecastBrief(BaseModel):
    """When a request will likely clear (``GET /v1/requests/{id}/forecast`` has the
    steps): ``status`` ``forecast`` with the figures, ``not_enough_history`` naming the
    authorities with too few decisions, or ``not_pending``. Seconds count from now; a
    figure beyond the longest wait seen is null."""

    status: Literal["forecast", "not_enough_history", "not_pending"]
    median_seconds: float | None
    low_seconds: float | None = Field(description="10th percentile (the 80 % interval).")
    high_seconds: float | None = Field(description="90th percentile (the 80 % interval).")
    median_at: str | None
    clear_probability: float | None
    before_start_probability: float | None = Field(
        description="The chance that it clears before its first time_start."
    )
    not_enough_history: list[str]


class QueueItem(_Summary):
    waiting_since: str
    age_seconds: float
    review_deadline: str | None = Field(
        description="When the authority's review is due (the scenario's review_deadline)."
    )
    overdue: bool = Field(description="The review deadline has passed.")
    forecast: ForecastBrief


class Queue(BaseModel):
    authority: str
    items: list[QueueItem]


class MemberKeyView(BaseModel):
    authority: str
    member: str
    public_key: str
    enrolled_at: str
    revoked_at: str | None


class MemberKeys(BaseModel):
    authority: str
    root_key: str | None = Field(
        description="The authority's root public key (base64), or null when it names "
        "none (its decisions are then recorded unsigned); with one, each decision is signed by its member's enrolled key."
    )
    keys: list[MemberKeyView]


class Revoked(BaseModel):
    grant: str
    returned_to_review: list[str]


class Me(BaseModel):
    name: str
    operator: str | None
    authority: str | None
    now: str = Field(description="The service's present time (RFC 3339, UTC).")
    clock_rate: float = Field(
        ge=0,
        description="How fast the service's clock runs: seconds of its time per real second "
        "(1 real time, 0 pinned, a scenario's replay rate).",
    )


class AuthorityWaits(BaseModel):
    authority: str
    decisions: int
    median_wait_seconds: float | None
    p90_wait_seconds: float | None
    waiting_now: int
    oldest_waiting_seconds: float | None


class PendingForecast(ForecastBrief):
    request_id: str
    time_start: str


class PendingForecasts(BaseModel):
    pending: int = Field(description="Pending requests in the overview.")
    limit: int = Field(description="At most this many are forecast, soonest start first.")
    min_decisions: int
    items: list[PendingForecast]


class CheckedForecast(ForecastBrief):
    """A request people cleared, forecast again as it stood when submitted (seconds from
    its submission), from the history known then, beside how long it took."""

    request_id: str
    submitted_at: str
    actual_seconds: float
    inside: bool | None = Field(
        description="Whether the actual time fell inside the 80 % interval (null: no forecast)."
    )


class ForecastVsActual(BaseModel):
    limit: int
    interval: list[float]
    items: list[CheckedForecast]


class OverviewOut(BaseModel):
    requests: int
    by_state: dict[str, int]
    bottleneck: str | None
    authorities: list[AuthorityWaits]
    limit: int
    cleared_automatically: int = Field(
        description="Cleared requests that no person had to approve (policies, grants)."
    )
    automatic_share: float | None = Field(
        description="cleared_automatically over the cleared requests (null: none)."
    )
    forecasts: PendingForecasts
    forecast_vs_actual: ForecastVsActual


class Excursion(BaseModel):
    kind: str
    start: str
    end: str
    seconds: float
    max_outside_m: float
    party: str | None
    flagged: bool


class Conformance(BaseModel):
    conforming: bool
    conformance_percent: float
    excursions: list[Excursion]
    points: int
    flight_seconds: float
    reasons: list[str]


class FeatureCollection(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[dict[str, Any]]


class Site(BaseModel):
    id: str
    name: str
    lat: float
    lng: float


class Aircraft(BaseModel):
    id: str
    type: str
    operator: str
    can_carry_weapons: bool


class Purpose(BaseModel):
    id: str
    description: str


class ScenarioMap(BaseModel):
    territories: FeatureCollection
    areas: FeatureCollection
    sites: list[Site]
    aircraft: list[Aircraft]
    payloads: list[Payload]
    purposes: list[Purpose]


class Checkpoint(BaseModel):
    origin: str
    size: int
    root: str = Field(description="The tree's root hash, base64.")
    note: str = Field(description="The C2SP signed note.")


class EntryProof(BaseModel):
    index: int
    data: str
    entry: dict[str, Any] | None
    leaf_hash: str
    tree_size: int
    root: str
    inclusion_proof: list[str]


class Entry(EntryProof):
    checkpoint: Checkpoint


class Disclosure(BaseModel):
    """What opens one commitment of a request entry: SHA-256 of the RFC 8785 canonical
    JSON of ``{"salt", "value"}`` is ``commitment``."""

    commitment: str = Field(description="SHA-256 hex, as the entry holds it.")
    salt: str = Field(description="Standard base64 of the 32-byte salt.")
    value: Any = Field(description="The committed value (any JSON).")


class RequestAudit(BaseModel):
    checkpoint: Checkpoint
    entries: list[EntryProof]
    disclosures: list[Disclosure] = Field(
        description="The disclosures of every commitment in these entries (for the "
        "request's operator and the authorities in its chain)."
    )


class PagedEntry(BaseModel):
    index: int
    data: str


class EntryPage(BaseModel):
    checkpoint: Checkpoint
    entries: list[PagedEntry]


class BundleEntry(BaseModel):
    index: int
    data: str
    inclusion_proof: list[str]


class BundleLog(BaseModel):
    origin: str
    vkey: str


class Bundle(BaseModel):
    """One request's audit bundle (``clearance.domain.ledger.bundle``)."""

    format: str
    request_id: str
    log: BundleLog
    checkpoint: str
    entries: list[BundleEntry]
    disclosures: list[dict[str, Any]]


class Consistency(BaseModel):
    from_: int = Field(alias="from")
    to: int
    proof: list[str]
    checkpoint: Checkpoint


class Key(BaseModel):
    name: str
    vkey: str | None
    public_key: str


class Keys(BaseModel):
    """The log's key and the authorities' root keys it records (public halves only)."""

    log: Key
    roots: dict[str, Key]


class Health(BaseModel):
    status: Literal["ok"]


class Subscriber(BaseModel):
    kind: Literal["authority", "operator", "principal"]
    name: str


class Subscription(BaseModel):
    id: str
    subscriber: Subscriber
    url: str
    events: list[str]
    created_by: str
    created_at: str
    active: bool


class CreatedSubscription(Subscription):
    secret: str = Field(description="The signing secret (whsec_...), shown only here.")


class Subscriptions(BaseModel):
    items: list[Subscription]


class Delivery(BaseModel):
    id: str = Field(description="The webhook-id, the same on every attempt.")
    event: str
    subscription_id: str
    request_id: str | None
    status: Literal["pending", "delivered", "dead"]
    attempts: int
    created_at: str
    next_attempt_at: str | None
    delivered_at: str | None
    last_error: str | None
    payload: dict[str, Any]


class Deliveries(BaseModel):
    items: list[Delivery]


class Redelivered(BaseModel):
    id: str
    status: Literal["pending"]


class GrantSuggestion(BaseModel):
    """A standing grant that would have covered ``approvals_covered`` of the authority's
    approvals by hand and none of its denials (``denials_covered`` is always 0)."""

    description: str
    grant: dict[str, Any] = Field(
        description="An entry of `grants:` in scenario.yaml; `area` names a territory or "
        "a named area, or is a GeoJSON Polygon/MultiPolygon (a new area)."
    )
    new_area: bool
    area_km2: float
    approvals_covered: int
    approvals: int
    denials: int
    denials_covered: int
    covered: list[str] = Field(description="The hand-approved requests it would have covered.")
    similar: list[str] = Field(
        description="The authority's grants to other operators that already give as much."
    )
    proposal: str = Field(
        description="The grant proposal as YAML: a `grants:` list holding `grant`, after "
        "comment lines saying what it would clear; what `clearance grant suggest --out` "
        "writes for this suggestion."
    )


class GrantSuggestions(BaseModel):
    """The grants that would have cleared what an authority approved by hand in a period
    (decisions made in [since, until)), best first; nothing is stored."""

    authority: str
    since: str | None
    until: str | None
    approvals: int
    denials: int
    scenario_version: str
    suggestions: list[GrantSuggestion]
