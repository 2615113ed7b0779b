"""`homecheckins`: one document per event, the event store's durable copy.

Shape: `_id` = event id, the seven legacy fields, `location` (GeoJSON, for a real MongoDB),
`createdAt` = `updatedAt` = `storedAt`, and `source` (Kafka topic, partition, offset, message
time, the envelope's produce time). Written with one unordered `insert_many` per batch: a
duplicate key means "already stored", which is the consumers' idempotence. Also the helpers
every fold of stored check-ins shares (`rank`, `group_by`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from checkins.envelope import CheckInEvent
from checkins.times import to_ms
from checkins.wire import Coordinates
from readmodels import store

COLLECTION = "homecheckins"
Doc = dict[str, Any]

LEGACY_FIELDS = (
    "internetNo",
    "orderNo",
    "staffCode",
    "jobStatus",
    "checkinLatitude",
    "checkinLongitude",
    "checkinDate",
)

INDEXES = [
    IndexModel([("checkinDate", DESCENDING)]),
    IndexModel([("staffCode", ASCENDING), ("checkinDate", DESCENDING)]),
    IndexModel([("jobStatus", ASCENDING)]),
    IndexModel([("orderNo", ASCENDING)]),
]


def homecheckin_document(event: CheckInEvent, where: Coordinates, stored_at: datetime) -> Doc:
    """One `homecheckins` document: `_id` = event id, the seven legacy fields, provenance."""
    checkin = event.checkin
    stored_at = to_ms(stored_at)
    doc: Doc = {"_id": event.event_id}
    for name in LEGACY_FIELDS:
        doc[name] = getattr(checkin, name)
    doc["checkinDate"] = to_ms(checkin.checkinDate)
    doc["createdAt"] = stored_at
    doc["updatedAt"] = stored_at
    doc["location"] = point(checkin.checkinLongitude, checkin.checkinLatitude)
    doc["source"] = {
        "topic": where.topic,
        "partition": where.partition,
        "offset": where.offset,
        "timestamp": to_ms(where.timestamp) if where.timestamp else None,
        "producedAt": to_ms(event.produced_at) if event.produced_at else None,
    }
    doc["storedAt"] = stored_at
    return doc


def point(longitude: float, latitude: float) -> Doc:
    return {"type": "Point", "coordinates": [longitude, latitude]}


def first_by_id(docs: Iterable[Doc]) -> list[Doc]:
    """Drop repeated event ids within one batch (the first one wins, as the insert does)."""
    seen: set[str] = set()
    out = []
    for doc in docs:
        if doc["_id"] not in seen:
            seen.add(doc["_id"])
            out.append(doc)
    return out


def rank(doc: Mapping[str, Any], id_field: str) -> tuple[datetime, str]:
    """What "latest" means everywhere: the greatest (checkinDate, event id)."""
    return (doc["checkinDate"], doc[id_field])


def group_by(docs: Iterable[Doc], field: str) -> dict[str, list[Doc]]:
    groups: dict[str, list[Doc]] = {}
    for doc in docs:
        groups.setdefault(doc[field], []).append(doc)
    return groups


def insert_new(db: Database, docs: list[Doc]) -> set[str]:
    """Insert what is not stored yet; returns the ids this call inserted."""
    try:
        db[COLLECTION].insert_many(docs, ordered=False)
        return {d["_id"] for d in docs}
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        others = [e for e in errors if e.get("code") != store.DUPLICATE_KEY]
        if others:
            raise
        duplicates = {docs[e["index"]]["_id"] for e in errors}
        return {d["_id"] for d in docs} - duplicates


def stored_versions(db: Database, ids: list[str]) -> dict[str, Doc]:
    """The stored documents of these ids: the first stored version wins (a reused id with other
    content does not overwrite it). One lookup each: `$in` reads all of `homecheckins`."""
    return store.by_ids(db[COLLECTION], ids, scan_above=None)


def staff_counts(db: Database, staff: set[str]) -> dict[str, int]:
    """Stored check-ins per staffCode in one pass. FerretDB scans `homecheckins` for any filter
    but `_id`: one count per staffCode made a redelivered batch (after a consumer crash) cost
    a scan per technician, minutes at 50,000 events."""
    if not staff:
        return {}
    pipeline: list[dict[str, Any]] = [
        {"$match": {"staffCode": {"$in": sorted(staff)}}},
        {"$group": {"_id": "$staffCode", "n": {"$sum": 1}}},
    ]
    counts = {d["_id"]: d["n"] for d in db[COLLECTION].aggregate(pipeline)}
    return {s: counts.get(s, 0) for s in staff}


# How often readers that repeat (the lag sampler, the overview's live refresh) count the events
# stored: on FerretDB the count walks every page of `homecheckins`, a read in flight for seconds
# at a million, which grows with the data and keeps the store's WAL from being rewound.
COUNT_EVERY_S = 30.0


def events_stored(db: Database) -> int:
    return store.collection_count(db, COLLECTION)


def of_order(db: Database, order_no: str, limit: int = 500) -> list[Doc]:
    """An order's events, oldest first: a scan of `homecheckins` on the local store, so only
    for an order that has no `orders` document."""
    return list(
        db[COLLECTION]
        .find(
            {"orderNo": str(order_no)},
            {"_id": 1, "jobStatus": 1, "staffCode": 1, "checkinDate": 1},
            max_time_ms=store.TIME_LIMIT_MS,
        )
        .sort("checkinDate", 1)
        .limit(limit)
    )
