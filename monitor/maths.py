"""Pure consumer-lag arithmetic: offset lag, time lag, throughput. No Kafka, no clock.

Offsets follow Kafka's convention: `end` is the log-end offset (the next offset to be written),
`committed` the next offset the group will read, `start` the oldest offset still kept.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class OffsetSample:
    """One partition's offsets as seen at `at` (epoch seconds)."""

    at: float
    start: int
    end: int
    committed: int | None

    @property
    def lag(self) -> int:
        return offset_lag(self.committed, self.start, self.end)


def offset_lag(committed: int | None, start: int, end: int) -> int:
    """Messages the group has still to read.

    Without a commit the group would read from the log start (auto.offset.reset=earliest), so
    everything still kept counts. A commit past the end (a truncated log) is no lag, not negative.
    """
    if committed is None or committed < 0:
        return max(0, end - start)
    return max(0, end - committed)


def interpolate_time(points: Sequence[tuple[int, float]], offset: int) -> float | None:
    """When did the log end pass `offset`? `points` are (log-end offset, time) pairs, oldest first.

    kafka-lag-exporter's idea: the sampler remembers when the log end stood where; the message
    at the committed offset was written between the two samples around it, linearly in between.
    Before the oldest point, the oldest point's time is a lower bound of the age; None when
    there are no points or the offset is not yet reached.
    """
    pts = _monotonic(points)
    if not pts:
        return None
    offsets = [o for o, _ in pts]
    if offset >= offsets[-1]:
        return None  # not written yet as far as the samples know
    i = bisect_right(offsets, offset)
    if i == 0:
        return pts[0][1]
    (o1, t1), (o2, t2) = pts[i - 1], pts[i]
    return t1 + (offset - o1) / (o2 - o1) * (t2 - t1)


def _monotonic(points: Iterable[tuple[int, float]]) -> list[tuple[int, float]]:
    """Keep, per log-end offset, its earliest time; drop points that go back (a recreated topic)."""
    kept: list[tuple[int, float]] = []
    for offset, moment in sorted(points, key=lambda p: p[1]):
        if kept and offset <= kept[-1][0]:
            continue
        kept.append((offset, moment))
    return kept


def time_lag(now: float, lag: int, oldest_unread_at: float | None) -> float | None:
    """Seconds the group is behind: the age of the oldest message it has not read yet.

    0 when there is no lag; None when the lag exists but its message's time is unknown.
    """
    if lag <= 0:
        return 0.0
    if oldest_unread_at is None:
        return None
    return max(0.0, now - oldest_unread_at)


@dataclass(frozen=True)
class Throughput:
    produced_per_s: float | None
    consumed_per_s: float | None


def throughput(
    earlier: Mapping[Hashable, OffsetSample], later: Mapping[Hashable, OffsetSample]
) -> Throughput:
    """Messages written and committed per second between two samples, by partition key.

    Partitions in only one of the samples are left out. A partition whose end or committed
    offset went back (topic recreated, offsets reset) makes that rate unknown, never negative.
    """
    keys = sorted(set(earlier) & set(later), key=str)
    if not keys:
        return Throughput(None, None)
    seconds = max(later[k].at for k in keys) - max(earlier[k].at for k in keys)
    if seconds <= 0:
        return Throughput(None, None)
    produced = _delta([earlier[k].end for k in keys], [later[k].end for k in keys])
    consumed = _delta([earlier[k].committed for k in keys], [later[k].committed for k in keys])
    return Throughput(
        None if produced is None else produced / seconds,
        None if consumed is None else consumed / seconds,
    )


def _delta(before: Sequence[int | None], after: Sequence[int | None]) -> int | None:
    total = 0
    for b, a in zip(before, after, strict=True):
        if b is None and a is None:
            continue
        if b is None or a is None or a < b:
            return None
        total += a - b
    return total


def total_lag(samples: Iterable[OffsetSample]) -> int:
    return sum(s.lag for s in samples)


def worst(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None
