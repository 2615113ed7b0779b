"""Read-model queries. Each returns plain rows, and every result the browser may get is capped.
Time windows over check-ins read the timeline read model (`window_points`, `minute_counts`):
on the local store any filter on `homecheckins` but `_id` reads the whole collection."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.database import Database
from pymongo.errors import OperationFailure

from checkins import timeline
from consumers.projection import decode_recent, recent_order_numbers
from dashboard import order_stats

CHECKINS = "homecheckins"
TECHNICIANS = "technicians"
ORDERS = "orders"

POINT_CAP = 20_000  # points one map layer sends to the browser
TECHNICIAN_CAP = 10_000
# Server-side time limit of one query (maxTimeMS), so a slow store makes the page say "took too
# long" instead of piling up refreshes. None = no limit (the bench measures without one).
TIME_LIMIT_MS: int | None = 20_000

MAP_FIELDS = {
    "_id": 0,
    "staffCode": 1,
    "jobStatus": 1,
    "orderNo": 1,
    "internetNo": 1,
    "checkinLatitude": 1,
    "checkinLongitude": 1,
    "checkinDate": 1,
}
TECHNICIAN_FIELDS = {**MAP_FIELDS, "checkinCount": 1}  # the count tells the map what arrived


def _limit() -> dict[str, int]:
    return {"maxTimeMS": TIME_LIMIT_MS} if TIME_LIMIT_MS else {}


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


def latest_positions(db: Database, query: dict, cap: int | None = None):
    return capped_find(db, TECHNICIANS, query, TECHNICIAN_FIELDS, cap or TECHNICIAN_CAP)


def events_stored(db: Database) -> int:
    """The `$collStats` count: metadata on MongoDB, a read-only count of table rows on FerretDB
    (whose `collStats` command runs ANALYZE first, locking writers out, and whose `count`
    decodes every document: seconds at a million). One row per shard, summed."""
    try:
        rows = db[CHECKINS].aggregate([{"$collStats": {"count": {}}}], **_limit())
        return int(sum(row.get("count", 0) for row in rows))
    except (OperationFailure, TypeError, ValueError):
        return db[CHECKINS].estimated_document_count()


def active_technicians(db: Database, since: datetime) -> int:
    return db[TECHNICIANS].count_documents({"checkinDate": {"$gte": since}}, **_limit())


def _group_count(db: Database, collection: str, field: str) -> dict[str, int]:
    pipeline = [{"$group": {"_id": f"${field}", "n": {"$sum": 1}}}, {"$sort": {"n": -1}}]
    return {str(d["_id"]): d["n"] for d in db[collection].aggregate(pipeline, **_limit())}


def status_breakdown(db: Database) -> dict[str, int]:
    """Technicians by their current jobStatus."""
    return _group_count(db, TECHNICIANS, "jobStatus")


def orders_by_status(db: Database) -> tuple[dict[str, int], datetime | None]:
    """Orders by jobStatus and when they were counted: the lag sampler's recount (one `_id`
    read, see dashboard/order_stats.py); without one (no sampler running), the live aggregate,
    a scan of `orders`, with None for "now"."""
    stats = order_stats.read(db)
    if stats is not None:
        return order_stats.counts_of(stats), stats.get("at")
    return order_stats.count_orders_by_status(db, TIME_LIMIT_MS), None


def known_statuses(db: Database) -> list[str]:
    return sorted(status_breakdown(db))


def technician(db: Database, staff_code: str) -> dict | None:
    return db[TECHNICIANS].find_one({"_id": str(staff_code)})


def recent_checkins_of(db: Database, staff_code: str, limit: int = 20) -> list[dict]:
    """The technician's latest check-ins, newest first, from its `technicians` document (which
    keeps the latest 20): one `_id` lookup, no scan of `homecheckins`."""
    tech = db[TECHNICIANS].find_one({"_id": str(staff_code)}, {"recent": 1})
    return [
        {"_id": e["eventId"], "staffCode": str(staff_code), **e}
        for e in decode_recent((tech or {}).get("recent"))[:limit]
    ]


def orders_of(db: Database, staff_code: str, limit: int = 20) -> list[dict]:
    """The orders the technician checked in on last, most recent first (its document's
    `recentOrders`), each read by `_id`: one lookup per order, as `$in` would scan `orders`."""
    tech = db[TECHNICIANS].find_one({"_id": str(staff_code)}, {"recentOrders": 1})
    found = []
    for order_no in recent_order_numbers((tech or {}).get("recentOrders"))[:limit]:
        order = db[ORDERS].find_one({"_id": order_no}, {"history": 0})
        if order is not None:  # written just after the technician: there in a moment
            found.append(order)
    return found


def order_timeline(db: Database, order_no: str) -> list[dict[str, Any]]:
    """The order's status history from `orders`; from its events when the order has no document."""
    order = db[ORDERS].find_one({"_id": str(order_no)})
    if order is not None:
        return list(order.get("history") or [])
    # No order document (not projected yet, or a database that never had one): read its
    # events. A scan of `homecheckins` on the local store, so only when the order is missing.
    rows = list(
        db[CHECKINS]
        .find(
            {"orderNo": str(order_no)},
            {"_id": 1, "jobStatus": 1, "staffCode": 1, "checkinDate": 1},
            max_time_ms=TIME_LIMIT_MS,
        )
        .sort("checkinDate", 1)
        .limit(500)
    )
    return [
        {
            "eventId": r["_id"],
            "jobStatus": r.get("jobStatus"),
            "staffCode": r.get("staffCode"),
            "checkinDate": r.get("checkinDate"),
        }
        for r in rows
    ]


# -- the timeline read model (checkins/timeline.py): time windows without scanning events ------


def _day_documents(db: Database, start: datetime, end: datetime) -> list[dict]:
    """The `checkin_days` documents of [start, end]: one `_id` lookup per day and partition.
    No time limit on these reads: `_id` lookups and a list of a few partitions never scan."""
    partitions = [d["_id"] for d in db[timeline.PARTITIONS].find({})]
    found = []
    for day in timeline.days_between(start, end):
        for partition in partitions:
            doc = db[timeline.DAYS].find_one({"_id": timeline.day_id(day, partition)})
            if doc is not None:
                found.append(timeline.load_day(doc))
    return found


def window_points(
    db: Database,
    start: datetime,
    end: datetime,
    keep: Callable[[dict], bool] | None = None,
    cap: int | None = None,
) -> tuple[list[dict], bool]:
    """Check-ins with `checkinDate` in [start, end] that `keep` accepts, newest first, at most
    `cap`; the flag says whether more were left out. Rows have `timeline.POINT_FIELDS`."""
    hours = timeline.hours_in_window(_day_documents(db, start, end), start, end)

    def fetch(hour: timeline.HourPages, number: int) -> list:
        page_key = timeline.page_id(hour.hour, hour.partition, number)
        page = db[timeline.HOURS].find_one({"_id": page_key})
        return timeline.decode_page(page["points"]) if page else []

    return timeline.collect_points(hours, fetch, start, end, keep, cap or POINT_CAP)


def minute_counts(db: Database, start: datetime, end: datetime) -> dict[datetime, dict]:
    """{minute (UTC): {n, byStatus}} for the minutes in [start, end], all partitions summed."""
    return timeline.minute_counts(_day_documents(db, start, end), start, end)


def ping(db: Database) -> None:
    db.client.admin.command("ping")
