"""The publish form's values go through the one schema; its errors land beside their fields."""

from __future__ import annotations

import json
from datetime import date

import pytest

from checkins.event import SAMPLE, CheckIn
from checkins.producer import Delivery
from dashboard.filters import from_query_params
from dashboard.formatting import markdown_literal
from dashboard.publish import (
    FIELDS,
    FORM_ERROR,
    SAMPLE_JUNK,
    checkin_from_form,
    delivery_summary,
    describe_raw,
    map_query,
    raw_bytes,
    sample_values,
)


def test_the_form_starts_with_the_seeds_sample_and_it_is_valid():
    values = sample_values()
    assert values == SAMPLE
    assert list(values) == list(FIELDS) and len(FIELDS) == 7
    result = checkin_from_form(values)
    assert result.ok and result.errors == {}
    assert result.checkin == CheckIn.model_validate(SAMPLE)


def test_the_sample_values_are_a_copy():
    sample_values()["staffCode"] = "changed"
    assert sample_values()["staffCode"] == SAMPLE["staffCode"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("checkinLatitude", 123.0, "less than or equal to 90"),
        ("checkinLongitude", -181, "greater than or equal to -180"),
        ("checkinLatitude", "north", "must be a number"),
        ("checkinDate", "yesterday", "must be 'YYYY-MM-DD HH:MM:SS' or ISO-8601"),
        ("checkinDate", "2021-03-18", "must include a time of day"),
        ("staffCode", "x" * 129, "at most 128 characters"),
        ("staffCode", "", "Required"),
        ("orderNo", "   ", "Required"),
        ("internetNo", True, "not a boolean"),
    ],
)
def test_a_bad_field_gets_the_schemas_error_under_its_own_name(field, value, message):
    result = checkin_from_form({**SAMPLE, field: value})
    assert not result.ok and result.checkin is None
    assert list(result.errors) == [field]
    assert message in result.errors[field]


def test_every_bad_field_is_reported_at_once():
    result = checkin_from_form({**SAMPLE, "staffCode": "", "checkinLatitude": 91, "jobStatus": ""})
    assert set(result.errors) == {"staffCode", "checkinLatitude", "jobStatus"}
    assert FORM_ERROR not in result.errors


def test_a_date_without_a_zone_is_read_in_the_given_time_zone():
    result = checkin_from_form({**SAMPLE, "checkinDate": "2021-03-18 10:13:43"}, "Asia/Bangkok")
    assert result.checkin.checkinDate.isoformat() == "2021-03-18T03:13:43+00:00"
    utc = checkin_from_form({**SAMPLE, "checkinDate": "2021-03-18 10:13:43"}, "UTC")
    assert utc.checkin.checkinDate.isoformat() == "2021-03-18T10:13:43+00:00"


def test_raw_text_is_sent_byte_for_byte():
    assert raw_bytes('{"A":"B"}') == b'{"A":"B"}'
    assert raw_bytes("ไม่ใช่ JSON") == "ไม่ใช่ JSON".encode()


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        (SAMPLE_JUNK, "not the check-in envelope"),
        ("{not json", "not valid JSON"),
        (json.dumps({"payload": {"data": SAMPLE}}), "looks like an envelope"),
    ],
)
def test_the_raw_box_says_what_the_consumers_will_do(text, hint):
    assert hint in describe_raw(text)


def test_a_delivery_is_summarised_with_its_coordinates():
    summary = delivery_summary(Delivery("id-1", "topic-a", 3, 42))
    assert summary == {"event id": "id-1", "topic": "topic-a", "partition": 3, "offset": 42}


def test_the_map_link_shows_the_technician_on_the_check_ins_local_day():
    checkin = CheckIn.model_validate({**SAMPLE, "checkinDate": "2021-03-18T23:30:00Z"})
    params = map_query(checkin, "Asia/Bangkok")
    assert params["staff"] == "cs_eng_ftth"
    assert params["window"] == "date range"
    assert params["from"] == params["to"] == "2021-03-19"  # 06:30 the next day in Bangkok
    assert params["layer"] == "All check-ins in the window"
    filters = from_query_params({k: [v] for k, v in params.items()})  # as the map reads it
    assert (filters.staff, filters.start_day, filters.end_day) == (
        "cs_eng_ftth",
        date(2021, 3, 19),
        date(2021, 3, 19),
    )


def test_user_text_shown_in_markdown_cannot_format_link_or_inject_html():
    assert markdown_literal("e2e_tech_1") == "e2e\\_tech\\_1"
    assert markdown_literal("<b>*x*</b> [a](javascript:1)") == (
        "\\<b\\>\\*x\\*\\<\\/b\\> \\[a\\]\\(javascript\\:1\\)"
    )
    assert markdown_literal("plain 42") == "plain 42"
