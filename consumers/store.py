"""The MongoDB edge: write a batch into the three read models, idempotently.

FerretDB 1.24 (the local store) finds by `_id` equality fast but scans the collection for any
other filter, `$in` included, and has no multi-document transactions. So `homecheckins` is
written with one unordered `insert_many` (a duplicate key means "already stored": that is the
idempotence), and `technicians`/`orders` are read, folded by the pure core and written back:
new documents inserted, changed ones replaced (unordered bulks).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field

from pymongo import ASCENDING, DESCENDING, IndexModel, MongoClient, ReplaceOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from checkins import timeline
from checkins.settings import Settings
from consumers.projection import (
    Doc,
    StatusChange,
    first_by_id,
    needs_exact_count,
    orders_after,
    technicians_after,
)

log = logging.getLogger(__name__)
DUPLICATE_KEY = 11000
UPDATE_CHUNK = 10
BY_ID_UP_TO = 500  # up to this many ids, one `_id` lookup each; more: one `$in` scan

INDEXES = {
    "homecheckins": [
        IndexModel([("checkinDate", DESCENDING)]),
        IndexModel([("staffCode", ASCENDING), ("checkinDate", DESCENDING)]),
        IndexModel([("jobStatus", ASCENDING)]),
        IndexModel([("orderNo", ASCENDING)]),
    ],
    "technicians": [
        IndexModel([("lastSeen", DESCENDING)]),
        IndexModel([("checkinDate", DESCENDING)]),
        IndexModel([("jobStatus", ASCENDING)]),
    ],
    "orders": [
        IndexModel([("jobStatus", ASCENDING)]),
        IndexModel([("staffCode", ASCENDING), ("checkinDate", DESCENDING)]),
        IndexModel([("updatedAt", DESCENDING)]),
    ],
}


def connect(settings: Settings) -> MongoClient:
    """tz_aware: read dates compare equal to the ones the core makes."""
    return MongoClient(
        settings.mongo_uri,
        tz_aware=True,
        serverSelectionTimeoutMS=5_000,
        connectTimeoutMS=5_000,
        socketTimeoutMS=300_000,
    )


def ensure_indexes(db: Database, collections: tuple[str, ...] = tuple(INDEXES)) -> None:
    """One index per call, only the missing ones: FerretDB 1.24 drops the connection (a
    server-side panic) on a `createIndexes` of several indexes that already exist."""
    for name in collections:
        existing = {i["name"] for i in db[name].list_indexes()}
        for model in INDEXES[name]:
            if model.document["name"] not in existing:
                db[name].create_indexes([model])


@dataclass
class BatchResult:
    inserted: int = 0
    already_stored: int = 0
    technicians: int = 0
    orders: int = 0
    status_changes: list[StatusChange] = field(default_factory=list)


def write_batch(db: Database, docs: list[Doc]) -> BatchResult:
    """Store `homecheckins` documents and fold them into `technicians` and `orders`.

    Safe to repeat with the same documents (a retry, a redelivery): nothing changes twice.
    """
    docs = first_by_id(docs)
    if not docs:
        return BatchResult()
    new_ids = insert_new(db, docs)
    already = stored_versions(db, [d["_id"] for d in docs if d["_id"] not in new_ids])
    stored = [d if d["_id"] in new_ids else already.get(d["_id"], d) for d in docs]
    result = BatchResult(inserted=len(new_ids), already_stored=len(docs) - len(new_ids))

    staff = sorted({d["staffCode"] for d in stored})
    current = by_ids(db.technicians, staff)
    exact = staff_counts(db, needs_exact_count(stored, new_ids))
    technicians = technicians_after(current, stored, new_ids, exact)
    save(db, "technicians", technicians.values(), set(current))

    order_nos = sorted({d["orderNo"] for d in stored})
    current = by_ids(db.orders, order_nos, scan_above=None)  # orders grow without bound
    orders, changes = orders_after(current, stored)
    save(db, "orders", orders.values(), set(current))

    write_timeline(db, stored, new_ids)

    result.technicians, result.orders = len(technicians), len(orders)
    result.status_changes = changes
    return result


def write_timeline(db: Database, stored: list[Doc], new_ids: set[str]) -> None:
    """Add the stored check-ins to the hour pages and recompute their day documents
    (checkins/timeline.py). Pages are written before the day document that lists them, so a
    crash in between leaves a page the redelivered batch rewrites with the same points.

    Check-ins this batch inserted (`new_ids`) cannot be on a page yet: they are appended to the
    hour's last page; an hour with a redelivered check-in reads all its pages to skip those
    already on one."""
    for (day, partition), hours in timeline.group_by_hour(stored).items():
        day_key = timeline.day_id(day, partition)
        stored_day = db[timeline.DAYS].find_one({"_id": day_key})
        before = None if stored_day is None else timeline.load_day(stored_day)
        if before is None:
            _insert_ignoring_duplicate(db[timeline.PARTITIONS], {"_id": partition})
        day_doc = before or timeline.new_day(day, partition)
        for hour, docs in sorted(hours.items()):
            count = day_doc["hours"].get(f"{hour:%H}", {}).get("pages", 0)
            all_new = all(d["_id"] in new_ids for d in docs)
            first = max(count - 1, 0) if all_new else 0
            merged = timeline.merge_pages(read_pages(db, hour, partition, first, count), docs)
            for number in sorted(merged.changed):
                db[timeline.HOURS].replace_one(
                    {"_id": timeline.page_id(hour, partition, number)},
                    {
                        "hour": hour,
                        "partition": partition,
                        "page": number,
                        "points": timeline.encode_page(merged.pages[number]),
                    },
                    upsert=True,
                )
            if all_new:
                day_doc = timeline.add_to_hour(day_doc, hour, merged.added, len(merged.pages))
            else:
                day_doc = timeline.summarize_hour(day_doc, hour, merged.pages)
        if day_doc != before:
            db[timeline.DAYS].replace_one(
                {"_id": day_key}, timeline.store_day(day_doc), upsert=True
            )


def read_pages(db: Database, hour, partition: int, first: int, count: int) -> list[list]:
    """Pages `first`..`count - 1` of an hour; the ones before `first` stand as empty."""
    pages: list[list] = [[] for _ in range(first)]
    for number in range(first, count):
        page = db[timeline.HOURS].find_one({"_id": timeline.page_id(hour, partition, number)})
        pages.append(timeline.decode_page(page["points"]) if page else [])
    return pages


def _insert_ignoring_duplicate(collection, doc: Doc) -> None:
    with contextlib.suppress(DuplicateKeyError):
        collection.insert_one(doc)


def by_ids(collection, ids: list[str], scan_above: int | None = BY_ID_UP_TO) -> dict[str, Doc]:
    """Documents by `_id`. The local store indexes only an exact `{_id: <string>}` filter and
    scans for `$in`: 200 technicians (5,000 stored, each with its `recent`) took 0.44 s by
    lookups and 2.4 s by `$in`; past `scan_above` ids (None: never) the one scan is cheaper,
    which holds for a bounded collection such as `technicians` only."""
    if scan_above is not None and len(ids) > scan_above:
        return {d["_id"]: d for d in collection.find({"_id": {"$in": ids}})}
    found = {}
    for key in ids:
        doc = collection.find_one({"_id": key})
        if doc is not None:
            found[key] = doc
    return found


def staff_counts(db: Database, staff: set[str]) -> dict[str, int]:
    """Stored check-ins per staffCode in one pass. FerretDB scans `homecheckins` for any filter
    but `_id`: one count per staffCode made a redelivered batch (after a consumer crash) cost
    a scan per technician, minutes at 50,000 events."""
    if not staff:
        return {}
    pipeline = [
        {"$match": {"staffCode": {"$in": sorted(staff)}}},
        {"$group": {"_id": "$staffCode", "n": {"$sum": 1}}},
    ]
    counts = {d["_id"]: d["n"] for d in db.homecheckins.aggregate(pipeline)}
    return {s: counts.get(s, 0) for s in staff}


def insert_new(db: Database, docs: list[Doc]) -> set[str]:
    """Insert what is not stored yet; returns the ids this call inserted."""
    try:
        db.homecheckins.insert_many(docs, ordered=False)
        return {d["_id"] for d in docs}
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        others = [e for e in errors if e.get("code") != DUPLICATE_KEY]
        if others:
            raise
        duplicates = {docs[e["index"]]["_id"] for e in errors}
        return {d["_id"] for d in docs} - duplicates


def stored_versions(db: Database, ids: list[str]) -> dict[str, Doc]:
    """The stored documents of these ids: the first stored version wins (a reused id with other
    content does not overwrite it). One lookup each: `$in` reads all of `homecheckins`."""
    return by_ids(db.homecheckins, ids, scan_above=None)


def save(db: Database, collection: str, docs, existing: set[str]) -> None:
    """New documents with one `insert_many`, changed ones with `ReplaceOne`.

    A duplicate key means another writer created it since we read: raise, and the caller's
    retry reads again and replaces it. Updates go in unordered bulks of at most UPDATE_CHUNK
    statements: FerretDB 1.24 keeps one SQLite connection per statement of an `update` command
    until the command ends, plus one to write, from a pool of 100 per database. A command of
    100 statements therefore never finished, and three consumers sending 50 each at once
    froze the store. At 10, ~9 concurrent writers fit (six were probed).
    """
    docs = list(docs)
    fresh = [d for d in docs if d["_id"] not in existing]
    if fresh:
        db[collection].insert_many(fresh, ordered=False)
    ops = [ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in docs if d["_id"] in existing]
    for start in range(0, len(ops), UPDATE_CHUNK):
        db[collection].bulk_write(ops[start : start + UPDATE_CHUNK], ordered=False)
