"""Formatting, overview and event-log shaping, and the lag maths."""

import csv
import io
from datetime import UTC, datetime, timedelta

from markdown_it import MarkdownIt  # CommonMark, like the remark parser Streamlit renders with
from pymongo.errors import NetworkTimeout, OperationFailure, ServerSelectionTimeoutError

from dashboard.eventlog import (
    csv_bytes,
    one_page,
    page_cap,
    read_stopped_early,
    table,
    timeline_table,
)
from dashboard.formatting import age, escape, local_time, markdown_literal, store_problem
from dashboard.overview import count_since, counts_frame, per_minute
from monitor.maths import offset_lag

NOW = datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC)


def test_age_reads_like_a_person_would_say_it():
    assert age(NOW - timedelta(seconds=20), NOW) == "just now"
    assert age(NOW - timedelta(minutes=3, seconds=5), NOW) == "3 min ago"
    assert age(NOW - timedelta(hours=5), NOW) == "5 h ago"
    assert age(NOW - timedelta(days=2), NOW) == "2 d ago"
    assert age(NOW + timedelta(hours=1), NOW) == "in the future"
    assert age(None, NOW) == "-"


def test_naive_store_dates_are_read_as_utc():
    assert local_time(datetime(2021, 3, 18, 3, 13, 43), "Asia/Bangkok") == "2021-03-18 10:13:43"
    assert escape(None) == "" and escape("a&b") == "a&amp;b"


def minutes(*pairs: tuple[datetime, int]) -> dict[datetime, dict]:
    """What timeline.minute_counts returns: {minute (UTC): {n, byStatus}}."""
    return {m: {"n": n, "byStatus": {"onroute": n}} for m, n in pairs}


def test_per_minute_counts_every_minute_including_empty_ones():
    counts = minutes(
        (datetime(2026, 3, 1, 12, 0, tzinfo=UTC), 2),
        (datetime(2026, 3, 1, 11, 58, tzinfo=UTC), 1),
        (datetime(2026, 3, 1, 11, 0, tzinfo=UTC), 7),  # outside the chart
    )
    frame = per_minute(counts, NOW, 5, "UTC")
    assert list(frame.index) == ["11:56", "11:57", "11:58", "11:59", "12:00"]
    assert list(frame["check-ins"]) == [0, 0, 1, 0, 2]
    assert list(per_minute(counts, NOW, 2, "Asia/Bangkok").index) == ["18:59", "19:00"]


def test_counts_frame_sorts_biggest_first():
    frame = counts_frame({"a": 1, "b": 5}, "jobStatus")
    assert frame.to_dict("records") == [
        {"jobStatus": "b", "count": 5},
        {"jobStatus": "a", "count": 1},
    ]


def test_event_table_and_csv_defuse_formulas():
    rows = [
        {
            "_id": "e1",
            "staffCode": '=HYPERLINK("http://x")',
            "jobStatus": "onroute",
            "orderNo": "o1",
            "internetNo": "88",
            "checkinLatitude": 13.7,
            "checkinLongitude": 100.5,
            "checkinDate": NOW - timedelta(minutes=4),
        }
    ]
    frame = table(rows, NOW, "UTC")
    assert frame.loc[0, "checkin time"] == "2026-03-01 11:56:30"
    assert frame.loc[0, "age"] == "4 min ago"
    parsed = list(csv.DictReader(io.StringIO(csv_bytes(frame).decode())))
    assert parsed[0]["staffCode"] == '\'=HYPERLINK("http://x")'
    assert parsed[0]["orderNo"] == "o1" and parsed[0]["latitude"] == "13.7"


def test_timeline_table_is_in_history_order():
    history = [
        {"eventId": "1", "jobStatus": "onroute", "staffCode": "s", "checkinDate": NOW},
        {"eventId": "2", "jobStatus": "completed", "staffCode": "s", "checkinDate": NOW},
    ]
    assert list(timeline_table(history, "UTC")["jobStatus"]) == ["onroute", "completed"]


def test_lag_is_end_minus_committed_and_uncommitted_partitions_have_none():
    latest = {0: 10, 1: 5, 2: 7}
    committed = {0: 4, 1: 5, 2: -1001}  # librdkafka's OFFSET_INVALID: no commit
    earliest = {0: 0, 1: 0, 2: 2}
    lags = {p: offset_lag(committed[p], earliest[p], end) for p, end in latest.items()}
    assert lags == {0: 6, 1: 0, 2: None}


def test_count_since_counts_the_minutes_that_end_after_the_moment():
    counts = minutes(
        (datetime(2026, 3, 1, 12, 0, tzinfo=UTC), 2),
        (datetime(2026, 3, 1, 11, 55, tzinfo=UTC), 3),  # holds NOW - 5 min: counts whole
        (datetime(2026, 3, 1, 11, 54, tzinfo=UTC), 4),  # ended before it
    )
    assert count_since(counts, NOW - timedelta(minutes=5)) == 5
    assert count_since(counts, datetime(2026, 3, 1, 11, 55, tzinfo=UTC)) == 5
    assert count_since(counts, datetime(2026, 3, 1, 11, 54, 59, tzinfo=UTC)) == 9
    assert count_since({}, NOW) == 0


def test_an_event_page_is_a_slice_of_the_newest_rows_read_up_to_its_cap():
    rows = [{"_id": str(i)} for i in range(7)]  # newest first, as window_points returns them
    assert page_cap(0, 3) == 3 and page_cap(2, 3) == 9
    assert [r["_id"] for r in one_page(rows[: page_cap(0, 3)], 0, 3)] == ["0", "1", "2"]
    assert [r["_id"] for r in one_page(rows, 1, 3)] == ["3", "4", "5"]
    assert [r["_id"] for r in one_page(rows, 2, 3)] == ["6"]
    assert one_page(rows, 5, 3) == []


def test_a_read_that_stopped_at_its_limit_is_told_apart_from_a_next_page():
    three = [{"_id": str(i)} for i in range(3)]
    assert read_stopped_early(three, 5, more=True)  # fewer than asked for, yet more left
    assert not read_stopped_early(three, 3, more=True)  # a full read: the next page has rows
    assert not read_stopped_early(three, 5, more=False)


def test_store_problems_are_named_for_people():
    assert store_problem(ServerSelectionTimeoutError("x")).startswith("MongoDB is unreachable")
    assert "took too long" in store_problem(NetworkTimeout("x"))
    assert store_problem(OperationFailure("x", code=238)) == "MongoDB refused the query (code 238)"


def test_markdown_literal_leaves_no_markdown_to_interpret():
    for text in [
        "[click me](javascript:alert(4))",
        "*a* _b_ `c`",
        "<b>x</b>",
        ":red[x] $x$",
        "# h",
    ]:
        rendered = MarkdownIt("commonmark").renderInline(markdown_literal(text))
        assert rendered == escape(text).replace("&#x27;", "'"), text
