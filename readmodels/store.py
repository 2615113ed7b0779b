"""The local store's workarounds, in one place (FerretDB 1.24 on SQLite; README "Known limits").

- Only a filter that is exactly `{_id: <value>}` uses an index (ours, see stack/ferretdb):
  `by_ids` looks documents up one by one rather than with `$in`, which scans (a few lookups
  at once: reads run side by side, writes one at a time).
- Secondary indexes therefore serve no query here, and every insert and replace maintains them (an
  `insert_many` of check-ins: 6,007/s bare, 4,499/s with `homecheckins`' four): `ensure_indexes`
  makes the read models' indexes only on a server that uses them (a real MongoDB).
- An `update` command holds one SQLite connection per statement until it ends (a pool of 100):
  `save` sends replacements in bulks of UPDATE_CHUNK.
- `createIndexes` of several indexes that already exist drops the connection (a server panic):
  `create_indexes` creates the missing ones one at a time.
- The `collStats` command runs ANALYZE (seconds at a million, writers wait): `collection_count`
  uses the `$collStats` stage.
- Every other filter or sort decodes the whole collection: readers bound their queries with a
  server-side time limit (`TIME_LIMIT_MS`), and the dashboard filters none of its views on
  `homecheckins` (the timeline read model serves time windows).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pymongo import DESCENDING, IndexModel, ReplaceOne
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, OperationFailure

Doc = dict[str, Any]
DUPLICATE_KEY = 11000


UPDATE_CHUNK = 10


BY_ID_UP_TO = 500  # up to this many ids, one `_id` lookup each; more: one `$in` scan
LOOKUP_THREADS = 4  # `_id` lookups in flight at once (reads; writes stay one at a time)
# One pool per process for every `by_ids`, big enough for two at once (the consumers read
# technicians and orders ahead side by side), instead of 4 new threads per call, several calls
# a batch.
_LOOKUPS = ThreadPoolExecutor(2 * LOOKUP_THREADS, thread_name_prefix="by-id")
# Server-side time limit of one dashboard query (maxTimeMS), so a slow store makes the page say
# "took too long" instead of piling up refreshes. None = no limit (the bench measures whole).
TIME_LIMIT_MS: int | None = 20_000


def time_limit() -> dict[str, Any]:
    return {"maxTimeMS": TIME_LIMIT_MS} if TIME_LIMIT_MS else {}


def uses_secondary_indexes(db: Database) -> bool:
    """False on FerretDB (its buildInfo names its version): only `_id` lookups use an index."""
    return "ferretdbVersion" not in db.client.admin.command("buildInfo")


def ensure_indexes(db: Database, indexes: Mapping[str, Iterable[IndexModel]]) -> None:
    """The read models' secondary indexes, on a server whose queries use them."""
    if uses_secondary_indexes(db):
        create_indexes(db, indexes)


def create_indexes(db: Database, indexes: Mapping[str, Iterable[IndexModel]]) -> None:
    """One index per call, only the missing ones: FerretDB 1.24 drops the connection (a
    server-side panic) on a `createIndexes` of several indexes that already exist."""
    for name, models in indexes.items():
        existing = {i["name"] for i in db[name].list_indexes()}
        for model in models:
            if model.document["name"] not in existing:
                db[name].create_indexes([model])


def by_ids(
    collection, ids: list[str], scan_above: int | None = BY_ID_UP_TO, threads: int = LOOKUP_THREADS
) -> dict[str, Doc]:
    """Documents by `_id`. The local store indexes only an exact `{_id: <string>}` filter and
    scans for `$in`: 200 technicians (5,000 stored, each with its `recent`) took 0.44 s by
    lookups and 2.4 s by `$in`; past `scan_above` ids (None: never) the one scan is cheaper,
    which holds for a bounded collection such as `technicians` only.

    The lookups go `threads` at a time: the store serves reads side by side (200 by `_id`:
    1.3-1.9 s one after another, 0.4-0.5 s four at a time, on two busy cores)."""
    if scan_above is not None and len(ids) > scan_above:
        return {d["_id"]: d for d in collection.find({"_id": {"$in": ids}})}
    shares = [ids[i::threads] for i in range(min(threads, len(ids)))]
    if len(shares) <= 1:
        return _look_up(collection, ids)
    found: dict[str, Doc] = {}
    for part in _LOOKUPS.map(lambda share: _look_up(collection, share), shares):
        found.update(part)
    return found


def _look_up(collection, ids: list[str]) -> dict[str, Doc]:
    found = {}
    for key in ids:
        doc = collection.find_one({"_id": key})
        if doc is not None:
            found[key] = doc
    return found


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


def insert_ignoring_duplicate(collection: Collection, doc: Doc) -> None:
    with contextlib.suppress(DuplicateKeyError):
        collection.insert_one(doc)


def capped_find(
    db: Database, collection: str, query: dict, fields: dict, cap: int
) -> tuple[list[dict], bool]:
    """Newest first, at most `cap` rows; the flag says whether more matched."""
    cursor = (
        db[collection]
        .find(query, fields, max_time_ms=TIME_LIMIT_MS)
        .sort("checkinDate", DESCENDING)
        .limit(cap + 1)
    )
    rows = list(cursor)
    return rows[:cap], len(rows) > cap


def group_count(db: Database, collection: str, field: str) -> dict[str, int]:
    pipeline: list[dict[str, Any]] = [
        {"$group": {"_id": f"${field}", "n": {"$sum": 1}}},
        {"$sort": {"n": -1}},
    ]
    return {str(d["_id"]): d["n"] for d in db[collection].aggregate(pipeline, **time_limit())}


def collection_count(db: Database, collection: str) -> int:
    """The `$collStats` count: metadata on MongoDB, a read-only count of table rows on FerretDB
    (whose `collStats` command runs ANALYZE first, locking writers out, and whose `count`
    decodes every document: seconds at a million). One row per shard, summed."""
    try:
        stage: dict[str, Any] = {"$collStats": {"count": {}}}
        rows = db[collection].aggregate([stage], **time_limit())
        return int(sum(row.get("count", 0) for row in rows))
    except (OperationFailure, TypeError, ValueError):
        return db[collection].estimated_document_count()


def ping(db: Database) -> None:
    db.client.admin.command("ping")
