"""The pure core: stored check-ins -> read-model documents. No I/O here.

Every fold is order-independent and idempotent: the latest state is the check-in with the
greatest (checkinDate, eventId), history entries are keyed by event id, and `updatedAt` is the
greatest `storedAt` folded in. So a late older event never moves a technician back, a redelivery
changes nothing, and a rebuild from `homecheckins` in any order gives the same documents as the
live path.

A technician also carries its latest RECENT_LIMIT check-ins (`recent`) and latest RECENT_LIMIT
distinct orders (`recentOrders`, each with the rank of its latest check-in), so the dashboard's
technician detail reads one document by `_id` instead of scanning. Both are the top entries of
a union keyed by event id / by orderNo with the greatest rank: still order-independent. They
are kept as compact JSON strings: FerretDB decodes every BSON value of a document even when the
query projects it away, and 20 subdocuments per technician made reading all 5,000 (the map)
about 4x slower; one string costs little.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from checkins.envelope import CheckInEvent
from checkins.event import iso_utc

LEGACY_FIELDS = (
    "internetNo",
    "orderNo",
    "staffCode",
    "jobStatus",
    "checkinLatitude",
    "checkinLongitude",
    "checkinDate",
)
LATEST_FIELDS = (
    "internetNo",
    "orderNo",
    "jobStatus",
    "checkinLatitude",
    "checkinLongitude",
    "checkinDate",
    "location",
)

Doc = dict[str, Any]
HISTORY_LIMIT = 100  # latest entries kept in an order's history
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
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Coordinates:
    """Where a message came from in Kafka."""

    topic: str
    partition: int
    offset: int
    timestamp: datetime | None  # the Kafka message timestamp


@dataclass(frozen=True)
class StatusChange:
    orderNo: str
    oldStatus: str | None  # None: the order was not known before
    newStatus: str
    eventId: str
    checkinDate: datetime


def to_ms(moment: datetime) -> datetime:
    """BSON dates keep milliseconds: truncate now so live and rebuilt documents compare equal."""
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def kafka_time(timestamp: tuple[int, int]) -> datetime | None:
    """confluent-kafka's (type, ms) -> an aware UTC datetime, None when the broker gave none."""
    kind, ms = timestamp
    if kind == 0 or ms < 0:  # TIMESTAMP_NOT_AVAILABLE
        return None
    return datetime.fromtimestamp(ms / 1000, UTC)


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


def _rank(doc: Mapping[str, Any], id_field: str) -> tuple[datetime, str]:
    return (doc["checkinDate"], doc[id_field])


def fold_technician(current: Doc | None, checkins: list[Doc], count: int) -> Doc:
    """The technician after `checkins` (stored homecheckins of one staffCode); `count` is the
    total number of check-ins, computed by the caller (see `technicians_after`)."""
    latest = max(checkins, key=lambda d: _rank(d, "_id"))
    first = min(d["checkinDate"] for d in checkins)
    last = latest["checkinDate"]
    updated = max(d["storedAt"] for d in checkins)
    if current is not None:
        first = min(first, current["firstSeen"])
        last = max(last, current["lastSeen"])
        updated = max(updated, current["updatedAt"])
        if _rank(current, "eventId") > _rank(latest, "_id"):
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
    orders = {o: rank for o, *rank in decode_json((current or {}).get("recentOrders"))}
    for d in checkins:
        entry = {"eventId": d["_id"], **{f: d[f] for f in RECENT_FIELDS[1:]}}
        recent.setdefault(d["_id"], entry)
        rank = [millis(d["checkinDate"]), d["_id"]]
        if d["orderNo"] not in orders or orders[d["orderNo"]] < rank:
            orders[d["orderNo"]] = rank
    kept = sorted(recent.values(), key=lambda e: _rank(e, "eventId"), reverse=True)
    newest = sorted(orders.items(), key=lambda item: item[1], reverse=True)
    return {
        "recent": encode_recent(kept[:RECENT_LIMIT]),
        "recentOrders": _compact([[o, *rank] for o, rank in newest[:RECENT_LIMIT]]),
    }


def millis(moment: datetime) -> int:
    """Epoch milliseconds; a naive datetime (a client without tz_aware) is UTC, as BSON is."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return (aware - EPOCH) // timedelta(milliseconds=1)


def from_millis(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


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
    for staff, docs in _group(stored, "staffCode").items():
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
    ordered = sorted(history.values(), key=lambda h: _rank(h, "eventId"))[-HISTORY_LIMIT:]
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
    for order_no, docs in _group(stored, "orderNo").items():
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


def _group(docs: Iterable[Doc], field: str) -> dict[str, list[Doc]]:
    groups: dict[str, list[Doc]] = {}
    for doc in docs:
        groups.setdefault(doc[field], []).append(doc)
    return groups


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
