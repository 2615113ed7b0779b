import re
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.filters import (
    DATE_RANGE,
    DEFAULT_WINDOW,
    WINDOWS,
    Filters,
    all_of,
    contains_pattern,
    from_query_params,
    mongo_filter,
    point_predicate,
    search_predicate,
    time_bounds,
    to_query_params,
    window_bounds,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TZ = "Asia/Bangkok"


def test_windows_span_fifteen_minutes_to_seven_days():
    assert min(WINDOWS.values()) == 15 and max(WINDOWS.values()) == 7 * 24 * 60


def test_a_window_ends_now_and_starts_that_long_ago():
    since, until = time_bounds(Filters(window="15 min"), NOW, TZ)
    assert since == NOW - timedelta(minutes=15)
    assert until > NOW


def test_a_date_range_covers_whole_local_days():
    f = Filters(window=DATE_RANGE, start_day=date(2026, 3, 1), end_day=date(2026, 3, 2))
    since, until = time_bounds(f, NOW, TZ)
    # Bangkok is UTC+7: local midnight of 1 March is 17:00 UTC on 28 February.
    assert since == datetime(2026, 2, 28, 17, 0, tzinfo=UTC)
    assert until == datetime(2026, 3, 2, 17, 0, tzinfo=UTC)


def test_filter_holds_time_status_and_escaped_staff_search():
    q = mongo_filter(Filters(window="1 hour", statuses=("onroute",), staff="a.b*"), NOW, TZ)
    assert q["checkinDate"]["$gte"] == NOW - timedelta(hours=1)
    assert q["jobStatus"] == {"$in": ["onroute"]}
    assert q["staffCode"] == {"$regex": re.escape("a.b*"), "$options": "i"}


def test_blank_staff_search_adds_no_condition():
    assert "staffCode" not in mongo_filter(Filters(staff="   "), NOW, TZ)


@pytest.mark.parametrize("text", ['{"$ne": null}', "$where", ".*", "^(a+)+$", "[", "\\"])
def test_search_text_is_only_ever_a_literal_regex_string(text):
    pattern = contains_pattern(text)
    assert isinstance(pattern, str)
    assert re.search(pattern, f"xx{text}yy") and not re.fullmatch(pattern, "something else")


@given(st.text(min_size=1, max_size=60).filter(lambda t: t.strip()))
def test_any_text_matches_itself_literally(text):
    assert re.search(contains_pattern(text), "<" + text.strip() + ">")


def point(staff="tech001", status="onroute", order="ord-1", internet="8850049302") -> dict:
    """A check-in row as timeline.window_points returns it (timeline.POINT_FIELDS)."""
    return {
        "_id": "e1",
        "checkinLongitude": 100.5,
        "checkinLatitude": 13.7,
        "jobStatus": status,
        "staffCode": staff,
        "orderNo": order,
        "internetNo": internet,
        "checkinDate": NOW,
        "storedAt": NOW,
    }


MS = timedelta(milliseconds=1)


def test_window_bounds_end_one_millisecond_before_the_open_end():
    f = Filters(window=DATE_RANGE, start_day=date(2026, 3, 1), end_day=date(2026, 3, 1))
    start, end = window_bounds(f, NOW, TZ)
    assert start == datetime(2026, 2, 28, 17, 0, tzinfo=UTC)
    assert end == datetime(2026, 3, 1, 16, 59, 59, 999000, tzinfo=UTC)
    start, end = window_bounds(Filters(window="1 hour"), NOW, TZ)
    assert (start, end) == (NOW - timedelta(hours=1), time_bounds(Filters(), NOW, TZ)[1] - MS)


def test_no_status_and_no_staff_search_means_no_predicate():
    assert point_predicate(Filters()) is None
    assert point_predicate(Filters(staff="   ")) is None
    assert search_predicate("  ", ("orderNo",)) is None
    assert all_of(None, None) is None


def test_point_predicate_keeps_the_chosen_statuses_and_staff_containing_the_text():
    keep = point_predicate(Filters(statuses=("onroute", "completed"), staff=" ECH00 "))
    assert keep(point(staff="tech001", status="onroute"))
    assert keep(point(staff="xTech00y", status="completed"))  # case-insensitive contains
    assert not keep(point(staff="tech001", status="homecheckedin"))
    assert not keep(point(staff="tec_h00", status="onroute"))
    assert not keep(point(staff=None, status="onroute"))
    only_status = point_predicate(Filters(statuses=('{"$exists": true}',)))
    assert only_status(point(status='{"$exists": true}'))
    assert not only_status(point(status="onroute"))


@pytest.mark.parametrize("text", ['{"$ne": null}', "$where", ".*", "^(a+)+$", "[", "\\", "."])
def test_operator_and_regex_text_is_matched_literally(text):
    keep = point_predicate(Filters(staff=text))
    assert keep(point(staff=f"xx{text}yy"))
    assert not keep(point(staff="something else"))


@given(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=12),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
)
def test_staff_predicate_agrees_with_the_mongodb_regex_filter(text, staff):
    """The map's point filter keeps exactly what the `$regex` filter on technicians keeps."""
    keep = point_predicate(Filters(staff=text))
    pattern = contains_pattern(text)
    expected = pattern is None or re.search(pattern, staff, re.IGNORECASE) is not None
    assert (keep is None or keep(point(staff=staff))) == expected


def test_search_predicate_finds_the_text_in_any_of_the_fields():
    keep = search_predicate("59609", ("orderNo", "internetNo", "staffCode"))
    assert keep(point(order="5960915_1"))
    assert keep(point(internet="x59609"))
    assert keep(point(staff="S59609"))
    assert not keep(point())
    assert search_predicate("ORD-1", ("orderNo",))(point(order="xord-1x"))


def test_all_of_requires_every_predicate_that_is_set():
    staff = point_predicate(Filters(staff="tech"))
    order = search_predicate("ord-2", ("orderNo",))
    keep = all_of(staff, None, order)
    assert keep(point(staff="tech9", order="ord-2"))
    assert not keep(point(staff="tech9", order="ord-1"))
    assert not keep(point(staff="x", order="ord-2"))
    assert all_of(None, staff) is staff


def test_filters_round_trip_through_the_url():
    f = Filters(
        window=DATE_RANGE,
        start_day=date(2026, 1, 2),
        end_day=date(2026, 1, 5),
        statuses=("onroute", "completed"),
        staff="eng",
    )
    params = {k: v if isinstance(v, list) else [v] for k, v in to_query_params(f).items()}
    assert from_query_params(params) == f


def test_unreadable_url_values_fall_back_to_defaults():
    f = from_query_params({"window": ["forever"], "from": ["not-a-date"], "status": [""]})
    assert f == Filters(window=DEFAULT_WINDOW)
    assert from_query_params({"window": [DATE_RANGE]}).window == DEFAULT_WINDOW
