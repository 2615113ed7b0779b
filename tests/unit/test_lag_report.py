"""The report the page and CLI show, built from snapshots without Kafka or MongoDB."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.burrow import Commit
from monitor.cli import oldest_unread, render_text, restrict
from monitor.history import from_document, to_document
from monitor.maths import OffsetSample
from monitor.offsets import GroupSnapshot, PartitionOffsets
from monitor.report import build, lag_when, trend

T = "checkins"


def snap(at: float, *parts: tuple[int, int, int | None], owner: str | None = None, **kw):
    """parts: (partition, end, committed); log start 0."""
    rows = tuple(
        PartitionOffsets(
            T, p, 0, end, committed, owner, "10.0.0.7" if owner else None, owner and f"{owner}-m1"
        )
        for p, end, committed in parts
    )
    fields = {"state": "STABLE" if owner else "EMPTY", "members": 1 if owner else 0}
    fields.update(kw)
    return GroupSnapshot("g", at, fields["state"], fields["members"], "range", rows)


def test_stopped_group_sums_only_committed_lag_and_is_err():
    # Issue 16: commits on some partitions only; the others have no lag, not log end - start.
    report = build(
        snap(100.0, (0, 600, 0), (1, 400, None), (2, 0, None)), commits={(T, 0): [Commit(40.0, 0)]}
    )
    assert report.total_lag == 600
    assert [p.lag for p in report.partitions] == [600, None, None]
    assert [p.committed for p in report.partitions] == [0, None, None]
    assert [p.status for p in report.partitions] == ["STOP", "NO_COMMIT", "NO_COMMIT"]
    assert "no commit for 60 s" in report.partitions[0].reason
    assert "never committed (log start 0, log end 400)" in report.partitions[1].reason
    assert report.status == "ERR" and report.reason.startswith("checkins[0] STOP: ")
    assert [p.time_lag_s for p in report.partitions[1:]] == [None, None]
    assert report.samples == 1
    assert report.produced_per_s is None and report.consumed_per_s is None
    assert report.at == "1970-01-01T00:01:40+00:00"


def test_a_group_that_never_committed_is_notfound_and_says_where_it_would_start():
    report = build(snap(100.0, (0, 600, None)), offset_reset="earliest")
    assert (report.status, report.total_lag) == ("NOTFOUND", 0)
    assert "auto.offset.reset=earliest): 600 messages to read" in report.partitions[0].reason


def test_commit_past_the_log_end_shows_negative_lag_and_err():
    report = build(snap(100.0, (0, 452, 502), (1, 10, 10)), commits={(T, 1): [Commit(99.0, 10)]})
    p0, p1 = report.partitions
    assert (p0.lag, p0.status, p0.time_lag_s) == (-50, "ERR", None)
    assert "past the log end 452 (lag -50)" in p0.reason
    assert p1.status == "OK"
    assert report.total_lag == -50 and report.status == "ERR"


def test_last_commit_age_is_the_true_one():
    report = build(snap(1000.0, (0, 100, 40), owner="c1"), commits={(T, 0): [Commit(748.0, 40)]})
    p0 = report.partitions[0]
    assert p0.last_commit_age_s == pytest.approx(252.0)
    assert p0.last_commit_at == "1970-01-01T00:12:28.000+00:00"
    assert "no commit for 4 min 12 s" in p0.reason and p0.commits == 1


def test_time_lag_from_the_message_timestamp_then_from_history():
    history = [snap(10.0, (0, 100, 100), (1, 50, 50)), snap(20.0, (0, 200, 100), (1, 50, 50))]
    now = snap(30.0, (0, 300, 150), (1, 60, 50))
    report = build(now, history, {(T, 1): 25.0})
    p0, p1 = report.partitions
    # p0: offset 150 was written half way between 10 s (end 100) and 20 s (end 200)
    assert (p0.time_lag_s, p0.time_lag_source) == (pytest.approx(15.0), "history")
    assert (p1.time_lag_s, p1.time_lag_source) == (pytest.approx(5.0), "message")
    assert report.worst_time_lag_s == pytest.approx(15.0)


def test_no_lag_means_no_time_lag_and_unknown_stays_unknown():
    report = build(snap(30.0, (0, 100, 100), (1, 100, 10), owner="c1"))
    assert report.partitions[0].time_lag_s == 0.0
    assert report.partitions[1].time_lag_s is None
    assert report.worst_time_lag_s == 0.0


def test_rates_use_the_oldest_sample_of_the_last_minute():
    history = [
        snap(0.0, (0, 0, 0), owner="c1"),  # older than the rate window
        snap(50.0, (0, 100, 50), owner="c1"),
        snap(100.0, (0, 300, 150), owner="c1"),
    ]
    report = build(snap(110.0, (0, 1300, 350), owner="c1"), history)
    assert report.produced_per_s == pytest.approx((1300 - 100) / 60)
    assert report.consumed_per_s == pytest.approx((350 - 50) / 60)
    assert report.samples == 4


def test_commit_lags_come_from_the_log_ends_seen_before_each_commit():
    history = [snap(float(t), (0, 100 * (t + 1), 50 * t), owner="c1") for t in (0, 10, 20)]
    window = {(T, 0): [Commit(1.0, 50), Commit(11.0, 500), Commit(21.0, 1000)]}
    report = build(snap(25.0, (0, 2600, 1000), owner="c1"), history, commits=window)
    # ends 100, 1100, 2100 before the commits: lags 50, 600, 1100 never went down -> WARN
    assert report.partitions[0].status == "WARN" and "(50 to 1,100)" in report.partitions[0].reason
    assert report.status == "WARN"
    stuck = {(T, 0): [Commit(float(t), 40) for t in range(0, 60, 10)]}
    report = build(snap(55.0, (0, 100, 40), owner="c1"), [], commits=stuck)
    assert report.partitions[0].status == "STALL" and "c1" not in report.partitions[0].reason
    p0 = report.partitions[0]
    assert (p0.member_id, p0.client_id, p0.host) == ("c1-m1", "c1", "10.0.0.7")


def test_lag_when_a_commit_was_made():
    samples = [OffsetSample(10.0, 0, 100, None), OffsetSample(20.0, 0, 200, 50)]
    assert lag_when(Commit(15.0, 40), samples) == 60  # the end last seen before it: 100
    assert lag_when(Commit(5.0, 40), samples) == 60  # older than the samples: the oldest
    assert lag_when(Commit(25.0, 250), samples) == 0  # past the end seen: 0, as Burrow stores it


def test_rewind_in_the_commit_window():
    window = {(T, 0): [Commit(90.0, 90), Commit(95.0, 10)]}
    report = build(snap(96.0, (0, 100, 10), owner="c1"), commits=window)
    assert report.partitions[0].status == "REWIND" and report.status == "ERR"
    caught_up = build(snap(96.0, (0, 100, 100), owner="c1"), commits=window)
    assert caught_up.partitions[0].status == "OK"  # no lag now: never in error


def test_history_documents_round_trip():
    original = snap(1_700_000_000.5, (0, 10, 4), (1, 7, None), owner="c1")
    doc = to_document(original)
    assert doc["at"] == datetime.fromtimestamp(1_700_000_000.5, UTC)
    assert doc["totalLag"] == 6  # partition 1 never committed: no lag
    assert doc["partitions"][0]["memberId"] == "c1-m1"
    naive = {**doc, "at": doc["at"].replace(tzinfo=None)}  # as a non-tz-aware client reads it
    assert from_document(doc) == original == from_document(naive)


def test_trend_rows_per_partition_and_total():
    rows = trend([snap(60.0, (0, 5, 1), (1, 3, 3)), snap(0.0, (0, 2, 2), (1, 1, 0))])
    assert [(r["series"], r["lag"]) for r in rows] == [
        ("checkins[0]", 0),
        ("checkins[1]", 1),
        ("total", 1),
        ("checkins[0]", 4),
        ("checkins[1]", 0),
        ("total", 4),
    ]


def test_oldest_unread_and_restrict():
    s = GroupSnapshot(
        "g",
        0.0,
        "EMPTY",
        0,
        "",
        (
            PartitionOffsets(T, 0, 0, 10, 4),
            PartitionOffsets(T, 1, 5, 10, None),  # never committed: no position, nothing unread
            PartitionOffsets(T, 2, 8, 10, 3),  # committed before the start: the start
            PartitionOffsets(T, 3, 0, 10, 10),  # caught up: nothing to read
            PartitionOffsets("other", 0, 0, 10, 0),
        ),
    )
    assert oldest_unread(s) == {(T, 0): 4, (T, 2): 8, ("other", 0): 0}
    assert {p.topic for p in restrict(s, {T}).partitions} == {T}


def test_text_output_has_the_figures_and_a_row_per_partition():
    report = build(
        snap(100.0, (0, 600, 0), (1, 400, 400), (2, 50, None), owner="c1"),
        commits={(T, 0): [Commit(88.0, 0)], (T, 1): [Commit(99.0, 400)]},
    )
    text = render_text(report, ["no lag history: MongoDB did not answer (X)"])
    assert "group g  state STABLE  members 1  assignor range" in text
    assert "total lag 600" in text
    lines = text.splitlines()
    row = next(line for line in lines if line.startswith("checkins  0"))
    assert row.split() == [
        *("checkins", "0", "0", "600", "0", "600", "-", "STOP", "12", "s", "ago"),
        *("c1-m1", "c1@10.0.0.7"),
    ]
    never = next(line for line in lines if line.startswith("checkins  2"))
    assert never.split()[:9] == ["checkins", "2", "0", "50", "-", "-", "-", "NO_COMMIT", "-"]
    assert "  checkins[2] NO_COMMIT: never committed" in text
    assert lines[-1] == "note: no lag history: MongoDB did not answer (X)"


def test_a_message_older_than_the_history_has_a_lower_bound_time_lag():
    history = [snap(10.0, (0, 100, 20)), snap(20.0, (0, 200, 20))]
    p0 = build(snap(40.0, (0, 200, 20)), history).partitions[0]
    assert (p0.time_lag_s, p0.time_lag_source) == (pytest.approx(30.0), "history, at least")
