"""``GET /v1/authorities/{id}/grant-suggestions`` on SQLite and PostgreSQL: from
NE.Defense's hand approvals of US armed overwatch (example 05 on other days), the grant
that would have cleared them, bounded in time before the day it denied; members of the
authority only; problem+json for a bad period."""

from __future__ import annotations

from datetime import timedelta

import jsonschema_rs
import yaml
from fastapi.testclient import TestClient

from clearance.service.context import Context
from tests.e2e.conftest import NOW, Actors, assert_problem, document, later, set_now

US_ARMED = "05"  # pending: US.DoD, US.State, then NE.Defense and NE.PM
URL = "/v1/authorities/NE.Defense/grant-suggestions"


def _through_the_chain(client: TestClient, actors: Actors, days: int, ne: str) -> str:
    response = client.post(
        "/v1/requests", json=later(document(US_ARMED), days), headers=actors.operator()
    )
    assert response.status_code == 201, response.text
    request_id: str = response.json()["id"]
    for authority in ("US.DoD", "US.State", "NE.PM", "NE.Defense"):
        decision = ne if authority == "NE.Defense" else "approve"
        response = client.post(
            f"/v1/requests/{request_id}/decisions",
            json={"authority": authority, "decision": decision},
            headers=actors.member(authority),
        )
        assert response.status_code == 200, response.text
    return request_id


def test_the_grant_that_would_have_cleared_what_ne_defense_approved(
    client: TestClient, workflow: Context, actors: Actors
) -> None:
    approved = []
    for hours, days in enumerate((1, 2), start=1):
        set_now(workflow, NOW + timedelta(hours=hours))
        approved.append(_through_the_chain(client, actors, days, "approve"))
    set_now(workflow, NOW + timedelta(hours=3))
    _through_the_chain(client, actors, 9, "deny")  # the same place, a week later

    response = client.get(URL, headers=actors.member("NE.Defense"))
    assert response.status_code == 200, response.text
    body = response.json()
    schema = client.get("/openapi.json").json()
    root = {"$ref": "#/components/schemas/GrantSuggestions", "components": schema["components"]}
    jsonschema_rs.validator_for(root).validate(body)
    assert (body["approvals"], body["denials"]) == (2, 1)
    best = body["suggestions"][0]
    assert best["grant"]["grantee"] == "US.AFRICOM"
    assert best["grant"]["purposes"] == ["armed-overwatch"]
    assert best["grant"]["payloads"] == ["armed"]
    # the smallest area the scenario already names that covers both
    assert best["grant"]["area"] == "tillaberi-border-zone"
    assert best["new_area"] is False
    assert best["grant"]["valid_from"] == "2020-03-03T04:00:00Z"
    assert best["grant"]["valid_until"] == "2020-03-04T16:00:00Z"  # before the denied day
    assert sorted(best["covered"]) == sorted(approved)
    assert (best["approvals_covered"], best["denials_covered"]) == (2, 0)
    assert "ne-fr-isr-armed" in best["similar"]
    # the grant proposal `clearance grant suggest --out` writes, as YAML text
    assert yaml.safe_load(best["proposal"]) == {"grants": [best["grant"]]}
    assert best["proposal"].startswith(
        "# A grant proposal from the grant suggestions of NE.Defense: "
        f"{best['description']}.\n# Add the entry under `grants:` in scenario.yaml.\n"
    )

    # the period: only the decision made in the third hour
    since = (NOW + timedelta(hours=3)).isoformat().replace("+00:00", "Z")
    late = client.get(URL, params={"since": since}, headers=actors.member("NE.Defense"))
    assert late.status_code == 200, late.text
    assert (late.json()["approvals"], late.json()["denials"], late.json()["suggestions"]) == (
        0,
        1,
        [],
    )


def test_only_members_of_the_authority_may_ask(client: TestClient, actors: Actors) -> None:
    assert_problem(client.get(URL), 401)
    assert_problem(client.get(URL, headers=actors.member("US.DoD")), 403)
    assert_problem(client.get(URL, headers=actors.operator()), 403)


def test_a_bad_period_is_a_problem_naming_the_parameter(client: TestClient, actors: Actors) -> None:
    ne = actors.member("NE.Defense")
    body = assert_problem(client.get(URL, params={"since": "last week"}, headers=ne), 422)
    assert "since" in body["detail"]
    backwards = {"since": "2017-11-22T00:00:00Z", "until": "2017-11-21T00:00:00Z"}
    body = assert_problem(client.get(URL, params=backwards, headers=ne), 422)
    assert "until" in body["detail"]
    assert "after since" in body["detail"]
