"""What each party may read (SQLite and PostgreSQL): any principal reads every entry, in
clear only what every party may see; the request's operator and the authorities in its
chain get the disclosures that open its commitments, and check them against the log."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from clearance.adapters import sql_tables as t
from clearance.adapters.audit_files import DISCLOSURES, read_export, write_export
from clearance.adapters.sql import make_engine
from clearance.domain.clearance.model import Conditions
from clearance.domain.ledger import audit
from clearance.domain.ledger.checkpoint import parse_vkey, raw_public
from clearance.domain.ledger.disclosure import (
    check_disclosure,
    commitments,
    is_sealed,
    open_entry,
)
from clearance.domain.ledger.merkle import leaf_hash
from clearance.domain.ledger.signatures import (
    canonical_stored,
    statement_from_event,
    verify_statement,
)
from clearance.service.audit import AuditLog
from clearance.service.context import Context
from clearance.service.monitoring import simulated_track_csv
from tests import parties
from tests.e2e.conftest import NOW, Actors, assert_problem, document

COMMENT = "fine, keep clear of the wadi at dusk"
CONDITION = "stay above 3000 m over the river"
OPERATOR_A = "US.AFRICOM"
OPERATOR_B = "FR.Barkhane"
CSV = {"Content-Type": "text/csv"}


def decided(client: TestClient, actors: Actors) -> str:
    """Operator A's armed request 05, approved by US.DoD with a comment and conditions,
    signed by its member with the key US.DoD's root key enrolled (tests/parties.py)."""
    ctx = actors.workflow
    parties.with_roots(ctx.current_scenario(), ["US.DoD"])
    parties.record_roots(ctx, ["US.DoD"])
    headers = actors.member("US.DoD")
    parties.enroll(ctx, "US.DoD", "US.DoD-member")
    made = client.post("/v1/requests", json=document("05"), headers=actors.operator(OPERATOR_A))
    assert made.status_code == 201, made.text
    rid: str = made.json()["id"]
    body, _ = parties.signed_decision(
        made.json(), "US.DoD", "US.DoD-member", NOW, "approve", COMMENT,
        Conditions(CONDITION, None, None, None),
    )  # fmt: skip
    response = client.post(f"/v1/requests/{rid}/decisions", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return rid


def flown(client: TestClient, actors: Actors, workflow: Context) -> tuple[str, list[Any]]:
    """Operator A's cleared ISR request 01 and the path its recorded track left."""
    made = client.post("/v1/requests", json=document("01"), headers=actors.operator(OPERATOR_A))
    assert made.json()["state"] == "cleared", made.text
    rid: str = made.json()["id"]
    track = simulated_track_csv(workflow, rid, None)
    checked = client.post(
        f"/v1/requests/{rid}/telemetry", content=track, headers=actors.operator(OPERATOR_A) | CSV
    )
    assert checked.status_code == 200, checked.text
    shown = client.get(f"/v1/requests/{rid}", headers=actors.operator(OPERATOR_A)).json()
    path: list[Any] = shown["events"][-1]["detail"]["path"]
    return rid, path


def entries_read_by(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    size = client.get("/v1/audit/checkpoint", headers={"Accept": "application/json"}).json()["size"]
    found = []
    for index in range(size):
        response = client.get(f"/v1/audit/entries/{index}", headers=headers)
        assert response.status_code == 200, response.text
        found.append(response.json())
    return found


def test_another_operator_reads_every_entry_and_learns_only_what_every_party_may_see(
    client: TestClient, actors: Actors, workflow: Context
) -> None:
    rid = decided(client, actors)
    flown_rid, path = flown(client, actors, workflow)
    outsider = actors.operator(OPERATOR_B)
    # the request's own endpoints refuse operator B ...
    assert_problem(client.get(f"/v1/requests/{rid}", headers=outsider), 404)
    assert_problem(client.get(f"/v1/requests/{rid}/audit", headers=outsider), 404)
    # ... and the log gives it every entry, in clear only what every party may see
    about = [e for e in entries_read_by(client, outsider) if e["entry"].get("request_id")]
    assert {e["entry"]["request_id"] for e in about} == {rid, flown_rid}
    text = json.dumps(about)
    doc = document("05")
    hidden = [
        COMMENT,
        CONDITION,
        f"{OPERATOR_A}-planner",
        "US.DoD-member",
        doc["justification"],
        doc["aircraft"],
        doc["launch_site"],
        doc["purpose"],
        document("01")["justification"],
        json.dumps(path[0]),
        str(path[len(path) // 2][0]),
    ]
    for value in hidden:
        assert value not in text, f"{value!r} is readable by operator B"
    # what is in clear: ids, digests, authority, decision, status, times, signature
    decision = next(e["entry"] for e in about if e["entry"]["kind"] == "request.decided")
    assert decision["format"] == 2
    assert decision["detail"]["authority"] == "US.DoD"
    assert decision["detail"]["decision"] == "approve"
    assert decision["detail"]["signature"]
    assert len(decision["document_digest"]) == 64
    assert is_sealed(decision["detail"]["comment"])
    assert is_sealed(decision["by"])
    submitted = next(e["entry"] for e in about if e["entry"]["kind"] == "request.submitted")
    assert is_sealed(submitted["document"])
    conformance = next(e["entry"] for e in about if e["entry"]["kind"] == "request.conformance")
    assert is_sealed(conformance["detail"])


@pytest.mark.parametrize("reader", ["operator", "US.DoD", "NE.PM"])
def test_the_operator_and_the_chain_get_disclosures_that_check_against_the_log(
    client: TestClient, actors: Actors, reader: str
) -> None:
    rid = decided(client, actors)
    headers = actors.operator(OPERATOR_A) if reader == "operator" else actors.member(reader)
    response = client.get(f"/v1/requests/{rid}/audit", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    disclosed = {d["commitment"]: check_disclosure(d).to_json() for d in body["disclosures"]}
    made = [c for e in body["entries"] for c in commitments(e["entry"])]
    assert made
    assert set(made) == set(disclosed)
    dod_key = raw_public(parties.member_key("US.DoD", "US.DoD-member"))
    for e in body["entries"]:
        # what was disclosed is what the log, whose leaf hash the reader checks, commits to
        assert leaf_hash(base64.b64decode(e["data"])) == base64.b64decode(e["leaf_hash"])
        opened = open_entry(e["entry"], disclosed)
        assert opened.whole, (opened.missing, opened.tampered)
        entry = opened.entry
        if entry["kind"] == "request.submitted":
            assert canonical_stored(entry["document"]) == canonical_stored(document("05"))
            assert entry["by"] == f"{OPERATOR_A}-planner"
        if entry["kind"] == "request.decided":
            assert entry["detail"]["comment"] == COMMENT
            assert entry["detail"]["conditions"]["text"] == CONDITION
            assert entry["by"] == "US.DoD-member"
            # the signature is checked over the disclosed statement
            statement = statement_from_event(entry)
            verify_statement(dod_key, statement, entry["detail"]["signature"])


def test_a_tampered_disclosure_is_named_and_a_deleted_one_leaves_the_log_verifying(
    client: TestClient, actors: Actors, workflow: Context, audit_log: AuditLog, db_url: str
) -> None:
    rid = decided(client, actors)
    audit_log.integrate()
    honest = audit_log.verify(scenarios=workflow.scenarios)
    assert honest.ok, honest.problems
    assert honest.decisions == 1

    body = client.get(f"/v1/requests/{rid}/audit", headers=actors.operator(OPERATOR_A)).json()
    decision = next(e["entry"] for e in body["entries"] if e["entry"]["kind"] == "request.decided")
    comment = decision["detail"]["comment"]["commitment"]
    document_commitment = next(
        e["entry"]["document"]["commitment"]
        for e in body["entries"]
        if e["entry"]["kind"] == "request.submitted"
    )
    d = t.audit_disclosures.c
    engine = make_engine(db_url)
    try:
        with engine.begin() as c:
            c.execute(
                sa.update(t.audit_disclosures)
                .where(d.commitment == comment)
                .values(value=json.dumps("all clear, no conditions"))
            )
        tampered = audit_log.verify(scenarios=workflow.scenarios)
        problems = "\n".join(tampered.problems)
        assert "detail.comment does not match its commitment" in problems, problems
        assert "request.decided" in problems
        assert rid in problems
        assert tampered.size == honest.size  # the log itself still verifies to its end

        with engine.begin() as c:
            c.execute(sa.delete(t.audit_disclosures).where(d.commitment == comment))
            c.execute(sa.delete(t.audit_disclosures).where(d.commitment == document_commitment))
        deleted = audit_log.verify(scenarios=workflow.scenarios)
    finally:
        engine.dispose()
    # only the deleted disclosures are named; nothing else in the log or the tables is
    assert deleted.size == honest.size
    assert deleted.decisions == 1
    assert len(deleted.problems) == 2, deleted.problems
    assert all("is missing" in p for p in deleted.problems), deleted.problems
    assert any("detail.comment" in p for p in deleted.problems)
    assert any("document" in p for p in deleted.problems)


def test_honest_history_verifies_end_to_end_and_offline_with_its_disclosures(
    client: TestClient, actors: Actors, workflow: Context, audit_log: AuditLog, tmp_path: Path
) -> None:
    rid = decided(client, actors)
    flown(client, actors, workflow)
    client.post(f"/v1/requests/{rid}/withdraw", headers=actors.operator(OPERATOR_A))
    checkpoint = audit_log.integrate()
    verified = audit_log.verify(scenarios=workflow.scenarios)
    assert verified.ok, verified.problems
    assert verified.requests == 2

    out = tmp_path / "export"
    write_export(
        out,
        audit_log.pages(),
        checkpoint,
        audit_log.public_keys(),
        audit_log.all_disclosures(checkpoint),
    )
    export = read_export(out)
    name, key = parse_vkey(export.keys["log"]["vkey"])
    summary = audit.verify_log(export.entries(), export.note, name, raw_public(key),
                               export.disclosures())  # fmt: skip
    assert (summary.size, summary.decisions, summary.undisclosed) == (checkpoint.size, 1, 0)
    # without the disclosures the log still verifies; the sealed decision waits for them
    sealed = audit.verify_log(export.entries(), export.note, name, raw_public(key))
    assert (sealed.size, sealed.undisclosed) == (checkpoint.size, 1)
    # a changed disclosure in the export is named
    lines = (out / DISCLOSURES).read_text(encoding="utf-8").splitlines()
    changed = json.loads(lines[0]) | {"value": "something else"}
    (out / DISCLOSURES).write_text("\n".join([json.dumps(changed), *lines[1:]]) + "\n")
    with pytest.raises(audit.AuditError, match="does not match its commitment"):
        audit.verify_log(export.entries(), export.note, name, raw_public(key),
                         read_export(out).disclosures())  # fmt: skip


def test_entries_written_before_commitments_still_verify(
    client: TestClient,
    actors: Actors,
    workflow: Context,
    audit_log: AuditLog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A log of format 1 (everything in clear, no ``format``), then format 2: both
    verify, and an old entry's disclosures are simply none."""

    def in_clear(record: Any) -> tuple[list[tuple[str, dict[str, Any]]], list[Any]]:
        return audit.record_entries(record), []

    monkeypatch.setattr(audit, "sealed_entries", in_clear)
    old = decided(client, actors)
    monkeypatch.undo()
    client.post(f"/v1/requests/{old}/withdraw", headers=actors.operator(OPERATOR_A))
    audit_log.integrate()
    verified = audit_log.verify(scenarios=workflow.scenarios)
    assert verified.ok, verified.problems
    body = client.get(f"/v1/requests/{old}/audit", headers=actors.operator(OPERATOR_A)).json()
    formats = [e["entry"].get("format") for e in body["entries"]]
    assert formats == [None, None, 2]
