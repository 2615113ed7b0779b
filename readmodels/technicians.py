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
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.database import Database

from checkins.times import from_millis, millis, utc
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

    The count goes up by the check-ins this batch inserted (`new_ids`) and by the already
    stored ones the technician's `recent` proves were never counted (a retry after the insert
    went through but this write did not). A staffCode with an already-stored check-in that
    `recent` cannot tell about takes its count from `exact_counts` instead, which the caller
    counted in `homecheckins` (see `needs_exact_count`).
    """
    exact_counts = exact_counts or {}
    changed = {}
    for staff, docs in group_by(stored, "staffCode").items():
        before = current.get(staff)
        if staff in exact_counts:
            count = exact_counts[staff]
        else:
            known = counted_ids(before)
            count = (before["checkinCount"] if before else 0) + sum(
                1 for d in docs if d["_id"] in new_ids or counted(known, d) is False
            )
        after = fold_technician(before, docs, count)
        if after != before:
            changed[staff] = after
    return changed


def needs_exact_count(stored: list[Doc], new_ids: set[str], current: Mapping[str, Doc]) -> set[str]:
    """StaffCodes whose batch holds an already-stored check-in that their `recent` cannot
    place: count those in the store (a scan of `homecheckins` on FerretDB, so kept for an old
    redelivery; a retry of the batch just written is told apart by `recent`)."""
    known = {staff: counted_ids(doc) for staff, doc in current.items()}
    return {
        d["staffCode"]
        for d in stored
        if d["_id"] not in new_ids
        and counted(known.get(d["staffCode"], NOTHING_COUNTED), d) is None
    }


class Counted(NamedTuple):
    """What a technician's `recent` says of its count: the event ids it keeps, the lowest
    (checkinDate ms, event id) among them, and whether it is full (RECENT_LIMIT)."""

    ids: frozenset[str]
    lowest: tuple[int, str] | None
    full: bool


NOTHING_COUNTED = Counted(frozenset(), None, False)


def counted_ids(doc: Doc | None) -> Counted | None:
    """None for a document that cannot say (written before `recent` existed)."""
    if doc is None:
        return NOTHING_COUNTED
    if doc.get("recent") is None:
        return None
    entries = decode_recent(doc["recent"])
    lowest = (millis(entries[-1]["checkinDate"]), entries[-1]["eventId"]) if entries else None
    return Counted(frozenset(e["eventId"] for e in entries), lowest, len(entries) >= RECENT_LIMIT)


def counted(recent: Counted | None, checkin: Doc) -> bool | None:
    """Whether the count beside `recent` (written in the same document) holds this stored
    check-in: True when `recent` keeps it; False when it would keep it had it been counted
    (`recent` holds the RECENT_LIMIT greatest of all counted, so it is not full or the check-in
    ranks above its lowest); None when it may have fallen out: only the store can tell."""
    if recent is None:
        return None
    if checkin["_id"] in recent.ids:
        return True
    key = (millis(checkin["checkinDate"]), checkin["_id"])
    if not recent.full or recent.lowest is None or key > recent.lowest:
        return False
    return None


# -- silent technicians (pure) -------------------------------------------------------------
# A technician is silent when their latest check-in is older than SILENT_AFTER while their
# current order is still open. The map, the overview and (once alerts exist) the lag sampler's
# "technician silent" rule all classify with these functions, so they agree.

# Statuses that close an order: a technician quiet after one is between jobs, not silent.
CLOSED_STATUSES = frozenset({"completed", "cancelled"})


def quiet_for(doc: Mapping[str, Any], now: datetime) -> timedelta:
    """How long since the technician's latest check-in (`checkinDate`)."""
    return utc(now) - utc(doc["checkinDate"])


def is_silent(doc: Mapping[str, Any], now: datetime, silent_after: timedelta) -> bool:
    """Quiet for longer than `silent_after` (exactly `silent_after` is not yet silent) with
    the current order not completed."""
    if str(doc.get("jobStatus", "")).lower() in CLOSED_STATUSES:
        return False
    return quiet_for(doc, now) > silent_after


def silent_oldest_first(
    docs: Iterable[Mapping[str, Any]], now: datetime, silent_after: timedelta
) -> list[Mapping[str, Any]]:
    """The silent ones among `docs`, the longest quiet first."""
    found = [d for d in docs if is_silent(d, now, silent_after)]
    return sorted(found, key=lambda d: (utc(d["checkinDate"]), str(d.get("staffCode"))))


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


def silent_technicians(
    db: Database, now: datetime, silent_after: timedelta, cap: int | None = None
) -> tuple[list[Mapping[str, Any]], bool]:
    """Every silent technician, the longest quiet first; the flag says more were left out. The
    query narrows the read (a scan of `technicians` on the local store, like the map's); the
    classification itself is `is_silent`."""
    query = {
        "checkinDate": {"$lt": utc(now) - silent_after},
        "jobStatus": {"$nin": sorted(CLOSED_STATUSES)},
    }
    found, capped = store.capped_find(
        db, COLLECTION, query, TECHNICIAN_FIELDS, cap or TECHNICIAN_CAP
    )
    return silent_oldest_first(found, now, silent_after), capped
