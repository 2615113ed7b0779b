"""Consumer lag of a group, from a terminal.

    python -m dashboard.lag [--group G] [--topic T] [--json]

Reads Kafka's offsets now (a few AdminClient calls), the group's commits from
`__consumer_offsets` (for the status by Burrow's rules and the last commit's age), the
sampler's history from MongoDB (the log ends the rules and rates need, interpolated time lags),
and the timestamps of the oldest unread messages. The same `collect` feeds the lag page.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from confluent_kafka.admin import AdminClient
from pymongo.database import Database
from pymongo.errors import PyMongoError

from checkins.clients import mongo_client
from checkins.settings import Settings, get_settings
from consumers.loop import AUTO_OFFSET_RESET
from monitor import history as lag_history
from monitor.burrow import age
from monitor.commits import CommitLog
from monitor.offsets import (
    GroupSnapshot,
    LagReadError,
    MessageTimes,
    admin_client,
    snapshot,
)
from monitor.report import GroupReport, build

HISTORY_SECONDS = 300.0


def collect(
    admin: AdminClient,
    group: str,
    topics: Sequence[str] | None,
    db: Database | None = None,
    reader: MessageTimes | None = None,
    commit_log: CommitLog | None = None,
    *,
    fallback_topic: str | None = None,
    offset_reset: str | None = None,
    history_seconds: float = HISTORY_SECONDS,
) -> tuple[GroupReport, list[str]]:
    """The report for `group` and notes on what could not be read.

    `topics` None means the group's own topics; a group that has none yet (never committed, no
    members) is shown on `fallback_topic`, so a stopped-before-start consumer still shows its
    partitions. `offset_reset`: the group's auto.offset.reset, when it is known.
    """
    notes: list[str] = []
    now = group_snapshot(admin, group, topics, fallback_topic)
    commits = {}
    if commit_log is not None:
        # After the snapshot: every commit up to the committed offsets read is in the log.
        if not commit_log.refresh():
            notes.append("the commit log (__consumer_offsets) was not read to its end in time")
        commits = commit_log.of(group, [(p.topic, p.partition) for p in now.partitions])
    history: list[GroupSnapshot] = []
    if db is not None:
        shown = topics_of(now)
        try:
            history = [restrict(s, shown) for s in lag_history.recent(db, group, history_seconds)]
        except PyMongoError as exc:
            notes.append(f"no lag history: MongoDB did not answer ({type(exc).__name__})")
    times: dict[tuple[str, int], float] = {}
    if reader is not None:
        times = reader.at(oldest_unread(now))
    return build(now, history, times, commits, offset_reset=offset_reset), notes


def group_snapshot(
    admin: AdminClient, group: str, topics: Sequence[str] | None, fallback_topic: str | None
) -> GroupSnapshot:
    """The group's offsets on `topics`, else its own topics, else `fallback_topic`."""
    now = snapshot(admin, group, topics)
    if not now.partitions and not topics and fallback_topic:
        now = snapshot(admin, group, [fallback_topic])
    return now


def oldest_unread(snap: GroupSnapshot) -> dict[tuple[str, int], int]:
    """Per lagging partition, the offset of the first message the group has not read."""
    out = {}
    for p in snap.partitions:
        if p.committed is None:
            continue  # no position: nothing it "has not read yet"
        first = max(p.committed, p.start)
        if first < p.end:
            out[(p.topic, p.partition)] = first
    return out


def topics_of(snap: GroupSnapshot) -> set[str]:
    return {p.topic for p in snap.partitions}


def restrict(snap: GroupSnapshot, topics: set[str]) -> GroupSnapshot:
    """`snap` with only `topics` (the history holds all of a group's topics)."""
    kept = tuple(p for p in snap.partitions if p.topic in topics)
    return GroupSnapshot(snap.group, snap.at, snap.state, snap.members, snap.assignor, kept)


def render_text(report: GroupReport, notes: Sequence[str]) -> str:
    def num(v: float | int | None, fmt: str = ",") -> str:
        return "-" if v is None else format(v, fmt)

    lines = [
        f"group {report.group}  state {report.state}  members {report.members}  "
        f"assignor {report.assignor or '-'}",
        f"status {report.status}: {report.reason}",
        f"total lag {report.total_lag:,}  worst time lag {num(report.worst_time_lag_s, '.1f')} s  "
        f"produced/s {num(report.produced_per_s, '.1f')}  "
        f"consumed/s {num(report.consumed_per_s, '.1f')}  (history samples: {report.samples})",
        "",
    ]
    header: tuple[str, ...] = ("topic", "part", "start", "end", "committed", "lag", "time lag s")
    header += ("status", "last commit", "member id", "client id@host")
    rows = [header]
    for p in report.partitions:
        owner = f"{p.client_id}@{p.host}" if p.client_id else "-"
        rows.append(
            (
                p.topic,
                str(p.partition),
                num(p.start),
                num(p.end),
                num(p.committed),
                num(p.lag),
                num(p.time_lag_s, ".1f"),
                p.status,
                "-" if p.last_commit_age_s is None else f"{age(p.last_commit_age_s)} ago",
                p.member_id or "-",
                owner,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    reasons = [f"  {p.topic}[{p.partition}] {p.status}: {p.reason}" for p in report.partitions]
    lines += ["", "reasons:", *reasons]
    lines += [f"note: {n}" for n in notes]
    return "\n".join(lines)


def own_offset_reset(settings: Settings, group: str) -> str | None:
    """The auto.offset.reset of the project's own consumers, for their group; else unknown."""
    return AUTO_OFFSET_RESET if group == settings.consumer_group else None


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m dashboard.lag", description=__doc__)
    parser.add_argument("--group", default=settings.consumer_group, help="consumer group")
    parser.add_argument("--topic", action="append", help="only this topic (repeatable)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    # librdkafka's own connection logs would bury the one-line answer; failures are reported.
    quiet = {"log_level": 2}
    admin = admin_client(settings, **quiet)
    mongo = mongo_client(settings, serverSelectionTimeoutMS=2000)
    reader = MessageTimes(settings, **quiet)
    commit_log = CommitLog(settings, [args.group], **quiet)
    try:
        report, notes = collect(
            admin,
            args.group,
            args.topic,
            mongo[settings.mongodb_database],
            reader,
            commit_log,
            fallback_topic=settings.checkin_topic,
            offset_reset=own_offset_reset(settings, args.group),
        )
    except LagReadError as exc:
        print(f"lag: {exc}", file=sys.stderr)
        return 1
    finally:
        commit_log.close()
        reader.close()
        mongo.close()
    if args.json:
        print(json.dumps({**report.as_dict(), "notes": notes}))
    else:
        print(render_text(report, notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
