"""Event sourcing: rebuild `technicians`, `orders` and the timeline from `homecheckins`.

The same pure folds as the live path, in a different order (they are order-independent), so
the result equals what the consumers built. New collections are built beside the old ones and
then swapped in (FerretDB lacks `renameCollection` with `dropTarget`, so drop, then rename).
Stop the consumers first: a write that lands during the swap would be lost until the next
rebuild.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice
from typing import Any

from pymongo.database import Database
from pymongo.errors import PyMongoError
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from checkins.settings import Settings
from consumers import store
from readmodels import timeline
from readmodels.events import Doc
from readmodels.orders import orders_after
from readmodels.technicians import technicians_after

CHUNK = 5000
# How long a write of the rebuild is tried again: the local store's writes give up after 3 s
# while it truncates its WAL (stack/ferretdb/main.go); the consumers retry them, so does this.
RETRY_FOR_S = 120.0


def rebuild(db: Database) -> dict[str, int]:
    technicians: dict[str, Doc] = {}
    orders: dict[str, Doc] = {}
    points: dict = {}
    cursor = db.homecheckins.find()
    while docs := list(islice(cursor, CHUNK)):
        technicians.update(technicians_after(technicians, docs, {d["_id"] for d in docs}))
        orders.update(orders_after(orders, docs)[0])
        timeline.add_points(points, docs)
    _swap_in(db, "technicians", technicians.values())
    _swap_in(db, "orders", orders.values())
    pages, days, partitions = timeline.documents_from_scratch(points)
    _swap_in(db, timeline.HOURS, pages)
    _swap_in(db, timeline.DAYS, [timeline.store_day(d) for d in days])
    _swap_in(db, timeline.PARTITIONS, partitions)
    return {"technicians": len(technicians), "orders": len(orders), "timeline pages": len(pages)}


def _swap_in(db: Database, name: str, docs) -> None:
    temp = f"{name}__rebuild"
    docs = list(docs)
    _retried(_build, db, temp, docs)
    _retried(_replace, db, name, temp)
    if name in store.INDEXES:
        _retried(store.ensure_indexes, db, (name,))


def _build(db: Database, temp: str, docs: list[Doc]) -> None:
    db.drop_collection(temp)  # a retry starts over
    if docs:
        db[temp].insert_many(docs, ordered=False)
    else:
        db.create_collection(temp)


def _replace(db: Database, name: str, temp: str) -> None:
    if temp not in db.list_collection_names():
        return  # renamed by an attempt whose answer was lost
    db.drop_collection(name)
    db[temp].rename(name)


def _retried(call: Callable[..., Any], *args: Any) -> Any:
    retrying = Retrying(
        retry=retry_if_exception_type(PyMongoError),
        wait=wait_exponential(multiplier=0.2, max=5),
        stop=stop_after_delay(RETRY_FOR_S),
        reraise=True,
    )
    return retrying(call, *args)


def rebuild_database(settings: Settings) -> dict[str, int]:
    client = store.connect(settings)
    try:
        return rebuild(client[settings.mongodb_database])
    finally:
        client.close()
