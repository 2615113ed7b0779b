"""Time to catch up: per partition and per group, the consume and produce rates and the
predicted seconds until the lag is 0. Pure.

The prediction is the lag divided by how fast it shrinks (consumed/s - produced/s), over the
report's rate window. When it does not shrink, there is no number of seconds to give; the
state says why instead:

    caught up     no lag (messages still flow, or the rates are not known yet)
    idle          no lag and nothing produced
    catching up   lag shrinks: `seconds` is lag / (consumed/s - produced/s)
    growing       lag grows or stands while messages are produced faster than consumed
    stalled       lag, but nothing produced and nothing consumed
    unknown       no earlier sample to take rates from (or offsets went back)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from monitor.maths import OffsetSample, throughput
from monitor.offsets import GroupSnapshot
from monitor.report import RATE_WINDOW_SECONDS, GroupReport, sample_of

CAUGHT_UP, IDLE, CATCHING_UP = "caught up", "idle", "catching up"
GROWING, STALLED, UNKNOWN = "growing", "stalled", "unknown"


@dataclass(frozen=True)
class CatchUp:
    lag: int | None
    produced_per_s: float | None
    consumed_per_s: float | None
    seconds: float | None  # predicted seconds to lag 0; None unless caught up or catching up
    state: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class GroupCatchUp:
    group: CatchUp
    partitions: dict[str, CatchUp]  # by "topic[partition]"

    def as_dict(self) -> dict:
        return {
            **self.group.as_dict(),
            "partitions": {k: v.as_dict() for k, v in self.partitions.items()},
        }


def predict(lag: int | None, produced: float | None, consumed: float | None) -> CatchUp:
    """The state and predicted seconds for one lag and its rates (messages per second)."""
    if lag is not None and lag <= 0:
        return CatchUp(lag, produced, consumed, 0.0, IDLE if produced == 0 else CAUGHT_UP)
    if lag is None or produced is None or consumed is None:
        return CatchUp(lag, produced, consumed, None, UNKNOWN)
    shrinking = consumed - produced
    if shrinking > 0:
        return CatchUp(lag, produced, consumed, lag / shrinking, CATCHING_UP)
    if produced == 0 and consumed == 0:
        return CatchUp(lag, produced, consumed, None, STALLED)
    return CatchUp(lag, produced, consumed, None, GROWING)


def estimate(
    report: GroupReport,
    history: Sequence[GroupSnapshot],
    now_at: float,
    rate_window: float = RATE_WINDOW_SECONDS,
) -> GroupCatchUp:
    """The group's catch-up from its report (the group rates are the report's) and, per
    partition, rates from the oldest snapshot within `rate_window` (the latest one if none is)."""
    earlier = sorted((s for s in history if s.at < now_at), key=lambda s: s.at)
    recent = [s for s in earlier if now_at - s.at <= rate_window] or earlier[-1:]
    base = (
        {(r.topic, r.partition): sample_of(r, recent[0].at) for r in recent[0].partitions}
        if recent
        else {}
    )
    partitions: dict[str, CatchUp] = {}
    for p in report.partitions:
        key = (p.topic, p.partition)
        now = OffsetSample(at=now_at, start=p.start, end=p.end, committed=p.committed)
        rates = throughput({key: base[key]}, {key: now}) if key in base else None
        partitions[f"{p.topic}[{p.partition}]"] = predict(
            p.lag,
            None if rates is None else rates.produced_per_s,
            None if rates is None else rates.consumed_per_s,
        )
    group = predict(report.total_lag, report.produced_per_s, report.consumed_per_s)
    return GroupCatchUp(group, partitions)
