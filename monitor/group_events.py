"""Group history: state changes, rebalances, members joining and leaving, assignment changes.

The sampler describes every sampled group once per round (`describe`, one AdminClient call for
all of them), compares with the previous round (`changes`, pure) and stores what changed in
the `group_events` collection:

    {group, at: <BSON date>, kind, text, member?, partitions?}

kind: "state" (STABLE -> PREPARING_REBALANCING ...), "rebalance" (the assignment moved),
"joined" / "left" (a member id appeared or went), "assignment" (one member's partitions).
Kafka's admin API gives no generation id to librdkafka clients, so a rebalance is told by its
effect: the set of members or the assignment changed between two samples (a rebalance that
changes nothing between two samples is not seen).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database

COLLECTION = "group_events"
RETENTION_SECONDS = 7 * 24 * 3600
TIMEOUT = 10.0


@dataclass(frozen=True)
class Member:
    member_id: str
    client_id: str
    host: str
    partitions: frozenset[str]  # "topic[partition]"

    @property
    def name(self) -> str:
        return f"{self.client_id}@{self.host} ({self.member_id[-8:]})"


@dataclass(frozen=True)
class Membership:
    group: str
    state: str
    members: Mapping[str, Member]  # by member id


@dataclass(frozen=True)
class GroupEvent:
    group: str
    at: float
    kind: str
    text: str
    member: str | None = None
    partitions: tuple[str, ...] = ()


def _names(partitions: Iterable[str]) -> str:
    names = sorted(partitions)
    return ", ".join(names) if names else "nothing"


def changes(before: Membership | None, after: Membership, at: float) -> list[GroupEvent]:
    """What changed from `before` to `after`; nothing for the first sight of a group."""
    if before is None:
        return []
    g, out = after.group, []
    if before.state != after.state:
        out.append(GroupEvent(g, at, "state", f"state {before.state} -> {after.state}"))
    joined = sorted(set(after.members) - set(before.members))
    left = sorted(set(before.members) - set(after.members))
    moved = {
        m: (before.members[m].partitions, after.members[m].partitions)
        for m in set(before.members) & set(after.members)
        if before.members[m].partitions != after.members[m].partitions
    }
    if joined or left or moved:
        out.append(
            GroupEvent(
                g,
                at,
                "rebalance",
                f"rebalance: {len(before.members)} -> {len(after.members)} members"
                f" (+{len(joined)} joined, -{len(left)} left, {len(moved)} reassigned)",
            )
        )
    for m in joined:
        member = after.members[m]
        out.append(
            GroupEvent(
                g,
                at,
                "joined",
                f"{member.name} joined, owns {_names(member.partitions)}",
                member.member_id,
                tuple(sorted(member.partitions)),
            )
        )
    for m in left:
        member = before.members[m]
        out.append(
            GroupEvent(
                g,
                at,
                "left",
                f"{member.name} left, owned {_names(member.partitions)}",
                member.member_id,
                tuple(sorted(member.partitions)),
            )
        )
    for m in sorted(moved):
        old, new = moved[m]
        member = after.members[m]
        out.append(
            GroupEvent(
                g,
                at,
                "assignment",
                f"{member.name}: {_names(old)} -> {_names(new)}",
                member.member_id,
                tuple(sorted(new)),
            )
        )
    return out


# --- Kafka edge ---------------------------------------------------------------------------


def describe(admin: AdminClient, groups: list[str], timeout: float = TIMEOUT) -> dict:
    """{group: Membership} for the groups Kafka described; a failed one is left out."""
    if not groups:
        return {}
    out = {}
    for group, future in admin.describe_consumer_groups(groups, request_timeout=timeout).items():
        try:
            d = future.result(timeout=timeout)
        except (KafkaException, TimeoutError):
            continue
        members = {}
        for m in d.members:
            assigned = m.assignment.topic_partitions if m.assignment else []
            members[m.member_id] = Member(
                m.member_id,
                m.client_id,
                m.host,
                frozenset(f"{tp.topic}[{tp.partition}]" for tp in assigned),
            )
        state = d.state.name if d.state is not None else "UNKNOWN"
        out[group] = Membership(group, state, members)
    return out


# --- MongoDB edge -------------------------------------------------------------------------


def ensure_indexes(db: Database) -> None:
    db[COLLECTION].create_index([("group", ASCENDING), ("at", DESCENDING)], name="group_at")


def record(db: Database, events: list[GroupEvent]) -> None:
    if events:
        db[COLLECTION].insert_many([to_document(e) for e in events])


def to_document(e: GroupEvent) -> dict:
    doc = {"group": e.group, "at": datetime.fromtimestamp(e.at, UTC), "kind": e.kind}
    doc["text"] = e.text
    if e.member:
        doc["member"] = e.member
    if e.partitions:
        doc["partitions"] = list(e.partitions)
    return doc


def latest(db: Database, group: str, limit: int = 50, seconds: float | None = None) -> list:
    """The group's newest events, newest first."""
    query: dict = {"group": group}
    if seconds is not None:
        query["at"] = {"$gte": datetime.now(UTC) - timedelta(seconds=seconds)}
    docs = db[COLLECTION].find(query).sort("at", DESCENDING).limit(limit)
    return [
        GroupEvent(
            d["group"],
            _utc(d["at"]).timestamp(),
            d["kind"],
            d["text"],
            d.get("member"),
            tuple(d.get("partitions", ())),
        )
        for d in docs
    ]


def prune(db: Database, retention: int = RETENTION_SECONDS) -> int:
    cutoff = datetime.now(UTC) - timedelta(seconds=retention)
    return db[COLLECTION].delete_many({"at": {"$lt": cutoff}}).deleted_count


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at
