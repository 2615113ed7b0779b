"""Formatting, overview and event-log shaping, and the lag maths."""

import csv
import io
from datetime import UTC, datetime, timedelta

from markdown_it import MarkdownIt  # CommonMark, like the remark parser Streamlit renders with
from pymongo.errors import NetworkTimeout, OperationFailure, ServerSelectionTimeoutError

from dashboard.eventlog import csv_bytes, table, timeline_table
from dashboard.formatting import age, escape, local_time, markdown_literal, store_problem
from dashboard.kafka_status import partition_lag, total_lag
from dashboard.overview import count_since, counts_frame, per_minute

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


def test_per_minute_counts_every_minute_including_empty_ones():
    times = [NOW, NOW - timedelta(seconds=10), NOW - timedelta(minutes=2), NOW - timedelta(hours=1)]
    frame = per_minute(times, NOW, 5, "UTC")
    assert list(frame.index) == ["11:56", "11:57", "11:58", "11:59", "12:00"]
    assert list(frame["check-ins"]) == [0, 0, 1, 0, 2]


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


def test_lag_is_end_minus_committed_and_uncommitted_partitions_count_whole():
    latest = {0: 10, 1: 5, 2: 7}
    committed = {0: 4, 1: 5, 2: -1001}
    earliest = {0: 0, 1: 0, 2: 2}
    assert partition_lag(committed, latest, earliest) == {0: 6, 1: 0, 2: 5}
    assert total_lag(committed, latest, earliest) == 11
    assert total_lag({}, {}, {}) == 0


def test_count_since_counts_times_at_or_after_the_moment():
    times = [NOW, NOW - timedelta(minutes=5), NOW - timedelta(minutes=5, seconds=1)]
    assert count_since(times, NOW - timedelta(minutes=5)) == 2


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
