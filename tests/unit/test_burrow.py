"""Each status by Burrow's own definition (linkedin/Burrow, core/internal/evaluator/caching.go
and core/protocol/evaluator.go, quoted), table-driven over commit windows."""

from __future__ import annotations

import pytest

from monitor.burrow import (
    COLOURS,
    INTERVALS,
    Commit,
    Status,
    Verdict,
    age,
    evaluate_group,
    evaluate_partition,
    judge,
)

NOW = 1000.0


def commits(*rows: tuple[float, int, int | None]) -> list[Commit]:
    """(commit time, offset, lag when committed)."""
    return [Commit(at, offset, lag) for at, offset, lag in rows]


# Each case: id, the rule quoted from Burrow, commit window, current lag, broker ends, status,
# words the reason must hold.
CASES = [
    (
        "ok_no_lag_now",
        '"If the current lag is zero, the partition is never in error"',
        commits((0, 100, 5), (500, 100, 5)),
        0,
        [],
        Status.OK,
        ["caught up at offset 100", "last commit 8 min 20 s ago"],
    ),
    (
        "ok_no_commits",
        '"If there are no offsets, we can\'t do anything" (status OK)',
        [],
        40,
        [],
        Status.OK,
        ["no commit seen"],
    ),
    (
        "stop_no_commit_for_longer_than_the_window",
        '"If the difference between now and the last offset timestamp is greater than the '
        "difference between the last and first offset timestamps, the consumer has stopped "
        'committing offsets for that partition (error)"',
        commits((900, 10, 90), (940, 20, 80)),
        80,
        [100, 100],
        Status.STOP,
        ["no commit for 60 s", "window of 2 commit(s) spans (40 s)", "lag 80"],
    ),
    (
        "stop_reason_age_is_not_capped",
        "(the same rule; the reason tells the true age of the last commit)",
        commits((700, 10, 90)),
        90,
        [100],
        Status.STOP,
        ["no commit for 5 min 0 s"],
    ),
    (
        "not_stop_when_recently_caught_up",
        '"if the recent broker offsets for this partition show that the consumer had zero lag '
        "recently [...] don't consider it stopped yet\" (then: lag never zero, offsets moved, "
        "lag fell: OK)",
        commits((900, 10, 20), (910, 30, 10)),
        5,
        [30, 35],
        Status.OK,
        ["consuming; lag 5"],
    ),
    (
        "not_stop_while_commits_keep_coming",
        "(now - last commit 10 s is not more than the window's 60 s span)",
        commits((930, 10, 90), (960, 20, 85), (990, 30, 80)),
        80,
        [110],
        Status.OK,
        ["consuming; lag 80, last commit 10 s ago"],
    ),
    (
        "rewind_not_recovered",
        '"the consumer has committed an offset for the partition that is less than the '
        'previous offset"; "We only count a rewind state against the consumer for as long as '
        'it it rewinds (and recovery) occurs"',
        commits((960, 80, 20), (970, 90, 10), (990, 20, 80)),
        80,
        [100],
        Status.REWIND,
        ["went back from 90 to 20", "lag 80"],
    ),
    (
        "rewind_recovered_is_judged_by_the_other_rules",
        "(the rewind came back to 90: not REWIND; lag was never zero, lag fell: OK)",
        commits((960, 80, 20), (970, 90, 10), (980, 20, 80), (990, 95, 5)),
        5,
        [100],
        Status.OK,
        ["consuming"],
    ),
    (
        "stop_beats_rewind",
        "(Burrow checks STOP first)",
        commits((900, 90, 10), (910, 20, 80)),
        80,
        [100],
        Status.STOP,
        ["no commit for"],
    ),
    (
        "stall_commits_of_one_offset",
        "\"If the consumer is committing offsets that do not change, it's an error (partition "
        'is stalled)"',
        commits((950, 40, 60), (965, 40, 60), (980, 40, 60), (995, 40, 60)),
        60,
        [100],
        Status.STALL,
        ["4 commit(s) of offset 40 over 45 s", "lag 60"],
    ),
    (
        "not_stall_when_lag_was_zero_in_the_window",
        '"If over the stored period, the lag is ever zero for the partition, the period is OK"',
        commits((950, 100, 0), (970, 100, 10), (990, 100, 20)),
        20,
        [120],
        Status.OK,
        ["consuming; lag 20"],
    ),
    (
        "warn_lag_not_decreasing",
        '"If the consumer offsets are advancing, but the lag is not decreasing somewhere, '
        "it's a warning (consumer is slow)\"",
        commits((950, 90, 10), (970, 150, 50), (990, 180, 120)),
        120,
        [300],
        Status.WARN,
        ["did not go down over 3 commits (10 to 120)", "lag 120"],
    ),
    (
        "warn_lag_steady_is_not_decreasing",
        "(a lag that stays the same does not decrease either)",
        commits((950, 50, 50), (970, 60, 50), (990, 70, 50)),
        50,
        [120],
        Status.WARN,
        ["did not go down"],
    ),
    (
        "ok_lag_goes_down_somewhere",
        "(the lag fell between two commits: not WARN)",
        commits((950, 90, 10), (970, 150, 50), (990, 200, 10)),
        10,
        [210],
        Status.OK,
        ["consuming; lag 10"],
    ),
    (
        "window_is_the_last_intervals_commits",
        "(storage `intervals`, 10: an old lag of zero has left the window, so the stuck offset "
        "is STALL)",
        commits((880, 40, 0), *[(890 + 10 * i, 40, 60) for i in range(INTERVALS)]),
        60,
        [100],
        Status.STALL,
        [f"{INTERVALS} commit(s) of offset 40"],
    ),
]


@pytest.mark.parametrize(
    ("window", "lag", "ends", "status", "words"),
    [case[2:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_partition_rule_as_burrow_defines_it(window, lag, ends, status, words):
    verdict = evaluate_partition(window, current_lag=lag, now=NOW, broker_ends=ends)
    assert verdict.status is status, verdict.reason
    for word in words:
        assert word in verdict.reason, verdict.reason
    assert verdict.colour == COLOURS[status]


def test_commits_in_any_order_are_judged_oldest_first():
    window = commits((990, 30, 80), (930, 10, 90), (960, 20, 85))
    assert evaluate_partition(window, current_lag=80, now=NOW).status is Status.OK


def test_a_paused_consumer_that_commits_nothing_is_stop_not_stall():
    """Issue 16: a consumer that commits nothing is not STALL (committing without moving) but
    STOP once the silence outlasts its window."""
    window = commits((960, 40, 30), (970, 50, 20))  # it committed, then paused
    early = evaluate_partition(window, current_lag=60, now=975.0, broker_ends=[110])
    late = evaluate_partition(window, current_lag=60, now=985.0, broker_ends=[110])
    assert early.status is Status.OK  # 5 s of silence, a window of 10 s
    assert late.status is Status.STOP and "no commit for 15 s" in late.reason


# The project's own checks of the position, before Burrow's rules.
def test_commit_past_the_log_end_is_err_with_its_negative_lag():
    verdict = judge(start=0, end=452, committed=502, commits=[], now=NOW)
    assert verdict.status is Status.ERR
    assert "502 is past the log end 452 (lag -50)" in verdict.reason


def test_commit_below_the_log_start_is_err():
    verdict = judge(start=500, end=900, committed=100, commits=[], now=NOW)
    assert verdict.status is Status.ERR
    assert "below the log start 500" in verdict.reason and "400 messages" in verdict.reason


@pytest.mark.parametrize(
    ("reset", "words"),
    [
        ("earliest", "the log start (auto.offset.reset=earliest): 700 messages to read"),
        ("latest", "the log end (auto.offset.reset=latest)"),
        (None, "unknown for this group"),
    ],
)
def test_never_committed_says_where_the_group_would_start(reset, words):
    verdict = judge(start=300, end=1000, committed=None, commits=[], now=NOW, offset_reset=reset)
    assert verdict.status is Status.NO_COMMIT
    assert "never committed (log start 300, log end 1,000)" in verdict.reason
    assert words in verdict.reason


def test_a_position_in_the_log_goes_to_burrows_rules():
    verdict = judge(start=0, end=100, committed=100, commits=commits((990, 100, 0)), now=NOW)
    assert verdict == Verdict(Status.OK, "caught up at offset 100; last commit 10 s ago")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.4, "0 s"), (117, "117 s"), (252, "4 min 12 s"), (7500, "2 h 5 min")],
)
def test_age(seconds, text):
    assert age(seconds) == text


# "The status of the consumer group. This is either NOTFOUND, OK, WARN, or ERR. It is calculated
# from the highest Status for the individual partitions"; "StatusError indicates that a group
# has one or more partitions that are in the Stop, Stall, or Rewind states".
GROUP_CASES = [
    ("all_ok", {"p0": Status.OK, "p1": Status.OK}, Status.OK, "all 2 committed partitions OK"),
    ("warn", {"p0": Status.OK, "p1": Status.WARN}, Status.WARN, "p1 WARN: "),
    ("stop_is_err", {"p0": Status.WARN, "p1": Status.STOP}, Status.ERR, "p1 STOP: "),
    ("stall_is_err", {"p0": Status.STALL}, Status.ERR, "p0 STALL: "),
    ("rewind_is_err", {"p0": Status.REWIND, "p1": Status.STALL}, Status.ERR, "p0 REWIND: "),
    ("project_err_named_first", {"p0": Status.REWIND, "p1": Status.ERR}, Status.ERR, "p1 ERR: "),
    ("first_of_equals", {"p3": Status.STOP, "p1": Status.STOP}, Status.ERR, "p3 STOP: "),
    ("counts_others", {"p0": Status.STOP, "p1": Status.WARN}, Status.ERR, "(+1 more not OK)"),
    ("no_commit_left_out", {"p0": Status.NO_COMMIT, "p1": Status.OK}, Status.OK, "all 1 "),
    ("nothing_committed", {"p0": Status.NO_COMMIT}, Status.NOTFOUND, "no committed offset"),
    ("no_partitions", {}, Status.NOTFOUND, "no committed offset"),
]


@pytest.mark.parametrize(
    ("statuses", "status", "words"),
    [case[1:] for case in GROUP_CASES],
    ids=[case[0] for case in GROUP_CASES],
)
def test_group_status_as_burrow_derives_it(statuses, status, words):
    verdict = evaluate_group({k: Verdict(v, f"reason {k}") for k, v in statuses.items()})
    assert verdict.status is status
    assert words in verdict.reason
