"""Pure consumer-lag arithmetic: offset lag, time lag, throughput. No Kafka, no clock.

Offsets follow Kafka's convention: `end` is the log-end offset (the next offset to be written),
`committed` the next offset the group will read, `start` the oldest offset still kept.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class OffsetSample:
    """One partition's offsets as seen at `at` (epoch seconds)."""

    at: float
    start: int
    end: int
    committed: int | None

    @property
    def lag(self) -> int | None:
        return offset_lag(self.committed, self.start, self.end)


def offset_lag(committed: int | None, start: int, end: int) -> int | None:
    """Log end minus the committed offset, as Kafka's own `kafka-consumer-groups` counts it.

    None without a commit: where the group would start depends on its auto.offset.reset, which
    only the group knows (Kafka's tool prints "-"). A commit past the log end (a truncated or
    recreated topic, a bad reset) is a negative lag, shown as such, never hidden as 0. `start`
    is not used: a commit below the log start still counts from the commit, like Kafka's tool.
    """
    if committed is None or committed < 0:
        return None
    return end - committed


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


def time_lag(now: float, lag: int | None, oldest_unread_at: float | None) -> float | None:
    """Seconds the group is behind: the age of the oldest message it has not read yet.

    0 when there is no lag; None when the lag is unknown (no commit) or impossible (negative),
    or exists but its message's time is unknown.
    """
    if lag is None or lag < 0:
        return None
    if lag == 0:
        return 0.0
    if oldest_unread_at is None:
        return None
    return max(0.0, now - oldest_unread_at)


@dataclass(frozen=True)
class Throughput:
    produced_per_s: float | None
    consumed_per_s: float | None


def throughput(earlier: Mapping[K, OffsetSample], later: Mapping[K, OffsetSample]) -> Throughput:
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
    """The sum of the partitions' lags that are known (a partition without a commit adds none),
    as the sum of the LAG column of Kafka's tool."""
    return sum(lag for s in samples if (lag := s.lag) is not None)


def worst(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None
