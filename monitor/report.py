"""What the lag page and `python -m dashboard.lag` show, built from offsets and history. Pure.

Input: the group's snapshot now, its earlier snapshots (the sampler's history) and, where
known, the timestamps of the oldest unread messages. Output: one `GroupReport` with per
partition offsets, lag, time lag and Burrow-style status, and group totals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from monitor import burrow
from monitor.maths import (
    OffsetSample,
    interpolate_time,
    throughput,
    time_lag,
    total_lag,
    worst,
)
from monitor.offsets import GroupSnapshot, PartitionOffsets

STATUS_WINDOW_SECONDS = 120.0
RATE_WINDOW_SECONDS = 60.0

Key = tuple[str, int]


@dataclass(frozen=True)
class PartitionReport:
    topic: str
    partition: int
    start: int
    end: int
    committed: int | None
    lag: int
    time_lag_s: float | None
    # "message" (its timestamp), "history" (interpolated), "history, at least" or "" (none)
    time_lag_source: str
    status: str
    colour: str
    reason: str
    client_id: str | None
    host: str | None


@dataclass(frozen=True)
class GroupReport:
    group: str
    at: str  # ISO-8601 UTC
    state: str
    members: int
    assignor: str
    status: str
    colour: str
    reason: str
    total_lag: int
    worst_time_lag_s: float | None
    produced_per_s: float | None
    consumed_per_s: float | None
    samples: int  # how many samples of history the status and rates stand on
    partitions: list[PartitionReport]

    def as_dict(self) -> dict:
        return asdict(self)


def sample_of(row: PartitionOffsets, at: float) -> OffsetSample:
    return OffsetSample(at=at, start=row.start, end=row.end, committed=row.committed)


def series(snapshots: Sequence[GroupSnapshot]) -> dict[Key, list[OffsetSample]]:
    """Per partition, its samples over the snapshots, oldest first."""
    out: dict[Key, list[OffsetSample]] = {}
    for snap in sorted(snapshots, key=lambda s: s.at):
        for row in snap.partitions:
            out.setdefault((row.topic, row.partition), []).append(sample_of(row, snap.at))
    return out


def build(
    now: GroupSnapshot,
    history: Sequence[GroupSnapshot] = (),
    message_times: Mapping[Key, float] | None = None,
    *,
    status_window: float = STATUS_WINDOW_SECONDS,
    rate_window: float = RATE_WINDOW_SECONDS,
    stall_seconds: float = burrow.DEFAULT_STALL_SECONDS,
) -> GroupReport:
    message_times = message_times or {}
    earlier = sorted((s for s in history if s.at < now.at), key=lambda s: s.at)
    by_partition = series([*earlier, now])
    rows: list[PartitionReport] = []
    verdicts: dict[str, burrow.Verdict] = {}
    for row in now.partitions:
        key = (row.topic, row.partition)
        samples = by_partition[key]
        verdict = burrow.evaluate_partition(
            burrow.window(samples, now.at, status_window),
            owned=row.client_id is not None,
            stall_seconds=stall_seconds,
        )
        lag = sample_of(row, now.at).lag
        seconds, source = _time_lag(now.at, lag, row, samples, message_times.get(key))
        verdicts[f"{row.topic}[{row.partition}]"] = verdict
        rows.append(
            PartitionReport(
                topic=row.topic,
                partition=row.partition,
                start=row.start,
                end=row.end,
                committed=row.committed,
                lag=lag,
                time_lag_s=seconds,
                time_lag_source=source,
                status=verdict.status.value,
                colour=verdict.colour,
                reason=verdict.reason,
                client_id=row.client_id,
                host=row.host,
            )
        )
    group = burrow.evaluate_group(verdicts)
    rates = _rates(now, earlier, rate_window)
    return GroupReport(
        group=now.group,
        at=datetime.fromtimestamp(now.at, UTC).isoformat(timespec="seconds"),
        state=now.state,
        members=now.members,
        assignor=now.assignor,
        status=group.status.value,
        colour=group.colour,
        reason=group.reason,
        total_lag=total_lag(sample_of(r, now.at) for r in now.partitions),
        worst_time_lag_s=worst(r.time_lag_s for r in rows),
        produced_per_s=rates.produced_per_s,
        consumed_per_s=rates.consumed_per_s,
        samples=len(earlier) + 1,
        partitions=rows,
    )


def _time_lag(
    now: float,
    lag: int,
    row: PartitionOffsets,
    samples: Sequence[OffsetSample],
    message_at: float | None,
) -> tuple[float | None, str]:
    """The message's own timestamp when it was read; else interpolated from the history."""
    if lag <= 0:
        return 0.0, ""
    if message_at is not None:
        return time_lag(now, lag, message_at), "message"
    oldest_unread = max(row.committed if row.committed is not None else row.start, row.start)
    points = [(s.end, s.at) for s in samples]
    at = interpolate_time(points, oldest_unread)
    if at is None:
        return None, ""
    if oldest_unread < min(end for end, _ in points):
        # Written before the history starts: its age is at least the history's length.
        seconds = time_lag(now, lag, at)
        return (seconds, "history, at least") if seconds else (None, "")
    return time_lag(now, lag, at), "history"


def _rates(now: GroupSnapshot, earlier: Sequence[GroupSnapshot], seconds: float):
    """Average rates since the oldest sample within `seconds` (the previous one if none is)."""
    recent = [s for s in earlier if now.at - s.at <= seconds] or list(earlier[-1:])
    if not recent:
        return throughput({}, {})
    base = min(recent, key=lambda s: s.at)
    return throughput(_keyed(base), _keyed(now))


def _keyed(snap: GroupSnapshot) -> dict[Key, OffsetSample]:
    return {(r.topic, r.partition): sample_of(r, snap.at) for r in snap.partitions}


def trend(snapshots: Sequence[GroupSnapshot]) -> list[dict]:
    """Rows for a lag chart: one per (time, partition), plus a 'total' per time."""
    rows = []
    for snap in sorted(snapshots, key=lambda s: s.at):
        moment = datetime.fromtimestamp(snap.at, UTC)
        total = 0
        for r in snap.partitions:
            lag = sample_of(r, snap.at).lag
            total += lag
            rows.append({"at": moment, "series": f"{r.topic}[{r.partition}]", "lag": lag})
        rows.append({"at": moment, "series": "total", "lag": total})
    return rows
