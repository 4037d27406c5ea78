"""The Cedar policy engine refuses policies it could not explain or attribute."""

from __future__ import annotations

import pytest

from clearance.domain.clearance.policy import PolicyEngine, PolicyText
from clearance.domain.errors import ScenarioError

ENTITIES = [
    {"uid": {"type": "Party", "id": "A"}, "attrs": {}, "parents": []},
    {
        "uid": {"type": "Authority", "id": "A.Air"},
        "attrs": {},
        "parents": [{"type": "Party", "id": "A"}],
    },
]


def engine(text: str) -> PolicyEngine:
    return PolicyEngine([PolicyText("A.Air", "policies/A.Air.cedar", text)], ENTITIES)


GOOD = """@id("p1") @reason("because")
permit (principal, action == Action::"refer", resource == Authority::"A.Air");"""


def test_accepts_an_annotated_policy_scoped_to_its_authority() -> None:
    assert engine(GOOD).policies["p1"].reason == "because"


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ('permit (principal, action, resource == Authority::"A.Air"', "syntax"),
        ('@reason("r") permit (principal, action, resource == Authority::"A.Air");', "@id"),
        ('@id("p") permit (principal, action, resource == Authority::"A.Air");', "@reason"),
        ('@id("p") @reason("r") permit (principal, action, resource);', 'Authority::"A.Air"'),
        (
            '@id("p") @reason("r") permit (principal, action, resource == Authority::"B.Air");',
            'Authority::"A.Air"',
        ),
        (
            '@id("p") @reason("r") permit (principal, action, resource == Authority::"A.Air") '
            "when { context.no_such_fact };",
            "schema",
        ),
        (GOOD + "\n" + GOOD, "also used"),
    ],
)
def test_rejects_policies_it_cannot_attribute_or_explain(text: str, phrase: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        engine(text)
    assert caught.value.source == "policies/A.Air.cedar"
    assert phrase in str(caught.value)
