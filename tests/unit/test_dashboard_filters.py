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
    contains_pattern,
    from_query_params,
    mongo_filter,
    search_filter,
    time_bounds,
    to_query_params,
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


def test_search_filter_ors_the_fields():
    q = search_filter("59609", ("orderNo", "internetNo"))
    assert q == {
        "$or": [
            {"orderNo": {"$regex": "59609", "$options": "i"}},
            {"internetNo": {"$regex": "59609", "$options": "i"}},
        ]
    }
    assert search_filter("  ", ("orderNo",)) == {}


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
