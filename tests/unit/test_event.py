"""The check-in schema: the legacy fields, validated once for everyone."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from checkins.event import MAX_TEXT, SAMPLE, CheckIn

BANGKOK = {"timezone": "Asia/Bangkok"}


def make(context=BANGKOK, **changes) -> CheckIn:
    return CheckIn.model_validate({**SAMPLE, **changes}, context=context)


def rejects(field: str, **changes) -> str:
    with pytest.raises(ValidationError) as err:
        make(**changes)
    assert field in {str(e["loc"][0]) for e in err.value.errors()}
    return str(err.value)


def test_the_seed_sample_is_valid_and_its_date_is_bangkok_time_stored_in_utc():
    checkin = make()
    assert checkin.checkinDate == datetime(2021, 3, 18, 3, 13, 43, tzinfo=UTC)
    assert checkin.internetNo == "8850049302"
    assert checkin.wire_data()["checkinDate"] == "2021-03-18T03:13:43.000Z"


def test_the_zone_for_dates_without_one_comes_from_the_setting():
    utc = make(context={"timezone": "UTC"})
    assert utc.checkinDate == datetime(2021, 3, 18, 10, 13, 43, tzinfo=UTC)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2021-03-18T10:13:43+07:00", datetime(2021, 3, 18, 3, 13, 43, tzinfo=UTC)),
        ("2021-03-18T03:13:43Z", datetime(2021, 3, 18, 3, 13, 43, tzinfo=UTC)),
        ("2021-03-18T03:13:43.250Z", datetime(2021, 3, 18, 3, 13, 43, 250000, tzinfo=UTC)),
        (" 2021-03-18 10:13:43 ", datetime(2021, 3, 18, 3, 13, 43, tzinfo=UTC)),
    ],
)
def test_iso_dates_with_a_zone_are_accepted(text, expected):
    assert make(checkinDate=text).checkinDate == expected


@pytest.mark.parametrize(
    "value",
    ["2021-03-18", "18/03/2021 10:13", "yesterday", "", 1616037223, None, "0001-01-01 00:00:00"],
)
def test_bad_dates_are_rejected_with_a_hint(value):
    assert "checkinDate" in rejects("checkinDate", checkinDate=value)


def test_a_numeric_internet_number_becomes_its_string_but_a_boolean_does_not():
    assert make(internetNo=8850049302).internetNo == "8850049302"
    assert make(internetNo=8850049302.0).internetNo == "8850049302"
    rejects("internetNo", internetNo=True)
    rejects("internetNo", internetNo=math.inf)


def test_numeric_strings_are_accepted_for_coordinates():
    checkin = make(checkinLatitude=" 13.5 ", checkinLongitude="100.25")
    assert (checkin.checkinLatitude, checkin.checkinLongitude) == (13.5, 100.25)


@pytest.mark.parametrize(
    "field, value",
    [
        ("checkinLatitude", 999),
        ("checkinLatitude", -90.0001),
        ("checkinLongitude", 180.5),
        ("checkinLatitude", "nan"),
        ("checkinLongitude", "inf"),
        ("checkinLatitude", math.nan),
        ("checkinLatitude", "north"),
        ("checkinLatitude", True),
        ("checkinLongitude", None),
    ],
)
def test_out_of_range_or_non_numeric_coordinates_are_rejected(field, value):
    rejects(field, **{field: value})


@pytest.mark.parametrize("field", list(SAMPLE))
def test_every_field_is_required(field):
    data = {k: v for k, v in SAMPLE.items() if k != field}
    with pytest.raises(ValidationError) as err:
        CheckIn.model_validate(data, context=BANGKOK)
    assert err.value.errors()[0]["type"] == "missing"


@pytest.mark.parametrize("field", ["internetNo", "orderNo", "staffCode", "jobStatus"])
def test_text_is_trimmed_and_must_not_be_empty_or_too_long(field):
    assert getattr(make(**{field: "  x1  "}), field) == "x1"
    rejects(field, **{field: "   "})
    rejects(field, **{field: "x" * (MAX_TEXT + 1)})


def test_unknown_fields_are_dropped_so_no_operator_or_dotted_key_reaches_the_store():
    checkin = make(**{"$where": "sleep(1000)", "a.b": 1, "extra": "x"})
    dumped = checkin.model_dump()
    assert set(dumped) == set(SAMPLE)
    assert not any(k.startswith("$") or "." in k for k in dumped)


finite_latitudes = st.floats(min_value=-90, max_value=90, allow_nan=False)
finite_longitudes = st.floats(min_value=-180, max_value=180, allow_nan=False)


@given(finite_latitudes, finite_longitudes, st.booleans())
def test_any_coordinates_in_range_are_kept_as_numbers_or_numeric_strings(lat, lon, as_text):
    value_lat, value_lon = (repr(lat), repr(lon)) if as_text else (lat, lon)
    checkin = make(checkinLatitude=value_lat, checkinLongitude=value_lon)
    assert (checkin.checkinLatitude, checkin.checkinLongitude) == (lat, lon)


@given(
    st.one_of(
        st.floats(min_value=90, exclude_min=True),
        st.floats(max_value=-90, exclude_max=True),
        st.just(math.nan),
    )
)
def test_any_latitude_outside_the_globe_is_rejected(lat):
    rejects("checkinLatitude", checkinLatitude=lat)


@given(st.integers(min_value=0, max_value=10**30))
def test_any_integer_internet_number_is_its_decimal_string(number):
    assert make(internetNo=number).internetNo == str(number)


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(9990, 1, 1)))
def test_a_local_date_text_round_trips_through_utc(moment):
    moment = moment.replace(microsecond=0)
    checkin = make(checkinDate=moment.strftime("%Y-%m-%d %H:%M:%S"), context={"timezone": "UTC"})
    assert checkin.checkinDate == moment.replace(tzinfo=UTC)
