"""`orders`: one document per orderNo, its current status and a bounded history.

`history` keeps the latest HISTORY_LIMIT entries by (checkinDate, eventId), so no order
outgrows a document (every check-in stays in `homecheckins`); the current status is the last
entry's. The fold is pure and order-independent. An order whose status changed in a batch
gives a `StatusChange`, sent as a notice on the status topic (`status_notice`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.database import Database

from checkins.times import iso_utc
from readmodels import events, stats, store
from readmodels.events import Doc, group_by, rank
from readmodels.technicians import COLLECTION as TECHNICIANS
from readmodels.technicians import recent_order_numbers

COLLECTION = "orders"
HISTORY_LIMIT = 100  # latest entries kept in an order's history

INDEXES = [
    IndexModel([("jobStatus", ASCENDING)]),
    IndexModel([("staffCode", ASCENDING), ("checkinDate", DESCENDING)]),
    IndexModel([("updatedAt", DESCENDING)]),
]


@dataclass(frozen=True)
class StatusChange:
    orderNo: str
    oldStatus: str | None  # None: the order was not known before
    newStatus: str
    eventId: str
    checkinDate: datetime


def fold_order(current: Doc | None, checkins: list[Doc]) -> Doc:
    """The order after `checkins` (stored homecheckins of one orderNo): history by event id,
    in (checkinDate, eventId) order, the latest HISTORY_LIMIT entries (keeping the top entries
    of a union is still order-independent); the current status is the last entry's."""
    history = {h["eventId"]: h for h in (current or {}).get("history", [])}
    for d in checkins:
        history.setdefault(
            d["_id"],
            {
                "eventId": d["_id"],
                "jobStatus": d["jobStatus"],
                "staffCode": d["staffCode"],
                "checkinDate": d["checkinDate"],
            },
        )
    # Bounded, so no order outgrows a BSON document; the full history is in homecheckins.
    ordered = sorted(history.values(), key=lambda h: rank(h, "eventId"))[-HISTORY_LIMIT:]
    latest = ordered[-1]
    by_id = {d["_id"]: d for d in checkins}
    internet = (
        by_id[latest["eventId"]]["internetNo"]
        if latest["eventId"] in by_id
        else current["internetNo"]  # type: ignore[index]
    )
    updated = max(d["storedAt"] for d in checkins)
    if current is not None:
        updated = max(updated, current["updatedAt"])
    return {
        "_id": checkins[0]["orderNo"],
        "orderNo": checkins[0]["orderNo"],
        "jobStatus": latest["jobStatus"],
        "staffCode": latest["staffCode"],
        "internetNo": internet,
        "checkinDate": latest["checkinDate"],
        "eventId": latest["eventId"],
        "history": ordered,
        "updatedAt": updated,
    }


def orders_after(
    current: Mapping[str, Doc], stored: list[Doc]
) -> tuple[dict[str, Doc], list[StatusChange]]:
    """Changed `orders` documents, and a notice for each order whose jobStatus changed."""
    changed, notices = {}, []
    for order_no, docs in group_by(stored, "orderNo").items():
        before = current.get(order_no)
        after = fold_order(before, docs)
        if after == before:
            continue
        changed[order_no] = after
        old = before["jobStatus"] if before else None
        if old != after["jobStatus"]:
            notices.append(
                StatusChange(
                    order_no, old, after["jobStatus"], after["eventId"], after["checkinDate"]
                )
            )
    return changed, notices


def status_notice(change: StatusChange, at: datetime) -> Doc:
    """The event notification: small and state-free (the order, old and new status, times)."""
    return {
        "orderNo": change.orderNo,
        "oldStatus": change.oldStatus,
        "newStatus": change.newStatus,
        "eventId": change.eventId,
        "checkinDate": iso_utc(change.checkinDate),
        "time": iso_utc(at),
    }


# -- what the dashboard reads -------------------------------------------------------------


def orders_of(db: Database, staff_code: str, limit: int = 20) -> list[dict]:
    """The orders the technician checked in on last, most recent first (its document's
    `recentOrders`), each read by `_id`: one lookup per order, as `$in` would scan `orders`."""
    tech = db[TECHNICIANS].find_one({"_id": str(staff_code)}, {"recentOrders": 1})
    found = []
    for order_no in recent_order_numbers((tech or {}).get("recentOrders"))[:limit]:
        order = db[COLLECTION].find_one({"_id": order_no}, {"history": 0})
        if order is not None:  # written just after the technician: there in a moment
            found.append(order)
    return found


def order_timeline(db: Database, order_no: str) -> list[dict[str, Any]]:
    """The order's status history from `orders`; from its events when the order has no document."""
    order = db[COLLECTION].find_one({"_id": str(order_no)})
    if order is not None:
        return list(order.get("history") or [])
    # No order document (not projected yet, or a database that never had one): read its
    # events. A scan of `homecheckins` on the local store, so only when the order is missing.
    return [
        {
            "eventId": r["_id"],
            "jobStatus": r.get("jobStatus"),
            "staffCode": r.get("staffCode"),
            "checkinDate": r.get("checkinDate"),
        }
        for r in events.of_order(db, order_no)
    ]


def orders_by_status(db: Database) -> tuple[dict[str, int], datetime | None]:
    """Orders by jobStatus and when they were counted: the lag sampler's recount (one `_id`
    read, see readmodels/stats.py); without one (no sampler running), the live aggregate,
    a scan of `orders`, with None for "now"."""
    recount = stats.read(db)
    if recount is not None:
        return stats.counts_of(recount), recount.get("at")
    return stats.count_orders_by_status(db, store.TIME_LIMIT_MS), None
