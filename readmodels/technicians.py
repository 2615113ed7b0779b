"""`technicians`: one document per staffCode, its latest check-in and its recent activity.

The latest state is the check-in with the greatest (checkinDate, eventId), so a late, older
event never moves a technician back. A technician also carries its latest RECENT_LIMIT
check-ins (`recent`) and RECENT_LIMIT distinct orders (`recentOrders`), so the dashboard's
technician detail reads one document by `_id` instead of scanning. Both are compact JSON
strings: FerretDB decodes every BSON value of a document even when the query projects it
away, and 20 subdocuments per technician made reading all 5,000 (the map) about 4x slower.

Folds are pure, order-independent and idempotent: a rebuild from `homecheckins` in any order
gives the documents the live consumers wrote.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.database import Database

from checkins.times import from_millis, millis
from readmodels import store
from readmodels.events import Doc, group_by, rank

COLLECTION = "technicians"
LATEST_FIELDS = (
    "internetNo",
    "orderNo",
    "jobStatus",
    "checkinLatitude",
    "checkinLongitude",
    "checkinDate",
    "location",
)
RECENT_LIMIT = 20  # latest check-ins and orders kept on a technician
# One entry of a technician's `recent`: a list in this order, checkinDate as epoch milliseconds.
RECENT_FIELDS = (
    "eventId",
    "jobStatus",
    "orderNo",
    "internetNo",
    "checkinLatitude",
    "checkinLongitude",
    "checkinDate",
)
TECHNICIAN_CAP = 10_000
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

INDEXES = [
    IndexModel([("lastSeen", DESCENDING)]),
    IndexModel([("checkinDate", DESCENDING)]),
    IndexModel([("jobStatus", ASCENDING)]),
]


def fold_technician(current: Doc | None, checkins: list[Doc], count: int) -> Doc:
    """The technician after `checkins` (stored homecheckins of one staffCode); `count` is the
    total number of check-ins, computed by the caller (see `technicians_after`)."""
    latest = max(checkins, key=lambda d: rank(d, "_id"))
    first = min(d["checkinDate"] for d in checkins)
    last = latest["checkinDate"]
    updated = max(d["storedAt"] for d in checkins)
    if current is not None:
        first = min(first, current["firstSeen"])
        last = max(last, current["lastSeen"])
        updated = max(updated, current["updatedAt"])
        if rank(current, "eventId") > rank(latest, "_id"):
            latest = {"_id": current["eventId"], **{f: current[f] for f in LATEST_FIELDS}}
    doc: Doc = {"_id": checkins[0]["staffCode"], "staffCode": checkins[0]["staffCode"]}
    doc["eventId"] = latest["_id"]
    for name in LATEST_FIELDS:
        doc[name] = latest[name]
    doc.update(firstSeen=first, lastSeen=last, checkinCount=count, updatedAt=updated)
    doc.update(recent_fields(current, checkins))
    return doc


def recent_fields(current: Mapping[str, Any] | None, checkins: Iterable[Doc]) -> Doc:
    """`recent` and `recentOrders` after `checkins` (stored homecheckins of one staffCode).

    recent: the union of the kept entries and the new ones by event id, the RECENT_LIMIT
    greatest by (checkinDate, eventId). recentOrders: per orderNo the greatest (checkinDate,
    eventId) seen, the RECENT_LIMIT greatest orders. An entry that fell out can only come back
    with a greater rank, so truncating after each batch gives what one fold of all gives."""
    recent = {e["eventId"]: e for e in decode_recent((current or {}).get("recent"))}
    orders = {o: seen for o, *seen in decode_json((current or {}).get("recentOrders"))}
    for d in checkins:
        entry = {"eventId": d["_id"], **{f: d[f] for f in RECENT_FIELDS[1:]}}
        recent.setdefault(d["_id"], entry)
        seen = [millis(d["checkinDate"]), d["_id"]]
        if d["orderNo"] not in orders or orders[d["orderNo"]] < seen:
            orders[d["orderNo"]] = seen
    kept = sorted(recent.values(), key=lambda e: rank(e, "eventId"), reverse=True)
    newest = sorted(orders.items(), key=lambda item: item[1], reverse=True)
    return {
        "recent": encode_recent(kept[:RECENT_LIMIT]),
        "recentOrders": _compact([[o, *seen] for o, seen in newest[:RECENT_LIMIT]]),
    }


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def decode_json(text: str | None) -> list:
    return json.loads(text) if text else []


def encode_recent(entries: Iterable[Mapping[str, Any]]) -> str:
    return _compact(
        [[*(e[f] for f in RECENT_FIELDS[:-1]), millis(e["checkinDate"])] for e in entries]
    )


def decode_recent(text: str | None) -> list[Doc]:
    """A technician's `recent` as documents (newest first), checkinDate an aware UTC datetime."""
    entries = [dict(zip(RECENT_FIELDS, row, strict=True)) for row in decode_json(text)]
    for e in entries:
        e["checkinDate"] = from_millis(e["checkinDate"])
    return entries


def recent_order_numbers(text: str | None) -> list[str]:
    """A technician's `recentOrders` as orderNos, the most recently checked-in first."""
    return [row[0] for row in decode_json(text)]


def technicians_after(
    current: Mapping[str, Doc],
    stored: list[Doc],
    new_ids: set[str],
    exact_counts: Mapping[str, int] | None = None,
) -> dict[str, Doc]:
    """Changed `technicians` documents after a batch of stored check-ins.

    The count goes up by the check-ins this batch inserted (`new_ids`); a staffCode with a
    check-in that was already stored (a redelivery, possibly after a crash between the two
    writes) takes its count from `exact_counts` instead, which the caller counted in
    `homecheckins`.
    """
    exact_counts = exact_counts or {}
    changed = {}
    for staff, docs in group_by(stored, "staffCode").items():
        before = current.get(staff)
        if staff in exact_counts:
            count = exact_counts[staff]
        else:
            count = (before["checkinCount"] if before else 0) + sum(
                1 for d in docs if d["_id"] in new_ids
            )
        after = fold_technician(before, docs, count)
        if after != before:
            changed[staff] = after
    return changed


def needs_exact_count(stored: list[Doc], new_ids: set[str]) -> set[str]:
    """StaffCodes whose batch holds an already-stored check-in: count those in the store."""
    return {d["staffCode"] for d in stored if d["_id"] not in new_ids}


# -- what the dashboard reads -------------------------------------------------------------


def latest_positions(db: Database, query: dict, cap: int | None = None):
    return store.capped_find(db, COLLECTION, query, TECHNICIAN_FIELDS, cap or TECHNICIAN_CAP)


def active_since(db: Database, since: datetime) -> int:
    return db[COLLECTION].count_documents({"checkinDate": {"$gte": since}}, **store.time_limit())


def status_breakdown(db: Database) -> dict[str, int]:
    """Technicians by their current jobStatus."""
    return store.group_count(db, COLLECTION, "jobStatus")


def known_statuses(db: Database) -> list[str]:
    return sorted(status_breakdown(db))


def recent_checkins_of(db: Database, staff_code: str, limit: int = 20) -> list[dict]:
    """The technician's latest check-ins, newest first, from its `technicians` document (which
    keeps the latest 20): one `_id` lookup, no scan of `homecheckins`."""
    tech = db[COLLECTION].find_one({"_id": str(staff_code)}, {"recent": 1})
    return [
        {"_id": e["eventId"], "staffCode": str(staff_code), **e}
        for e in decode_recent((tech or {}).get("recent"))[:limit]
    ]
