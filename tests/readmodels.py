"""Writes read-model documents exactly as docs/architecture.md shapes them, so dashboard tests
do not depend on the consumers. `write_checkins` applies events the way the projections do:
every event into `homecheckins`, the newest per staffCode into `technicians`, the newest per
orderNo (with its sorted history) into `orders`."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from pymongo.database import Database


def checkin(
    staff: str,
    *,
    at: datetime,
    status: str = "homecheckedin",
    order: str | None = None,
    internet: str = "8850049302",
    lat: float = 13.7827811,
    lon: float = 100.5465937,
    event_id: str | None = None,
) -> dict:
    """One `homecheckins` document."""
    at = at.astimezone(UTC).replace(microsecond=(at.microsecond // 1000) * 1000)
    now = datetime.now(UTC)
    return {
        "_id": event_id or str(uuid.uuid4()),
        "internetNo": internet,
        "orderNo": order or f"order-{staff}",
        "staffCode": staff,
        "jobStatus": status,
        "checkinLatitude": lat,
        "checkinLongitude": lon,
        "checkinDate": at,
        "createdAt": now,
        "updatedAt": now,
        "location": {"type": "Point", "coordinates": [lon, lat]},
        "source": {"topic": "test", "partition": 0, "offset": 0, "timestamp": now},
        "storedAt": now,
    }


def technician_from(events: list[dict]) -> dict:
    latest = max(events, key=lambda e: e["checkinDate"])
    return {
        "_id": latest["staffCode"],
        "staffCode": latest["staffCode"],
        "eventId": latest["_id"],
        "jobStatus": latest["jobStatus"],
        "orderNo": latest["orderNo"],
        "internetNo": latest["internetNo"],
        "checkinLatitude": latest["checkinLatitude"],
        "checkinLongitude": latest["checkinLongitude"],
        "checkinDate": latest["checkinDate"],
        "location": latest["location"],
        "firstSeen": min(e["checkinDate"] for e in events),
        "lastSeen": latest["checkinDate"],
        "checkinCount": len(events),
        "updatedAt": datetime.now(UTC),
    }


def order_from(events: list[dict]) -> dict:
    ordered = sorted(events, key=lambda e: e["checkinDate"])
    latest = ordered[-1]
    return {
        "_id": latest["orderNo"],
        "orderNo": latest["orderNo"],
        "jobStatus": latest["jobStatus"],
        "staffCode": latest["staffCode"],
        "internetNo": latest["internetNo"],
        "checkinDate": latest["checkinDate"],
        "history": [
            {
                "eventId": e["_id"],
                "jobStatus": e["jobStatus"],
                "staffCode": e["staffCode"],
                "checkinDate": e["checkinDate"],
            }
            for e in ordered
        ],
        "updatedAt": datetime.now(UTC),
    }


def write_checkins(db: Database, events: Iterable[dict]) -> list[dict]:
    """Insert the events and (re)write the technicians and orders they touch."""
    events = list(events)
    if not events:
        return events
    db.homecheckins.insert_many(events)
    for key, build, collection in (
        ("staffCode", technician_from, db.technicians),
        ("orderNo", order_from, db.orders),
    ):
        names = {e[key] for e in events}
        for name in names:
            mine = list(db.homecheckins.find({key: name}))
            collection.replace_one({"_id": name}, build(mine), upsert=True)
    return events


def spread(count: int, *, now: datetime, prefix: str = "tech", minutes_apart: float = 1.0):
    """`count` technicians around Bangkok, one check-in each, `minutes_apart` apart."""
    statuses = ["onroute", "homecheckedin", "completed"]
    return [
        checkin(
            f"{prefix}{i:03d}",
            at=now - timedelta(minutes=i * minutes_apart),
            status=statuses[i % len(statuses)],
            order=f"ord-{prefix}-{i}",
            internet=f"88{i:08d}",
            lat=13.70 + (i % 20) * 0.01,
            lon=100.45 + (i // 20) * 0.01,
        )
        for i in range(count)
    ]
