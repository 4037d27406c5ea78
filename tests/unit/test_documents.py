"""``Fields``: reading untyped documents field by field, with errors that name the field."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from clearance.domain.documents import Fields
from clearance.domain.errors import InputError, RequestError, ScenarioError


def fields(data: object, path: str = "volumes[0]") -> Fields:
    return Fields(data, path=path, error=RequestError, source="req.yaml")


# -- required fields ----------------------------------------------------------------------


def test_missing_required_field_names_its_full_path() -> None:
    with pytest.raises(RequestError) as raised:
        fields({"other": 1}).raw("lat")

    assert raised.value.field == "volumes[0].lat"
    assert raised.value.rule == "is required"
    assert raised.value.source == "req.yaml"
    assert str(raised.value) == "req.yaml: volumes[0].lat: is required"


def test_null_counts_as_missing_for_a_required_field() -> None:
    with pytest.raises(RequestError, match="is required"):
        fields({"lat": None}).number("lat")


def test_top_level_field_path_has_no_leading_dot() -> None:
    with pytest.raises(RequestError) as raised:
        Fields({}, error=RequestError).raw("operator")

    assert raised.value.field == "operator"


def test_nested_objects_extend_the_path() -> None:
    f = fields({"volume": {"outline_circle": {"center": {}}}})

    with pytest.raises(RequestError) as raised:
        f.obj("volume").obj("outline_circle").obj("center").number("lat")

    assert raised.value.field == "volumes[0].volume.outline_circle.center.lat"


def test_has_treats_null_as_absent() -> None:
    f = fields({"a": None, "b": 0})

    assert not f.has("a")
    assert not f.has("missing")
    assert f.has("b")


# -- non-mapping input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        pytest.param(None, "null", id="null"),
        pytest.param(True, "a boolean", id="boolean"),
        pytest.param(3, "a number", id="number"),
        pytest.param("text", "a string", id="string"),
        pytest.param([1, 2], "a list", id="list"),
    ],
)
def test_rejects_non_mapping_input_saying_what_it_got(data: object, kind: str) -> None:
    with pytest.raises(RequestError) as raised:
        fields(data)

    assert raised.value.field == "volumes[0]"
    assert raised.value.rule == f"must be a mapping, not {kind}"


def test_obj_rejects_a_field_that_is_not_a_mapping() -> None:
    with pytest.raises(RequestError) as raised:
        fields({"volume": [1]}).obj("volume")

    assert raised.value.field == "volumes[0].volume"
    assert "must be a mapping" in raised.value.rule


def test_raises_the_error_type_chosen_by_the_caller() -> None:
    with pytest.raises(ScenarioError) as raised:
        Fields([], error=ScenarioError, source="scenario.yaml")

    assert isinstance(raised.value, InputError)
    assert not isinstance(raised.value, RequestError)
    assert raised.value.source == "scenario.yaml"


# -- unknown fields -------------------------------------------------------------------------


def test_only_rejects_an_unknown_field_naming_it_and_the_allowed_ones() -> None:
    f = fields({"lat": 1, "colour": "red"})

    with pytest.raises(RequestError) as raised:
        f.only("lat", "lng")

    assert raised.value.field == "volumes[0].colour"
    assert raised.value.rule == "unknown field (allowed: lat, lng)"


def test_only_accepts_allowed_fields_even_when_some_are_absent() -> None:
    fields({"lat": 1}).only("lat", "lng")


def test_only_names_a_non_string_key() -> None:
    with pytest.raises(RequestError) as raised:
        fields({1: "x"}).only("lat")

    assert raised.value.field == "volumes[0].1"


# -- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -5, 14.32, 10**6, 1e-9])
def test_number_accepts_ints_and_floats_as_float(value: float) -> None:
    result = fields({"v": value}).number("v")

    assert result == value
    assert type(result) is float


@pytest.mark.parametrize("value", [True, False])
def test_number_rejects_booleans(value: bool) -> None:
    with pytest.raises(RequestError) as raised:
        fields({"v": value}).number("v")

    assert raised.value.field == "volumes[0].v"
    assert raised.value.rule == "must be a number, not a boolean"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_number_rejects_nan_and_infinities(value: float) -> None:
    with pytest.raises(RequestError) as raised:
        fields({"v": value}).number("v")

    assert raised.value.field == "volumes[0].v"
    assert raised.value.rule == "must be a finite number"


@pytest.mark.parametrize(
    ("value", "kind"),
    [("25000", "a string"), ([1], "a list"), ({"value": 1}, "a mapping")],
)
def test_number_rejects_other_types_saying_what_it_got(value: object, kind: str) -> None:
    with pytest.raises(RequestError, match=f"must be a number, not {kind}$"):
        fields({"v": value}).number("v")


# -- instants ----------------------------------------------------------------------------------


def test_instant_reads_zulu_time_in_utc() -> None:
    t = fields({"t": "2017-11-21T06:00:00Z"}).instant("t")

    assert t == datetime(2017, 11, 21, 6, tzinfo=UTC)
    assert t.tzinfo is UTC


def test_instant_converts_an_offset_to_utc() -> None:
    t = fields({"t": "2017-11-21T07:30:00+01:30"}).instant("t")

    assert t.tzinfo is UTC
    assert (t.year, t.month, t.day, t.hour, t.minute) == (2017, 11, 21, 6, 0)


def test_instant_converts_a_parsed_aware_datetime_to_utc() -> None:
    minus_five = timezone(timedelta(hours=-5))
    t = fields({"t": datetime(2017, 11, 21, 1, tzinfo=minus_five)}).instant("t")

    assert t.tzinfo is UTC
    assert t.hour == 6


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("2017-11-21T06:00:00", id="string"),
        pytest.param(datetime(2017, 11, 21, 6), id="yaml-timestamp"),
    ],
)
def test_instant_requires_an_offset(value: object) -> None:
    with pytest.raises(RequestError) as raised:
        fields({"t": value}).instant("t")

    assert raised.value.field == "volumes[0].t"
    assert "UTC offset" in raised.value.rule


@pytest.mark.parametrize("value", ["yesterday", "2017-13-01T00:00:00Z", ""])
def test_instant_rejects_text_that_is_not_a_date_time(value: str) -> None:
    with pytest.raises(RequestError) as raised:
        fields({"t": value}).instant("t")

    assert raised.value.field == "volumes[0].t"
    assert "RFC 3339 date-time" in raised.value.rule
    assert raised.value.rule.endswith(f"got {value!r}")


@pytest.mark.parametrize(
    "value", ["2017-W47-2T06:00Z", "20171121T060000Z", "2017-11-21T06:00Z", "2017-11-21"]
)
def test_instant_rejects_iso_8601_forms_that_rfc_3339_does_not_allow(value: str) -> None:
    with pytest.raises(RequestError) as raised:
        fields({"t": value}).instant("t")
    assert "RFC 3339" in raised.value.rule


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-05:00"])
def test_instant_rejects_dates_that_overflow_in_utc(value: str) -> None:
    with pytest.raises(RequestError) as raised:
        fields({"t": value}).instant("t")
    assert "range" in raised.value.rule


def test_number_rejects_an_integer_too_large_for_a_float() -> None:
    with pytest.raises(RequestError) as raised:
        fields({"n": int("1" * 400)}).number("n")
    assert "too large" in raised.value.rule


def test_instant_rejects_a_number() -> None:
    with pytest.raises(RequestError, match="must be an RFC 3339 date-time, not a number"):
        fields({"t": 1511244000}).instant("t")


# -- lists ---------------------------------------------------------------------------------------


def test_texts_reads_a_list_of_strings() -> None:
    assert fields({"p": ["isr", "armed-overwatch"]}).texts("p") == ["isr", "armed-overwatch"]


@pytest.mark.parametrize(
    ("items", "bad"),
    [
        pytest.param(["isr", 3], 1, id="number"),
        pytest.param(["isr", "ok", ""], 2, id="empty-string"),
        pytest.param([None], 0, id="null"),
    ],
)
def test_texts_names_the_index_of_a_bad_element(items: list[object], bad: int) -> None:
    with pytest.raises(RequestError) as raised:
        fields({"purposes": items}).texts("purposes")

    assert raised.value.field == f"volumes[0].purposes[{bad}]"
    assert raised.value.rule.startswith("must be a non-empty string")
    assert raised.value.source == "req.yaml"


def test_texts_rejects_a_field_that_is_not_a_list() -> None:
    with pytest.raises(RequestError) as raised:
        fields({"purposes": "isr"}).texts("purposes")

    assert raised.value.field == "volumes[0].purposes"
    assert raised.value.rule == "must be a list, not a string"


def test_texts_default_empty_only_when_absent() -> None:
    assert fields({}).texts("purposes", default_empty=True) == []
    with pytest.raises(RequestError, match="is required"):
        fields({}).texts("purposes")


def test_objects_give_each_element_its_indexed_path() -> None:
    vertices = fields({"vertices": [{"lat": 1}, {"lat": 2}]}).objects("vertices")

    assert [v.path for v in vertices] == ["volumes[0].vertices[0]", "volumes[0].vertices[1]"]


def test_objects_name_the_index_of_an_element_that_is_not_a_mapping() -> None:
    with pytest.raises(RequestError) as raised:
        fields({"vertices": [{"lat": 1}, "x"]}).objects("vertices")

    assert raised.value.field == "volumes[0].vertices[1]"
    assert raised.value.rule == "must be a mapping, not a string"


# -- text and flags ---------------------------------------------------------------------------------


def test_text_with_choices_lists_them_sorted_and_shows_the_value() -> None:
    with pytest.raises(RequestError) as raised:
        fields({"payload": "lethal"}).text("payload", choices=["unarmed", "armed"])

    assert raised.value.field == "volumes[0].payload"
    assert raised.value.rule == "must be one of armed, unarmed; got 'lethal'"


@pytest.mark.parametrize("value", ["", "   ", 3, ["a"]])
def test_text_rejects_empty_or_non_string_values(value: object) -> None:
    with pytest.raises(RequestError, match="must be a non-empty string"):
        fields({"name": value}).text("name")


def test_text_default_applies_only_when_absent() -> None:
    assert fields({}).text("name", default="fallback") == "fallback"
    assert fields({"name": "given"}).text("name", default="fallback") == "given"


def test_flag_rejects_a_string_that_looks_boolean() -> None:
    with pytest.raises(RequestError) as raised:
        fields({"revoked": "yes"}).flag("revoked", default=False)

    assert raised.value.field == "volumes[0].revoked"
    assert raised.value.rule == "must be true or false, not a string"


def test_flag_reads_booleans_and_defaults_when_absent() -> None:
    assert fields({"revoked": True}).flag("revoked", default=False) is True
    assert fields({}).flag("revoked", default=True) is True
    assert fields({}).flag("revoked", default=False) is False


# -- error rendering ---------------------------------------------------------------------------------


def test_located_attributes_an_error_to_a_file_and_nests_its_field() -> None:
    error = RequestError("must be M", field="radius.units")

    moved = error.located("req.yaml", "volumes[2]")

    assert isinstance(moved, RequestError)
    assert str(moved) == "req.yaml: volumes[2].radius.units: must be M"
