"""The lag page's pure parts: badges, tables, dead-letter rows."""

from __future__ import annotations

import pytest

from checkins import wire
from dashboard import lag_view
from monitor import dead_letters as dl
from monitor.burrow import COLOURS, Commit, Status
from monitor.offsets import GroupSnapshot, PartitionOffsets
from monitor.report import build, trend


def test_badge_escapes_the_reason_and_colours_the_status():
    html = lag_view.badge("STOP", "group <script>alert(1)</script> & co")
    assert COLOURS[Status.STOP] in html and ">STOP</span>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html and "&amp; co" in html
    assert "#555" in lag_view.badge("<b>", "x") and "&lt;b&gt;" in lag_view.badge("<b>", "x")


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "-"), (0.0, "0.0 s"), (59.94, "59.9 s"), (150, "2.5 min"), (7200, "2.0 h")],
)
def test_seconds(value, text):
    assert lag_view.seconds(value) == text


def test_status_style_only_for_known_statuses():
    assert lag_view.status_style("OK") == f"background-color:{COLOURS[Status.OK]};color:white"
    assert lag_view.status_style("nonsense") == ""


def _report():
    rows = (
        PartitionOffsets("t", 0, 0, 10, 4, "c1", "h1", "c1-4f2a"),
        PartitionOffsets("t", 1, 0, 5, None),
    )
    commits = {("t", 0): [Commit(95.0, 3), Commit(99.0, 4)]}
    return build(GroupSnapshot("g", 100.0, "STABLE", 1, "range", rows), commits=commits)


def test_partitions_frame_shows_offsets_owner_and_status():
    frame = lag_view.partitions_frame(_report())
    assert frame["lag"].tolist()[0] == 6 and frame["lag"].isna().tolist() == [False, True]
    assert frame["committed"].isna().tolist() == [False, True]
    assert list(frame["member id"]) == ["c1-4f2a", "-"]
    assert list(frame["client id"]) == ["c1", "-"]
    assert list(frame["status"]) == ["OK", "NO_COMMIT"]
    assert list(frame["last commit"]) == ["1 s ago", "never"]


def test_groups_and_trend_frames():
    report = _report()
    groups = lag_view.groups_frame([report])
    assert groups.iloc[0]["group"] == "g" and groups.iloc[0]["total lag"] == 6
    snaps = [
        GroupSnapshot("g", at, "", 0, "", (PartitionOffsets("t", 0, 0, at, 0),)) for at in (1, 2)
    ]
    wide = lag_view.trend_frame(trend(snaps))
    assert list(wide.columns) == ["total", "t[0]"] and list(wide["total"]) == [1, 2]
    assert list(lag_view.trend_frame([]).columns) == ["total"]


def test_dead_letter_from_connect_headers():
    headers = [
        (wire.DLQ_TOPIC, b"HOME_CHECKIN_CREATED"),
        (wire.DLQ_PARTITION, b"2"),
        (wire.DLQ_OFFSET, b"17"),
        (wire.DLQ_REASON, "not valid JSON: Expecting value ✗".encode()),
    ]
    letter = dl.describe(0, 5, 1.5, headers, b'{"A":\n  "B"}')
    assert letter.origin == "HOME_CHECKIN_CREATED[2]@17"
    assert letter.reason == "not valid JSON: Expecting value ✗"
    assert letter.preview == '{"A": "B"}'


@pytest.mark.parametrize(
    ("headers", "reason", "origin"),
    [
        (None, "(no reason header)", "?[?]@?"),
        ([(wire.DLQ_EXCEPTION_CLASS, b"InvalidMessage")], "InvalidMessage", "?[?]@?"),
        ([(wire.DLQ_REASON, None), (wire.DLQ_TOPIC, b"t")], "(no reason header)", "t[?]@?"),
    ],
)
def test_dead_letter_with_missing_headers_still_shows(headers, reason, origin):
    letter = dl.describe(0, 0, None, headers, None)
    assert (letter.reason, letter.origin, letter.preview) == (reason, origin, "(no value)")


def test_preview_is_one_line_cut_and_survives_bad_bytes():
    assert dl.preview(b"x" * 200, limit=10) == "xxxxxxxxx…"
    assert dl.preview(b"\xff\xfeok") == "\ufffd\ufffdok"


def test_dead_letters_frame_newest_rows_as_given():
    letters = [dl.describe(0, 2, 0.0, None, b"a"), dl.describe(0, 1, None, None, b"b")]
    frame = lag_view.dead_letters_frame(letters)
    # A wide grid draws only the columns in view: what failed and why come first.
    assert list(frame.columns)[:3] == ["at (UTC)", "reason", "message"]
    assert list(frame["dlq offset"]) == [2, 1]
    assert list(frame["at (UTC)"]) == ["1970-01-01 00:00:00", "-"]
