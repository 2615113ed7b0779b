"""The lag arithmetic, table-driven."""

from __future__ import annotations

import pytest

from monitor.maths import (
    OffsetSample,
    Throughput,
    interpolate_time,
    offset_lag,
    throughput,
    time_lag,
    total_lag,
    worst,
)


@pytest.mark.parametrize(
    ("committed", "start", "end", "lag"),
    [
        (0, 0, 1000, 1000),
        (1000, 0, 1000, 0),
        (400, 0, 1000, 600),
        (None, 0, 1000, None),  # no commit: Kafka's tool shows "-", the group's reset decides
        (None, 300, 1000, None),
        (-1001, 0, 10, None),  # librdkafka's OFFSET_INVALID
        (502, 0, 452, -50),  # committed past the log end: negative, as Kafka's tool shows it
        (100, 500, 1000, 900),  # deleted unread still counts, like Kafka's own tools
    ],
)
def test_offset_lag(committed, start, end, lag):
    assert offset_lag(committed, start, end) == lag
    assert OffsetSample(0, start, end, committed).lag == lag


POINTS = [(100, 10.0), (200, 20.0), (400, 30.0)]


@pytest.mark.parametrize(
    ("points", "offset", "moment"),
    [
        (POINTS, 100, 10.0),  # exactly a sample
        (POINTS, 150, 15.0),  # half way
        (POINTS, 300, 25.0),  # half way in a faster stretch
        (POINTS, 399, 29.95),
        (POINTS, 400, None),  # the log end itself: not written yet
        (POINTS, 50, 10.0),  # older than the history: its oldest time, a lower bound
        ([], 5, None),
        ([(100, 30.0), (200, 20.0), (150, 10.0)], 175, 15.0),  # unordered in, sorted by time
        ([(100, 10.0), (100, 20.0), (200, 30.0)], 150, 20.0),  # flat stretch keeps earliest
        ([(100, 10.0), (50, 20.0), (200, 30.0)], 150, 20.0),  # a recreated topic's dip ignored
    ],
)
def test_interpolate_time(points, offset, moment):
    got = interpolate_time(points, offset)
    assert got == pytest.approx(moment) if moment is not None else got is None


@pytest.mark.parametrize(
    ("now", "lag", "at", "seconds"),
    [
        (100.0, 0, None, 0.0),
        (100.0, 0, 10.0, 0.0),
        (100.0, 5, 40.0, 60.0),
        (100.0, 5, None, None),
        (100.0, 5, 130.0, 0.0),  # a producer clock ahead of ours is not negative lag
        (100.0, None, 40.0, None),  # no commit: no time lag
        (100.0, -50, None, None),  # past the log end: no age to tell
    ],
)
def test_time_lag(now, lag, at, seconds):
    assert time_lag(now, lag, at) == seconds


def _s(at, end, committed, start=0):
    return OffsetSample(at=at, start=start, end=end, committed=committed)


@pytest.mark.parametrize(
    ("earlier", "later", "expected"),
    [
        ({0: _s(0, 100, 50), 1: _s(0, 10, 10)}, {0: _s(5, 200, 100), 1: _s(5, 60, 10)}, (30, 10)),
        ({0: _s(0, 100, 50)}, {0: _s(0, 200, 100)}, (None, None)),  # no time passed
        ({0: _s(0, 100, 50)}, {0: _s(10, 50, 50)}, (None, 0)),  # end went back: recreated
        ({0: _s(0, 100, 90)}, {0: _s(10, 100, 10)}, (0, None)),  # committed went back
        ({0: _s(0, 100, None)}, {0: _s(10, 200, 150)}, (10, None)),  # first commit
        ({0: _s(0, 100, None)}, {0: _s(10, 200, None)}, (10, 0)),  # never committed
        ({}, {0: _s(10, 200, 150)}, (None, None)),
        ({0: _s(0, 0, 0), 9: _s(0, 5, 5)}, {0: _s(2, 10, 4)}, (5, 2)),  # common partitions only
    ],
)
def test_throughput(earlier, later, expected):
    assert throughput(earlier, later) == Throughput(*expected)


def test_totals_and_worst():
    # The sum of Kafka's LAG column: a partition without a commit adds nothing, one past its
    # log end adds its negative lag.
    assert total_lag([_s(0, 100, 40), _s(0, 10, None), _s(0, 5, 9)]) == 56
    assert total_lag([_s(0, 10, None)]) == 0
    assert worst([None, 3.5, 1.0]) == 3.5
    assert worst([None]) is None
