"""What the lag page and `python -m dashboard.lag` show, built from offsets and history. Pure.

Input: the group's snapshot now, its earlier snapshots (the sampler's history), its commits
(from `__consumer_offsets`, `monitor.commits`) and, where known, the timestamps of the oldest
unread messages. Output: one `GroupReport` with per partition offsets, lag (as Kafka's own
tool counts it: none without a commit, negative past the log end), time lag and status by
Burrow's rules, and group totals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime

from monitor import burrow
from monitor.burrow import Commit
from monitor.maths import (
    OffsetSample,
    interpolate_time,
    throughput,
    time_lag,
    total_lag,
    worst,
)
from monitor.offsets import GroupSnapshot, PartitionOffsets

RATE_WINDOW_SECONDS = 60.0

Key = tuple[str, int]


@dataclass(frozen=True)
class PartitionReport:
    topic: str
    partition: int
    start: int
    end: int
    committed: int | None  # None: never committed
    lag: int | None  # log end - committed; None without a commit; negative past the log end
    time_lag_s: float | None
    # "message" (its timestamp), "history" (interpolated), "history, at least" or "" (none)
    time_lag_source: str
    status: str
    colour: str
    reason: str
    member_id: str | None
    client_id: str | None
    host: str | None
    last_commit_at: str | None  # ISO-8601 UTC, the broker's time of the last commit seen
    last_commit_age_s: float | None
    commits: int  # commits in the status window (Burrow's last `intervals`)


@dataclass(frozen=True)
class GroupReport:
    group: str
    at: str  # ISO-8601 UTC
    state: str
    members: int
    assignor: str
    status: str  # Burrow's group status: OK, WARN, ERR; NOTFOUND without any commit
    colour: str
    reason: str
    total_lag: int  # the sum of the known partition lags
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
    commits: Mapping[Key, Sequence[Commit]] | None = None,
    *,
    offset_reset: str | None = None,
    rate_window: float = RATE_WINDOW_SECONDS,
) -> GroupReport:
    """`offset_reset`: the group's auto.offset.reset when known (the project's own group)."""
    message_times = message_times or {}
    commits = commits or {}
    earlier = sorted((s for s in history if s.at < now.at), key=lambda s: s.at)
    by_partition = series([*earlier, now])
    rows: list[PartitionReport] = []
    verdicts: dict[str, burrow.Verdict] = {}
    for row in now.partitions:
        key = (row.topic, row.partition)
        samples = by_partition[key]
        window = [replace(c, lag=lag_when(c, samples)) for c in commits.get(key, ())]
        window = sorted(window, key=lambda c: c.at)[-burrow.INTERVALS :]
        verdict = burrow.judge(
            start=row.start,
            end=row.end,
            committed=row.committed,
            commits=window,
            now=now.at,
            broker_ends=[s.end for s in samples[-burrow.INTERVALS :]],
            offset_reset=offset_reset,
        )
        lag = sample_of(row, now.at).lag
        seconds, source = _time_lag(now.at, lag, row, samples, message_times.get(key))
        verdicts[f"{row.topic}[{row.partition}]"] = verdict
        last = window[-1] if window and row.committed is not None else None
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
                member_id=row.member_id,
                client_id=row.client_id,
                host=row.host,
                last_commit_at=None if last is None else _iso(last.at, "milliseconds"),
                last_commit_age_s=None if last is None else max(0.0, now.at - last.at),
                commits=len(window) if row.committed is not None else 0,
            )
        )
    group = burrow.evaluate_group(verdicts)
    rates = _rates(now, earlier, rate_window)
    return GroupReport(
        group=now.group,
        at=_iso(now.at, "seconds"),
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


def _iso(at: float, timespec: str) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec=timespec)


def lag_when(commit: Commit, samples: Sequence[OffsetSample]) -> int:
    """The lag a commit left, as Burrow stores it: the log end last seen before the commit
    minus its offset, 0 if negative. A commit older than the samples uses the oldest one."""
    before = [s for s in samples if s.at <= commit.at]
    seen = before[-1] if before else min(samples, key=lambda s: s.at)
    return max(0, seen.end - commit.offset)


def _time_lag(
    now: float,
    lag: int | None,
    row: PartitionOffsets,
    samples: Sequence[OffsetSample],
    message_at: float | None,
) -> tuple[float | None, str]:
    """The message's own timestamp when it was read; else interpolated from the history."""
    if lag is None or lag < 0 or row.committed is None:
        return None, ""  # no position, or an impossible one: no age to tell
    if lag == 0:
        return 0.0, ""
    if message_at is not None:
        return time_lag(now, lag, message_at), "message"
    oldest_unread = max(row.committed, row.start)
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
            if lag is None:
                continue  # never committed: no lag to draw
            total += lag
            rows.append({"at": moment, "series": f"{r.topic}[{r.partition}]", "lag": lag})
        rows.append({"at": moment, "series": "total", "lag": total})
    return rows
