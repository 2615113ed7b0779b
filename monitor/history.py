"""The lag history: one document per group per sample in the `lag_samples` collection.

    {group, at: <BSON date>, state, members, assignor, totalLag,
     partitions: [{topic, partition, start, end, committed, clientId, host, memberId}]}

Kept for `RETENTION_SECONDS`: a TTL index on `at` where the server has them (MongoDB), and
the sampler deletes older documents itself too, because FerretDB 1.x refuses TTL indexes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pymongo import ASCENDING, DESCENDING
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import OperationFailure

from monitor.maths import OffsetSample, total_lag
from monitor.offsets import GroupSnapshot, PartitionOffsets

COLLECTION = "lag_samples"
RETENTION_SECONDS = 3600
_NOT_IMPLEMENTED = 238


def collection(db: Database) -> Collection:
    return db[COLLECTION]


def ensure_indexes(db: Database, retention: int = RETENTION_SECONDS) -> bool:
    """Create the lookup index and, where supported, the TTL index. True if TTL is in place."""
    coll = collection(db)
    coll.create_index([("group", ASCENDING), ("at", DESCENDING)], name="group_at")
    try:
        coll.create_index([("at", ASCENDING)], name="ttl_at", expireAfterSeconds=retention)
    except OperationFailure as exc:
        if exc.code != _NOT_IMPLEMENTED:
            raise
        return False
    return True


def to_document(snap: GroupSnapshot) -> dict:
    return {
        "group": snap.group,
        "at": datetime.fromtimestamp(snap.at, UTC),
        "state": snap.state,
        "members": snap.members,
        "assignor": snap.assignor,
        "totalLag": total_lag(
            OffsetSample(snap.at, p.start, p.end, p.committed) for p in snap.partitions
        ),
        "partitions": [
            {
                "topic": p.topic,
                "partition": p.partition,
                "start": p.start,
                "end": p.end,
                "committed": p.committed,
                "clientId": p.client_id,
                "host": p.host,
                "memberId": p.member_id,
            }
            for p in snap.partitions
        ],
    }


def from_document(doc: dict) -> GroupSnapshot:
    at = doc["at"]
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at
    return GroupSnapshot(
        group=doc["group"],
        at=at.timestamp(),
        state=doc.get("state", ""),
        members=doc.get("members", 0),
        assignor=doc.get("assignor", ""),
        partitions=tuple(
            PartitionOffsets(
                topic=p["topic"],
                partition=p["partition"],
                start=p["start"],
                end=p["end"],
                committed=p.get("committed"),
                client_id=p.get("clientId"),
                host=p.get("host"),
                member_id=p.get("memberId"),
            )
            for p in doc.get("partitions", [])
        ),
    )


def record(db: Database, snaps: list[GroupSnapshot]) -> None:
    if snaps:
        collection(db).insert_many([to_document(s) for s in snaps])


def recent(db: Database, group: str, seconds: float, now: datetime | None = None) -> list:
    """The group's snapshots of the last `seconds`, oldest first."""
    since = (now or datetime.now(UTC)) - timedelta(seconds=seconds)
    docs = collection(db).find({"group": group, "at": {"$gte": since}}).sort("at", ASCENDING)
    return [from_document(d) for d in docs]


def prune(db: Database, retention: int = RETENTION_SECONDS, now: datetime | None = None) -> int:
    cutoff = (now or datetime.now(UTC)) - timedelta(seconds=retention)
    return collection(db).delete_many({"at": {"$lt": cutoff}}).deleted_count
