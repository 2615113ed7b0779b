"""Catch-up prediction: states and seconds, per partition and per group."""

from __future__ import annotations

import pytest

from monitor import catchup
from monitor.offsets import GroupSnapshot, PartitionOffsets
from monitor.report import build


@pytest.mark.parametrize(
    ("lag", "produced", "consumed", "seconds", "state"),
    [
        (0, 0.0, 0.0, 0.0, "idle"),
        (0, 5.0, 5.0, 0.0, "caught up"),
        (0, None, None, 0.0, "caught up"),
        (100, 0.0, 10.0, 10.0, "catching up"),
        (100, 5.0, 15.0, 10.0, "catching up"),
        (100, 10.0, 10.0, None, "growing"),
        (100, 20.0, 5.0, None, "growing"),
        (100, 0.0, 0.0, None, "stalled"),
        (100, None, None, None, "unknown"),
        (None, 1.0, 1.0, None, "unknown"),
    ],
)
def test_predict(lag, produced, consumed, seconds, state) -> None:
    got = catchup.predict(lag, produced, consumed)
    assert (got.seconds, got.state) == (seconds, state)


def snap(at: float, rows: list[tuple[int, int, int | None]]) -> GroupSnapshot:
    parts = tuple(
        PartitionOffsets("T", i, start, end, committed, "c", "h")
        for i, (start, end, committed) in enumerate(rows)
    )
    return GroupSnapshot("g", at, "STABLE", 1, "range", parts)


def test_estimate_per_partition_and_group() -> None:
    # partition 0: 100 behind, consumes 20/s, no new messages -> 5 s
    # partition 1: produced 10/s, consumed 0 -> growing
    then = snap(1000.0, [(0, 300, 0), (0, 100, 50)])
    now = snap(1010.0, [(0, 300, 200), (0, 200, 50)])
    report = build(now, [then])
    got = catchup.estimate(report, [then], now.at)
    assert got.partitions["T[0]"].state == "catching up"
    assert got.partitions["T[0]"].seconds == pytest.approx(5.0)
    assert got.partitions["T[1]"].state == "growing"
    assert got.partitions["T[1]"].produced_per_s == pytest.approx(10.0)
    # group: lag 250, produced 10/s, consumed 20/s -> 25 s
    assert got.group.state == "catching up"
    assert got.group.seconds == pytest.approx(250 / 10.0)
    assert got.as_dict()["partitions"]["T[0]"]["seconds"] == pytest.approx(5.0)


def test_estimate_without_history_is_unknown() -> None:
    now = snap(1010.0, [(0, 300, 200)])
    got = catchup.estimate(build(now), [], now.at)
    assert got.group.state == "unknown" and got.partitions["T[0]"].state == "unknown"
