"""Burrow-style consumer status over a sliding window of offset samples. Pure.

LinkedIn Burrow judges a partition by the last few commits rather than by one lag figure: a
big but shrinking lag is fine, a small lag that never moves is not. Our samples come from
polling (the sampler every few seconds), not from the commit log, so "committing without
moving" and "not committing at all" are told apart by whether a group member owns the
partition: an owner that does not move is stuck (STALL); no owner means nobody will (STOP).

Rules, first match wins (samples oldest first, the last one is now):

    ERR     the committed offset is below the log start: messages were deleted unread
    REWIND  the committed offset went back between two samples
    OK      no lag now
    STOP    lag, no member owns the partition, and the committed offset has not moved in the
            window, or not for `stall_seconds` (a group that just emptied stops at once
            when it never moved; one that was moving is given `stall_seconds`)
    STALL   lag, a member owns it, and the committed offset stood still for `stall_seconds`
    WARN    the committed offset moves, but the lag grew at every step (>= 3 samples)
    OK      otherwise: consuming
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from monitor.maths import OffsetSample


class Status(StrEnum):
    OK = "OK"
    WARN = "WARN"
    REWIND = "REWIND"
    STALL = "STALL"
    STOP = "STOP"
    ERR = "ERR"


SEVERITY = {
    Status.OK: 0,
    Status.WARN: 1,
    Status.REWIND: 2,
    Status.STALL: 3,
    Status.STOP: 4,
    Status.ERR: 5,
}
COLOURS = {
    Status.OK: "#2e7d32",  # green
    Status.WARN: "#f9a825",  # amber
    Status.REWIND: "#6a1b9a",  # purple: not broken, but someone reset offsets
    Status.STALL: "#ef6c00",  # orange
    Status.STOP: "#c62828",  # red
    Status.ERR: "#4e0000",  # dark red
}
DEFAULT_STALL_SECONDS = 30.0
MIN_GROWTH_SAMPLES = 3


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


def window(samples: Sequence[OffsetSample], now: float, seconds: float) -> list[OffsetSample]:
    """The samples of the last `seconds`, oldest first."""
    return sorted((s for s in samples if now - seconds <= s.at <= now), key=lambda s: s.at)


def evaluate_partition(
    samples: Sequence[OffsetSample],
    *,
    owned: bool,
    stall_seconds: float = DEFAULT_STALL_SECONDS,
) -> Verdict:
    """The status of one partition from its window of samples (oldest first, last = now)."""
    if not samples:
        raise ValueError("a partition needs at least one sample to be judged")
    samples = sorted(samples, key=lambda s: s.at)
    last = samples[-1]
    lag = last.lag
    committed = [s.committed for s in samples if s.committed is not None]

    if last.committed is not None and 0 <= last.committed < last.start:
        lost = last.start - last.committed
        return Verdict(
            Status.ERR,
            f"committed offset {last.committed} is below the log start {last.start}: "
            f"{lost:,} messages were deleted unread",
        )
    for before, after in zip(committed, committed[1:], strict=False):
        if after < before:
            return Verdict(Status.REWIND, f"committed offset went back from {before} to {after}")
    if lag == 0:
        return Verdict(Status.OK, f"caught up at offset {last.end}")

    span = last.at - samples[0].at
    still = still_for(samples)
    moved = still < span  # a first commit (none -> an offset) is a move too
    if not owned and not (moved and still < stall_seconds):
        since = f" for {still:.0f} s" if still > 0 else ""
        return Verdict(
            Status.STOP, f"no member owns it and nothing was committed{since}; lag {lag:,}"
        )
    if owned and still >= stall_seconds:
        where = "nothing" if last.committed is None else f"offset {last.committed}"
        return Verdict(
            Status.STALL,
            f"a member owns it but committed {where} for {still:.0f} s; lag {lag:,}",
        )
    lags = [s.lag for s in samples]
    if (
        moved
        and len(samples) >= MIN_GROWTH_SAMPLES
        and all(b <= a for b, a in zip(lags, lags[1:], strict=False))
        and lags[-1] > lags[0]
    ):
        return Verdict(
            Status.WARN,
            f"consuming, but lag grew from {lags[0]:,} to {lags[-1]:,} in {span:.0f} s",
        )
    trend = "" if len(samples) < 2 else f" (was {lags[0]:,} {span:.0f} s ago)"
    return Verdict(Status.OK, f"consuming; lag {lag:,}{trend}")


def still_for(samples: Sequence[OffsetSample]) -> float:
    """Seconds since the committed offset last changed (the whole span if it never did)."""
    since = samples[0].at
    for before, after in zip(samples, samples[1:], strict=False):
        if after.committed != before.committed:
            since = after.at
    return samples[-1].at - since


def evaluate_group(partitions: Mapping[str, Verdict]) -> Verdict:
    """The group's status is its worst partition's, with that partition named in the reason."""
    if not partitions:
        return Verdict(Status.OK, "no partitions with offsets")
    # max() keeps the first of equals: the caller's order (partition order) decides ties.
    name, verdict = max(partitions.items(), key=lambda item: item[1].severity)
    if verdict.status is Status.OK:
        return Verdict(Status.OK, f"all {len(partitions)} partitions OK")
    others = sum(1 for v in partitions.values() if v.status is not Status.OK) - 1
    more = f" (+{others} more not OK)" if others > 0 else ""
    return Verdict(verdict.status, f"{name}: {verdict.reason}{more}")
