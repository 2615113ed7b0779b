"""Every Burrow-style rule, table-driven: samples (t, start, end, committed), owned -> status."""

from __future__ import annotations

import pytest

from monitor.burrow import (
    COLOURS,
    Status,
    Verdict,
    evaluate_group,
    evaluate_partition,
    window,
)
from monitor.maths import OffsetSample


def samples(*rows: tuple[float, int, int, int | None]) -> list[OffsetSample]:
    return [OffsetSample(at=t, start=s, end=e, committed=c) for t, s, e, c in rows]


CASES = [
    # id, samples, owned, expected status, words the reason must hold
    (
        "err_deleted_unread",
        samples((0, 500, 900, 100)),
        True,
        Status.ERR,
        ["below the log start 500", "400 messages were deleted unread"],
    ),
    (
        "err_beats_rewind",
        samples((0, 0, 900, 300), (5, 500, 900, 100)),
        True,
        Status.ERR,
        ["deleted unread"],
    ),
    (
        "rewind",
        samples((0, 0, 100, 80), (5, 0, 100, 90), (10, 0, 100, 20)),
        True,
        Status.REWIND,
        ["went back from 90 to 20"],
    ),
    (
        "rewind_even_when_caught_up_again",
        samples((0, 0, 100, 100), (5, 0, 100, 0), (10, 0, 100, 100)),
        True,
        Status.REWIND,
        ["from 100 to 0"],
    ),
    ("ok_caught_up", samples((0, 0, 50, 50)), True, Status.OK, ["caught up at offset 50"]),
    (
        "ok_caught_up_without_owner",
        samples((0, 0, 50, 50), (60, 0, 50, 50)),
        False,
        Status.OK,
        ["caught up"],
    ),
    ("ok_empty_partition_no_commit", samples((0, 0, 0, None)), False, Status.OK, ["caught up"]),
    (
        "stop_no_owner_single_sample",
        samples((0, 0, 1000, 0)),
        False,
        Status.STOP,
        ["no member owns it", "lag 1,000"],
    ),
    (
        "stop_no_owner_no_commit_for_window",
        samples((0, 0, 10, 5), (30, 0, 20, 5), (60, 0, 30, 5)),
        False,
        Status.STOP,
        ["nothing was committed for 60 s", "lag 25"],
    ),
    (
        "stop_never_committed",
        samples((0, 0, 10, None), (30, 0, 12, None)),
        False,
        Status.STOP,
        ["lag 12"],
    ),
    (
        "stop_without_owner_once_commits_stood_still_long_enough",
        samples((0, 0, 100, 10), (5, 0, 100, 20), (40, 0, 100, 20)),
        False,
        Status.STOP,
        ["nothing was committed for 35 s", "lag 80"],
    ),
    (
        "not_stop_without_owner_while_commits_just_moved",
        samples((0, 0, 100, 10), (5, 0, 100, 20)),
        False,
        Status.OK,
        ["consuming; lag 80"],
    ),
    (
        "a_first_commit_is_a_move",
        samples((0, 0, 100, None), (5, 0, 100, 20)),
        False,
        Status.OK,
        ["consuming; lag 80"],
    ),
    (
        "stall_owned_moved_then_stuck",
        samples((0, 0, 100, 10), (10, 0, 100, 40), (45, 0, 100, 40)),
        True,
        Status.STALL,
        ["committed offset 40 for 35 s"],
    ),
    (
        "stall_owned_never_committed",
        samples((0, 0, 100, None), (30, 0, 100, None)),
        True,
        Status.STALL,
        ["committed nothing for 30 s"],
    ),
    (
        "stall_owned_not_moving",
        samples((0, 0, 100, 40), (15, 0, 100, 40), (30, 0, 100, 40)),
        True,
        Status.STALL,
        ["committed offset 40 for 30 s", "lag 60"],
    ),
    (
        "not_stall_before_the_window_is_long_enough",
        samples((0, 0, 100, 40), (10, 0, 100, 40)),
        True,
        Status.OK,
        ["consuming; lag 60"],
    ),
    (
        "warn_consuming_but_lag_grows",
        samples((0, 0, 100, 90), (5, 0, 200, 150), (10, 0, 300, 180)),
        True,
        Status.WARN,
        ["lag grew from 10 to 120 in 10 s"],
    ),
    (
        "warn_also_without_owner_when_commits_move",
        samples((0, 0, 100, 90), (5, 0, 200, 150), (10, 0, 300, 180)),
        False,
        Status.WARN,
        ["lag grew"],
    ),
    (
        "ok_lag_grows_then_shrinks",
        samples((0, 0, 100, 90), (5, 0, 200, 150), (10, 0, 210, 200)),
        True,
        Status.OK,
        ["consuming; lag 10 (was 10 10 s ago)"],
    ),
    (
        "ok_lag_growing_needs_three_samples",
        samples((0, 0, 100, 90), (5, 0, 200, 150)),
        True,
        Status.OK,
        ["lag 50"],
    ),
    (
        "ok_lag_steady_not_growing",
        samples((0, 0, 100, 50), (5, 0, 110, 60), (10, 0, 120, 70)),
        True,
        Status.OK,
        ["lag 50"],
    ),
]


@pytest.mark.parametrize(
    ("rows", "owned", "status", "words"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_partition_rule(rows, owned, status, words):
    verdict = evaluate_partition(rows, owned=owned)
    assert verdict.status is status, verdict.reason
    for word in words:
        assert word in verdict.reason
    assert verdict.colour == COLOURS[status]


def test_samples_in_any_order_are_judged_oldest_first():
    rows = samples((10, 0, 100, 90), (0, 0, 100, 20), (5, 0, 100, 80))
    assert evaluate_partition(rows, owned=True).status is Status.OK


def test_no_samples_is_an_error_of_the_caller():
    with pytest.raises(ValueError, match="at least one sample"):
        evaluate_partition([], owned=True)


def test_stall_threshold_is_a_parameter():
    rows = samples((0, 0, 100, 40), (10, 0, 100, 40))
    assert evaluate_partition(rows, owned=True, stall_seconds=10).status is Status.STALL


def test_window_keeps_recent_samples_oldest_first():
    rows = samples((100, 0, 1, 1), (0, 0, 1, 1), (50, 0, 1, 1), (200, 0, 1, 1))
    assert [s.at for s in window(rows, now=110, seconds=60)] == [50, 100]


GROUP_CASES = [
    ("all_ok", {"p0": Status.OK, "p1": Status.OK}, Status.OK, "all 2 partitions OK"),
    ("worst_wins", {"p0": Status.WARN, "p1": Status.STOP}, Status.STOP, "p1: "),
    ("err_is_worst", {"p0": Status.STOP, "p1": Status.ERR}, Status.ERR, "p1: "),
    ("stall_over_rewind", {"p0": Status.REWIND, "p1": Status.STALL}, Status.STALL, "p1: "),
    ("rewind_over_warn", {"p0": Status.WARN, "p1": Status.REWIND}, Status.REWIND, "p1: "),
    ("first_of_equals", {"p3": Status.STOP, "p1": Status.STOP}, Status.STOP, "p3: "),
    ("counts_others", {"p0": Status.STOP, "p1": Status.WARN}, Status.STOP, "(+1 more not OK)"),
    ("no_partitions", {}, Status.OK, "no partitions"),
]


@pytest.mark.parametrize(
    ("statuses", "status", "words"),
    [case[1:] for case in GROUP_CASES],
    ids=[case[0] for case in GROUP_CASES],
)
def test_group_status_is_the_worst_partition(statuses, status, words):
    verdict = evaluate_group({k: Verdict(v, f"reason {k}") for k, v in statuses.items()})
    assert verdict.status is status
    assert words in verdict.reason
