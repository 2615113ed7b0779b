"""The report the page and CLI show, built from snapshots without Kafka or MongoDB."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.cli import oldest_unread, render_text, restrict
from monitor.history import from_document, to_document
from monitor.offsets import GroupSnapshot, PartitionOffsets
from monitor.report import build, trend

T = "checkins"


def snap(at: float, *parts: tuple[int, int, int | None], owner: str | None = None, **kw):
    """parts: (partition, end, committed); log start 0."""
    rows = tuple(
        PartitionOffsets(T, p, 0, end, committed, owner, "10.0.0.7" if owner else None)
        for p, end, committed in parts
    )
    fields = {"state": "STABLE" if owner else "EMPTY", "members": 1 if owner else 0}
    fields.update(kw)
    return GroupSnapshot("g", at, fields["state"], fields["members"], "range", rows)


def test_stopped_group_with_lag_is_stop_and_sums_lag():
    report = build(snap(100.0, (0, 600, 0), (1, 400, None), (2, 0, None)))
    assert report.total_lag == 1000
    assert [p.lag for p in report.partitions] == [600, 400, 0]
    assert [p.status for p in report.partitions] == ["STOP", "STOP", "OK"]
    assert report.status == "STOP" and report.reason.startswith("checkins[0]: ")
    assert report.samples == 1
    assert report.produced_per_s is None and report.consumed_per_s is None
    assert report.at == "1970-01-01T00:01:40+00:00"


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


def test_status_window_sees_growth_and_a_stuck_owner():
    growing = [snap(t, (0, 100 * (t + 1), 50 * (t + 1)), owner="c1") for t in range(0, 10, 2)]
    assert build(snap(10.0, (0, 2000, 500), owner="c1"), growing).status == "WARN"
    stuck = [snap(t, (0, 100, 40), owner="c1") for t in range(0, 60, 10)]
    report = build(snap(60.0, (0, 100, 40), owner="c1"), stuck)
    assert report.status == "STALL" and "c1" not in report.reason  # reason is about offsets
    assert report.partitions[0].client_id == "c1" and report.partitions[0].host == "10.0.0.7"


def test_history_outside_the_status_window_is_ignored():
    rewound = [snap(0.0, (0, 100, 90)), snap(5.0, (0, 100, 10))]
    assert build(snap(500.0, (0, 100, 100)), rewound).status == "OK"
    assert build(snap(10.0, (0, 100, 100)), rewound).status == "REWIND"


def test_history_documents_round_trip():
    original = snap(1_700_000_000.5, (0, 10, 4), (1, 7, None), owner="c1")
    doc = to_document(original)
    assert doc["at"] == datetime.fromtimestamp(1_700_000_000.5, UTC)
    assert doc["totalLag"] == 13
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
            PartitionOffsets(T, 1, 5, 10, None),  # never committed: from the log start
            PartitionOffsets(T, 2, 8, 10, 3),  # committed before the start: the start
            PartitionOffsets(T, 3, 0, 10, 10),  # caught up: nothing to read
            PartitionOffsets("other", 0, 0, 10, 0),
        ),
    )
    assert oldest_unread(s) == {(T, 0): 4, (T, 1): 5, (T, 2): 8, ("other", 0): 0}
    assert {p.topic for p in restrict(s, {T}).partitions} == {T}


def test_text_output_has_the_figures_and_a_row_per_partition():
    report = build(snap(100.0, (0, 600, 0), (1, 400, 400), owner="c1"))
    text = render_text(report, ["no lag history: MongoDB did not answer (X)"])
    assert "group g  state STABLE  members 1  assignor range" in text
    assert "total lag 600" in text
    lines = text.splitlines()
    row = next(line for line in lines if line.startswith("checkins  0"))
    assert row.split() == ["checkins", "0", "0", "600", "0", "600", "-", "OK", "c1@10.0.0.7"]
    assert lines[-1] == "note: no lag history: MongoDB did not answer (X)"


def test_a_message_older_than_the_history_has_a_lower_bound_time_lag():
    history = [snap(10.0, (0, 100, 20)), snap(20.0, (0, 200, 20))]
    p0 = build(snap(40.0, (0, 200, 20)), history).partitions[0]
    assert (p0.time_lag_s, p0.time_lag_source) == (pytest.approx(30.0), "history, at least")
