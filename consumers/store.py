"""The MongoDB edge of the consumers: one batch into every read model, idempotently.

The local store has no multi-document transactions, so each read model is written so that
repeating a batch (a retry, a redelivery after a crash between two writes) changes nothing:
`homecheckins` first (a duplicate key means "already stored"), then `technicians` and
`orders` read, folded by their pure cores and written back, then the timeline. What each
collection holds and how it is written lives in `readmodels/`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from pymongo import MongoClient
from pymongo.database import Database

from checkins.clients import mongo_client
from checkins.settings import Settings
from readmodels import events, orders, store, technicians, timeline
from readmodels.events import Doc
from readmodels.orders import StatusChange

# The read-ahead of every batch, one pool per process (a pool per batch started two threads a
# batch; see readmodels.store._LOOKUPS).
_AHEAD = ThreadPoolExecutor(2, thread_name_prefix="read-ahead")

INDEXES = {
    events.COLLECTION: events.INDEXES,
    technicians.COLLECTION: technicians.INDEXES,
    orders.COLLECTION: orders.INDEXES,
}


def connect(settings: Settings) -> MongoClient:
    return mongo_client(
        settings, serverSelectionTimeoutMS=5_000, connectTimeoutMS=5_000, socketTimeoutMS=300_000
    )


def ensure_indexes(db: Database, collections: tuple[str, ...] = tuple(INDEXES)) -> None:
    store.ensure_indexes(db, {name: INDEXES[name] for name in collections})


@dataclass
class Attempts:
    """What earlier attempts at the same batch did, carried across its retries: the check-ins
    they inserted and the technicians they were writing. A retry after the insert went
    through tells from these which check-ins no technician's count holds yet, where it would
    otherwise count them in `homecheckins` (a scan on FerretDB: minutes at a million)."""

    inserted: set[str] = field(default_factory=set)
    technicians: dict[str, Doc] = field(default_factory=dict)

    def written(self, current: dict[str, Doc]) -> set[str]:
        """Technicians whose stored document is the one an earlier attempt wrote (the batch is
        in it). `recent` and the count are compared: both round-trip exactly."""
        return {
            staff
            for staff, doc in self.technicians.items()
            if (stored := current.get(staff)) is not None
            and stored.get("recent") == doc["recent"]
            and stored.get("checkinCount") == doc["checkinCount"]
        }


@dataclass
class BatchResult:
    inserted: int = 0
    already_stored: int = 0
    technicians: int = 0
    orders: int = 0
    status_changes: list[StatusChange] = field(default_factory=list)


def write_batch(db: Database, docs: list[Doc], tried: Attempts | None = None) -> BatchResult:
    """Store `homecheckins` documents and fold them into `technicians`, `orders` and the
    timeline. Safe to repeat with the same documents: nothing changes twice. A retry passes
    the same `tried`, which spares it a count of the technicians' check-ins.

    The technicians and orders the batch folds into are read while its check-ins are inserted
    (the insert writes neither, and the store serves reads beside a write): at full speed the
    order lookups took as long as the insert, one after the other (bench.profile_consumer)."""
    docs = events.first_by_id(docs)
    if not docs:
        return BatchResult()
    staff_wanted = sorted({d["staffCode"] for d in docs})
    orders_wanted = sorted({d["orderNo"] for d in docs})
    staff_ahead = _AHEAD.submit(store.by_ids, db[technicians.COLLECTION], staff_wanted)
    # Orders grow without bound: never one `$in` scan of them.
    orders_ahead = _AHEAD.submit(
        store.by_ids, db[orders.COLLECTION], orders_wanted, scan_above=None
    )
    new_ids = events.insert_new(db, docs)
    tried = tried or Attempts()
    tried.inserted |= new_ids
    staff_read, orders_read = staff_ahead.result(), orders_ahead.result()
    already = events.stored_versions(db, [d["_id"] for d in docs if d["_id"] not in new_ids])
    stored = [d if d["_id"] in new_ids else already.get(d["_id"], d) for d in docs]
    result = BatchResult(inserted=len(new_ids), already_stored=len(docs) - len(new_ids))

    staff = sorted({d["staffCode"] for d in stored})
    current = current_of(db[technicians.COLLECTION], staff, staff_wanted, staff_read)
    written = tried.written(current)
    to_fold = [d for d in stored if d["staffCode"] not in written]
    uncounted = tried.inserted  # this attempt's and earlier ones': outside `written`, uncounted
    exact = events.staff_counts(db, technicians.needs_exact_count(to_fold, uncounted, current))
    changed_technicians = technicians.technicians_after(current, to_fold, uncounted, exact)
    tried.technicians.update(changed_technicians)
    store.save(db, technicians.COLLECTION, changed_technicians.values(), set(current))

    order_nos = sorted({d["orderNo"] for d in stored})
    current = current_of(
        db[orders.COLLECTION], order_nos, orders_wanted, orders_read, scan_above=None
    )
    changed_orders, changes = orders.orders_after(current, stored)
    store.save(db, orders.COLLECTION, changed_orders.values(), set(current))

    timeline.write_timeline(db, stored, new_ids)

    result.technicians, result.orders = len(changed_technicians), len(changed_orders)
    result.status_changes = changes
    return result


def current_of(
    collection, ids: list[str], looked_up: list[str], found: dict[str, Doc], **by_ids_options
) -> dict[str, Doc]:
    """The stored documents of `ids`, from the read-ahead (`looked_up` ids, `found` of them)
    plus a lookup of any it did not cover: a redelivered check-in whose stored version names
    another technician or order than the one in hand."""
    missing = sorted(set(ids) - set(looked_up))
    more = store.by_ids(collection, missing, **by_ids_options) if missing else {}
    return {k: doc for k in ids if (doc := found.get(k) or more.get(k)) is not None}
