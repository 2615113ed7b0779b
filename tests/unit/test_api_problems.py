"""Validation errors become one problem per bad field, in plain words."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.problems import field_problems, summary
from api.receipt import DATE_PATTERN, request_schema
from checkins.event import SAMPLE, CheckIn


def _problems(data):
    with pytest.raises(ValidationError) as caught:
        CheckIn.model_validate(data, context={"timezone": "Asia/Bangkok"})
    return {p.field: p for p in field_problems(caught.value.errors(include_url=False))}


def test_each_bad_field_is_named_with_what_is_wrong():
    data = {**SAMPLE, "checkinLatitude": 91, "checkinLongitude": "east", "checkinDate": "soon"}
    del data["staffCode"]
    problems = _problems(data)
    assert set(problems) == {"checkinLatitude", "checkinLongitude", "checkinDate", "staffCode"}
    assert problems["checkinLatitude"].problem == "must be <= 90"
    assert problems["checkinLongitude"].problem == "must be a number"
    assert "YYYY-MM-DD HH:MM:SS" in problems["checkinDate"].problem
    assert problems["staffCode"].problem == "is required"
    assert problems["staffCode"].type == "missing"


def test_wrong_types_are_named():
    problems = _problems({**SAMPLE, "orderNo": 5, "internetNo": True})
    assert problems["orderNo"].problem == "must be a string"
    assert "boolean" in problems["internetNo"].problem


def test_a_header_location_is_dotted():
    errors = [
        {
            "loc": ("header", "Idempotency-Key"),
            "type": "string_too_long",
            "msg": "x",
            "ctx": {"max_length": 255},
        }
    ]
    (problem,) = field_problems(errors)
    assert problem.field == "header.Idempotency-Key"
    assert problem.problem == "must be at most 255 characters"


def test_the_summary_counts_and_lists():
    problems = _problems({**SAMPLE, "checkinLatitude": -91})
    assert summary(list(problems.values())) == "1 field is invalid: checkinLatitude must be >= -90"


def test_the_documented_request_schema_is_plain_openapi():
    schema = request_schema("Asia/Bangkok")
    lat = schema["properties"]["checkinLatitude"]
    assert (lat["minimum"], lat["maximum"]) == (-90, 90) and "ge" not in lat
    assert schema["properties"]["checkinDate"]["pattern"] == DATE_PATTERN
    assert set(schema["required"]) == set(SAMPLE)
