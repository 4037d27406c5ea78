"""The relational schema of the SQL storage adapter, as SQLAlchemy Core tables.

The domain classes stay plain dataclasses; the functions at the end convert them to and
from rows. The Alembic migrations in ``adapters/migrations`` create exactly these tables (a
test compares them). Column names avoid SQL keywords (``grant``, ``by``, ``key``) so the
same SQL runs unquoted on SQLite, PostgreSQL and the PostgreSQL-compatible engines.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from clearance.domain.clearance.model import (
    Approval,
    ApprovalStatus,
    Conditions,
    Outcome,
    Violation,
)
from clearance.domain.clearance.workflow import Event, RequestRecord, RequestState
from clearance.domain.ledger.signatures import conditions_json

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(sa.TypeDecorator[datetime]):
    """An aware datetime stored as UTC; always read back as an aware UTC datetime.

    PostgreSQL keeps the instant (``timestamptz``); SQLite stores text without an offset,
    so values are converted to UTC before they are written (which also keeps text order
    equal to time order) and tagged UTC when read.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} cannot be stored; give a zone")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _json() -> sa.JSON:
    # SQL NULL (not JSON null) for None, so "IS NULL" means what it says.
    return sa.JSON(none_as_null=True)


# A 64-bit identity on servers; SQLite needs INTEGER for its rowid alias (also 64-bit).
EventId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData(naming_convention=NAMING)

requests = sa.Table(
    "requests",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("operator", sa.String(200), nullable=False, index=True),
    sa.Column("submitted_by", sa.String(200), nullable=False),
    sa.Column("document", _json(), nullable=False),
    sa.Column("state", sa.String(20), nullable=False, index=True),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("violations", _json(), nullable=False),
    sa.Column("time_start", UtcDateTime(), nullable=False, index=True),
    sa.Column("time_end", UtcDateTime(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False, index=True),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    # the scenario version it was last evaluated against ("" only for a database whose
    # requests predate stored scenarios; revision 0004 filled in the version then stored)
    sa.Column("scenario_version", sa.String(64), nullable=False, server_default=""),
    # when its last evaluation was made (its submission or latest amendment)
    sa.Column("evaluated_at", UtcDateTime(), nullable=False),
)

approvals = sa.Table(
    "approvals",
    metadata,
    sa.Column(
        "request_id",
        sa.String(64),
        sa.ForeignKey("requests.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("authority", sa.String(200), primary_key=True),
    sa.Column("ordinal", sa.Integer, nullable=False),  # position in the record's chain
    sa.Column("party", sa.String(200), nullable=False),
    sa.Column("stage", sa.Integer, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("reasons", _json(), nullable=False),
    sa.Column("policies", _json(), nullable=False),
    sa.Column("grant_id", sa.String(200), nullable=True),
    sa.Column("volumes", _json(), nullable=False),
    sa.Column("inputs", sa.String(64), nullable=False),
    sa.Column("decided_by", sa.String(200), nullable=True),
    sa.Column("decided_at", UtcDateTime(), nullable=True),
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column("conditions", _json(), nullable=True),
    sa.Column("signature", sa.Text, nullable=True),  # base64 Ed25519, on decided approvals
    sa.Index(None, "authority", "status"),
)

request_events = sa.Table(
    "request_events",
    metadata,
    sa.Column("id", EventId, primary_key=True, autoincrement=True),
    sa.Column(
        "request_id",
        sa.String(64),
        sa.ForeignKey("requests.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("occurred_at", UtcDateTime(), nullable=False),
    sa.Column("actor", sa.String(200), nullable=True),
    sa.Column("detail", _json(), nullable=False),
)

principals = sa.Table(
    "principals",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("operator", sa.String(200), nullable=True),
    sa.Column("authority", sa.String(200), nullable=True),
    sa.Column("token_hash", sa.String(128), nullable=False, unique=True, index=True),
    sa.Column("created_at", UtcDateTime(), nullable=True),  # None: made before revision 0003
    sa.Column("revoked_at", UtcDateTime(), nullable=True),  # set: its token is refused
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("principal", sa.String(200), primary_key=True),
    sa.Column("idempotency_key", sa.String(255), primary_key=True),
    sa.Column("digest", sa.String(128), nullable=False),
    sa.Column("request_id", sa.String(64), nullable=False),
)

grant_revocations = sa.Table(
    "grant_revocations",
    metadata,
    sa.Column("grant_id", sa.String(200), primary_key=True),
    sa.Column("revoked_by", sa.String(200), nullable=False),
    sa.Column("revoked_at", UtcDateTime(), nullable=False),
)

# Members' public keys, enrolled (and revoked) by their authority's root key; the signed
# statements are in the audit log. At most one unrevoked key per member.
member_keys = sa.Table(
    "member_keys",
    metadata,
    sa.Column("id", EventId, primary_key=True, autoincrement=True),
    sa.Column("authority", sa.String(200), nullable=False),
    sa.Column("member", sa.String(200), nullable=False),
    sa.Column("public_key", sa.LargeBinary(32), nullable=False, unique=True),
    sa.Column("enrolled_at", UtcDateTime(), nullable=False),
    sa.Column("revoked_at", UtcDateTime(), nullable=True),
    sa.Index(
        "member_keys_one_active",
        "authority",
        "member",
        unique=True,
        sqlite_where=sa.text("revoked_at IS NULL"),
        postgresql_where=sa.text("revoked_at IS NULL"),
    ),
)

# Scenario versions: immutable, named by the digest of their files
# (clearance.domain.ledger.audit.scenario_version). Each load appends to scenario_loads;
# the current version is the newest load's.
scenario_versions = sa.Table(
    "scenario_versions",
    metadata,
    sa.Column("version", sa.String(64), primary_key=True),
    sa.Column("first_loaded_at", UtcDateTime(), nullable=False),
)

scenario_version_files = sa.Table(
    "scenario_version_files",
    metadata,
    sa.Column(
        "version",
        sa.String(64),
        sa.ForeignKey("scenario_versions.version", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("path", sa.String(1000), primary_key=True),
    sa.Column("content", sa.LargeBinary, nullable=False),
)

scenario_loads = sa.Table(
    "scenario_loads",
    metadata,
    sa.Column("id", EventId, primary_key=True, autoincrement=True),
    sa.Column("version", sa.String(64), sa.ForeignKey("scenario_versions.version"), nullable=False),
    sa.Column("loaded_at", UtcDateTime(), nullable=False),  # the service's clock
    sa.Column("recorded_at", UtcDateTime(), nullable=False),  # wall-clock
)

# The audit log (see clearance.service.audit and clearance.adapters.sql_audit). Entries
# are written with the change they record and get their log_index at integration.
audit_entries = sa.Table(
    "audit_entries",
    metadata,
    sa.Column("seq", EventId, primary_key=True, autoincrement=True),
    sa.Column("log_index", sa.BigInteger, nullable=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("request_id", sa.String(64), nullable=True),
    sa.Column("data", sa.LargeBinary, nullable=False),  # RFC 8785 canonical JSON
    sa.Column("leaf_hash", sa.LargeBinary, nullable=False),  # SHA-256(0x00 || data)
    # Wall-clock time the row was written (adapters.clock.wall_now), not the service's
    # clock: a replayed scenario's times are inside the entry's data.
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Index(None, "log_index", unique=True),
    sa.Index(None, "kind"),
    sa.Index(None, "request_id"),
)

# Complete-subtree hashes in tiles of 256 (adapters.audit_store); id = level << 40 | index.
audit_tiles = sa.Table(
    "audit_tiles",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("hashes", sa.LargeBinary, nullable=False),
)

# One row (id 0): the integrated tree's size, root and right edge; locked to integrate.
# What a request entry commits to (domain.ledger.disclosure): the salt and value of each
# commitment, kept beside the log and never in an entry, for the request's parties.
audit_disclosures = sa.Table(
    "audit_disclosures",
    metadata,
    sa.Column("commitment", sa.String(64), primary_key=True),  # SHA-256 hex
    sa.Column("request_id", sa.String(64), nullable=False),
    sa.Column("salt", sa.String(44), nullable=False),  # base64 of 32 bytes
    sa.Column("value", sa.Text, nullable=False),  # RFC 8785 canonical JSON
    sa.Column("created_at", UtcDateTime(), nullable=False),  # wall-clock
    sa.Index(None, "request_id"),
)

audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("root", sa.LargeBinary, nullable=False),
    sa.Column("frontier", sa.LargeBinary, nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=True),  # wall-clock
)

audit_checkpoints = sa.Table(
    "audit_checkpoints",
    metadata,
    sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("root", sa.LargeBinary, nullable=False),
    sa.Column("note", sa.Text, nullable=False),  # C2SP signed note
    sa.Column("created_at", UtcDateTime(), nullable=False),  # wall-clock: when signed
)


# Deconfliction (clearance.domain.airspace.cells): the H3 cells of every pending and
# cleared request's volumes, looked up by cell, and one lock row per cell ever touched,
# locked (SELECT ... FOR UPDATE, ascending) by whoever checks and commits in that cell.
airspace_cells = sa.Table(
    "airspace_cells",
    metadata,
    sa.Column("cell", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column(
        "request_id",
        sa.String(64),
        sa.ForeignKey("requests.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("volume_index", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("time_start", UtcDateTime(), nullable=False),
    sa.Column("time_end", UtcDateTime(), nullable=False),
    sa.Index(None, "request_id"),
    # candidates: a cell's volumes that end after the query starts (a cleared request
    # keeps its cells after it flew; this keeps them out of the scan)
    sa.Index(None, "cell", "time_end"),
)

airspace_locks = sa.Table(
    "airspace_locks",
    metadata,
    sa.Column("cell", sa.BigInteger, primary_key=True, autoincrement=False),
)


# Who is told (service.notify): webhook subscriptions, and the outbox written in the same
# transaction as the change it tells of. ``once_key`` names an event told once per
# subscription (a deadline passed, a request expiring soon); NULL for the others, which
# the unique constraint then never compares (NULLs are distinct in SQL).
subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("subscriber_kind", sa.String(16), nullable=False),
    sa.Column("subscriber", sa.String(200), nullable=False),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("events", _json(), nullable=False),
    sa.Column("secret", sa.String(200), nullable=False),  # whsec_... (Standard Webhooks)
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Index(None, "subscriber_kind", "subscriber"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # the webhook-id, kept across retries
    sa.Column("event_type", sa.String(40), nullable=False),
    sa.Column(
        "subscription_id",
        sa.String(64),
        sa.ForeignKey("subscriptions.id"),
        nullable=False,
        index=True,
    ),
    sa.Column("request_id", sa.String(64), nullable=True),
    sa.Column("once_key", sa.String(300), nullable=True),
    sa.Column("payload", _json(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UtcDateTime(), nullable=False, index=True),
    sa.Column("leased_until", UtcDateTime(), nullable=True),  # a worker is sending it
    sa.Column("delivered_at", UtcDateTime(), nullable=True),
    sa.Column("dead", sa.Boolean, nullable=False),
    sa.Column("last_error", sa.String(500), nullable=True),
    sa.UniqueConstraint("subscription_id", "event_type", "once_key"),
)


# -- JSON --------------------------------------------------------------------------------
def _json_default(value: object) -> str:
    # YAML parses unquoted timestamps into datetimes; store them as RFC 3339 text.
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot be stored as JSON")


def json_dumps(value: Any) -> str:
    """The engines' JSON serializer."""
    return json.dumps(value, default=_json_default, ensure_ascii=False)


# -- rows <-> domain objects -----------------------------------------------------------------
def request_row(record: RequestRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "version": record.version,
        "operator": record.operator,
        "submitted_by": record.submitted_by,
        "document": record.document,
        "state": record.state.value,
        "outcome": record.outcome.value,
        "violations": [{"code": v.code, "message": v.message} for v in record.violations],
        "time_start": record.time_start,
        "time_end": record.time_end,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "scenario_version": record.scenario_version,
        "evaluated_at": record.evaluated_at,
    }


def approval_rows(record: RequestRecord) -> list[dict[str, Any]]:
    return [
        {
            "request_id": record.id,
            "authority": a.authority,
            "ordinal": i,
            "party": a.party,
            "stage": a.stage,
            "status": a.status.value,
            "reasons": list(a.reasons),
            "policies": list(a.policies),
            "grant_id": a.grant,
            "volumes": list(a.volumes),
            "inputs": a.inputs,
            "decided_by": a.by,
            "decided_at": a.at,
            "comment": a.comment,
            "conditions": conditions_json(a.conditions),
            "signature": a.signature or None,
        }
        for i, a in enumerate(record.approvals)
    ]


def event_rows(events: Iterable[Event]) -> list[dict[str, Any]]:
    return [
        {
            "request_id": e.request_id,
            "version": e.version,
            "kind": e.kind,
            "occurred_at": e.at,
            "actor": e.by,
            "detail": e.detail,
        }
        for e in events
    ]


def to_record(row: sa.Row[Any], approvals: list[Approval]) -> RequestRecord:
    return RequestRecord(
        id=row.id,
        version=row.version,
        operator=row.operator,
        submitted_by=row.submitted_by,
        document=row.document,
        state=RequestState(row.state),
        outcome=Outcome(row.outcome),
        evaluated_at=row.evaluated_at,
        approvals=approvals,
        violations=[Violation(v["code"], v["message"]) for v in row.violations],
        time_start=row.time_start,
        time_end=row.time_end,
        created_at=row.created_at,
        updated_at=row.updated_at,
        scenario_version=row.scenario_version,
    )


def to_approval(row: sa.Row[Any]) -> Approval:
    return Approval(
        authority=row.authority,
        party=row.party,
        stage=row.stage,
        status=ApprovalStatus(row.status),
        reasons=tuple(row.reasons),
        policies=tuple(row.policies),
        grant=row.grant_id,
        volumes=tuple(row.volumes),
        inputs=row.inputs,
        by=row.decided_by,
        at=row.decided_at,
        comment=row.comment,
        conditions=_conditions(row.conditions),
        signature=row.signature or "",
    )


def to_event(row: sa.Row[Any]) -> Event:
    return Event(row.request_id, row.version, row.kind, row.occurred_at, row.actor, row.detail)


def _conditions(raw: dict[str, Any] | None) -> Conditions | None:
    if raw is None:
        return None
    return Conditions(
        text=raw["text"],
        time_start=_instant(raw.get("time_start")),
        time_end=_instant(raw.get("time_end")),
        volume=raw.get("volume"),
    )


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).astimezone(UTC)
