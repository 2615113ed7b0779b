"""Consumer status by LinkedIn Burrow's rules (its `core/internal/evaluator/caching.go`). Pure.

Burrow judges a partition by the group's last commits, not by one lag figure: a big but
shrinking lag is fine, a small lag that never moves is not. Its window is the last `intervals`
(10) commits of the partition, each with the broker's commit time, the offset and the lag when
it was committed (log end then minus the offset, 0 if negative); the commits come from Kafka's
`__consumer_offsets` (see `monitor.commits`), so a re-commit of the same offset counts too.

Per partition, with lag now above `allowed_lag` (0), first match wins; otherwise OK:

    STOP    no commit for longer than the window spans (now - last > last - first), unless a
            recent log-end offset was at or below the last commit (caught up not long ago)
    REWIND  an offset in the window is below the one before it, and no later one got back
    STALL   (lag at no commit of the window was zero) every commit in the window has one offset
    WARN    (lag at no commit of the window was zero) the lag never went down between commits

Burrow's group status is the worst of its partitions, but STOP, STALL and REWIND make a group
ERR (its partition statuses are OK, WARN, STOP, STALL, REWIND; its group statuses NOTFOUND, OK,
WARN, ERR). Two partition states are the project's own, judged before Burrow's rules because
Burrow cannot see them (it clamps a negative lag to 0 and only keeps committed partitions):

    ERR        the committed offset is past the log end (negative lag) or below the log start
               (messages deleted unread): an impossible or lossy position; the group is ERR
    NO_COMMIT  the group never committed the partition: what it would read depends on its
               auto.offset.reset; left out of the group's status, as Burrow does not know it
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    NOTFOUND = "NOTFOUND"  # group only: no committed offset at all
    NO_COMMIT = "NO_COMMIT"  # partition only: never committed
    OK = "OK"
    WARN = "WARN"
    ERR = "ERR"
    STOP = "STOP"
    STALL = "STALL"
    REWIND = "REWIND"


# Burrow's order of badness (OK 1, WARN 2, ERR 3, STOP 4, STALL 5, REWIND 6) picks the partition
# a group's reason names; the project's ERR (an impossible offset) is named before all of them.
SEVERITY = {
    Status.NOTFOUND: 0,
    Status.NO_COMMIT: 0,
    Status.OK: 1,
    Status.WARN: 2,
    Status.STOP: 4,
    Status.STALL: 5,
    Status.REWIND: 6,
    Status.ERR: 7,
}
COLOURS = {
    Status.NOTFOUND: "#616161",  # grey: nothing to judge
    Status.NO_COMMIT: "#455a64",  # blue grey: not an error, no position yet
    Status.OK: "#2e7d32",  # green
    Status.WARN: "#f9a825",  # amber
    Status.REWIND: "#6a1b9a",  # purple: someone moved offsets back
    Status.STALL: "#ef6c00",  # orange
    Status.STOP: "#c62828",  # red
    Status.ERR: "#4e0000",  # dark red
}
INTERVALS = 10  # Burrow's storage `intervals`: commits kept per partition
ALLOWED_LAG = 0  # Burrow's evaluator `allowed-lag`


@dataclass(frozen=True)
class Commit:
    """One commit of a partition: broker time (epoch s), offset, lag then (None: unknown)."""

    at: float
    offset: int
    lag: int | None = None


@dataclass(frozen=True)
class Verdict:
    status: Status
    reason: str

    @property
    def colour(self) -> str:
        return COLOURS[self.status]

    @property
    def severity(self) -> int:
        return SEVERITY[self.status]


def age(seconds: float) -> str:
    """A duration as people read it: 45 s, 4 min 12 s, 2 h 5 min."""
    s = max(0, round(seconds))
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


def judge(
    *,
    start: int,
    end: int,
    committed: int | None,
    commits: Sequence[Commit],
    now: float,
    broker_ends: Sequence[int] = (),
    offset_reset: str | None = None,
) -> Verdict:
    """One partition: the project's own checks of the position, then Burrow's rules."""
    if committed is None:
        return never_committed(start, end, offset_reset)
    if committed > end:
        return Verdict(
            Status.ERR,
            f"committed offset {committed:,} is past the log end {end:,} (lag {end - committed:,}):"
            " the topic was truncated or recreated, or the offsets were reset wrong",
        )
    if committed < start:
        return Verdict(
            Status.ERR,
            f"committed offset {committed:,} is below the log start {start:,}: "
            f"{start - committed:,} messages were deleted unread",
        )
    return evaluate_partition(
        commits, current_lag=end - committed, now=now, broker_ends=broker_ends
    )


def never_committed(start: int, end: int, offset_reset: str | None) -> Verdict:
    kept = f"log start {start:,}, log end {end:,}"
    if offset_reset == "earliest":
        where = f"the log start (auto.offset.reset=earliest): {end - start:,} messages to read"
    elif offset_reset == "latest":
        where = "the log end (auto.offset.reset=latest): older messages are skipped"
    else:
        where = "where its auto.offset.reset says (unknown for this group)"
    return Verdict(Status.NO_COMMIT, f"never committed ({kept}); the group would start at {where}")


def evaluate_partition(
    commits: Sequence[Commit],
    *,
    current_lag: int,
    now: float,
    broker_ends: Sequence[int] = (),
    allowed_lag: int = ALLOWED_LAG,
) -> Verdict:
    """Burrow's rules over the partition's commit window (oldest first, the last `INTERVALS`)."""
    window = sorted(commits, key=lambda c: c.at)[-INTERVALS:]
    if not window:  # Burrow: "If there are no offsets, we can't do anything"
        return Verdict(Status.OK, f"lag {current_lag:,}; no commit seen to judge it by")
    first, last = window[0], window[-1]
    since = now - last.at
    span = last.at - first.at
    last_seen = f"last commit {age(since)} ago"
    if current_lag <= allowed_lag:
        return Verdict(Status.OK, f"caught up at offset {last.offset:,}; {last_seen}")

    caught_up_lately = any(e <= last.offset for e in broker_ends)
    if since > span and not caught_up_lately:
        return Verdict(
            Status.STOP,
            f"no commit for {age(since)}, longer than the window of {len(window)} commit(s) "
            f"spans ({age(span)}); lag {current_lag:,}",
        )
    rewind = _rewind_not_recovered(window)
    if rewind is not None:
        before, after = rewind
        return Verdict(
            Status.REWIND,
            f"committed offset went back from {before:,} to {after:,} and has not come back; "
            f"lag {current_lag:,}",
        )
    if all(c.lag is None or c.lag > allowed_lag for c in window):
        if all(c.offset == first.offset for c in window):
            return Verdict(
                Status.STALL,
                f"{len(window)} commit(s) of offset {last.offset:,} over {age(span)}, none "
                f"moving; lag {current_lag:,}",
            )
        lags = [c.lag for c in window if c.lag is not None]
        if all(b <= a for b, a in zip(lags, lags[1:], strict=False)):
            grew = f" ({lags[0]:,} to {lags[-1]:,})" if lags else ""
            return Verdict(
                Status.WARN,
                f"committing, but the lag did not go down over {len(window)} commits{grew}; "
                f"lag {current_lag:,}",
            )
    return Verdict(Status.OK, f"consuming; lag {current_lag:,}, {last_seen}")


def _rewind_not_recovered(window: Sequence[Commit]) -> tuple[int, int] | None:
    """Burrow's rule 2: the first commit below its predecessor, unless a later one got back."""
    for i in range(1, len(window)):
        if window[i].offset < window[i - 1].offset:
            previous = window[i - 1].offset
            if any(c.offset >= previous for c in window[i:]):
                return None
            return previous, window[i].offset
    return None


def evaluate_group(partitions: Mapping[str, Verdict]) -> Verdict:
    """Burrow's group status: OK, WARN, or ERR when a partition is STOP, STALL or REWIND (or the
    project's ERR); NOTFOUND when nothing was committed. The reason names the worst partition."""
    judged = {k: v for k, v in partitions.items() if v.status is not Status.NO_COMMIT}
    if not judged:
        return Verdict(Status.NOTFOUND, "no committed offset on these partitions")
    # max() keeps the first of equals: the caller's order (partition order) decides ties.
    name, verdict = max(judged.items(), key=lambda item: item[1].severity)
    if verdict.status is Status.OK:
        return Verdict(Status.OK, f"all {len(judged)} committed partitions OK")
    group = Status.WARN if verdict.status is Status.WARN else Status.ERR
    others = sum(1 for v in judged.values() if v.status is not Status.OK) - 1
    more = f" (+{others} more not OK)" if others > 0 else ""
    return Verdict(group, f"{name} {verdict.status}: {verdict.reason}{more}")
