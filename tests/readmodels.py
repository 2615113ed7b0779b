"""Check-in documents for tests, and `write_checkins`, which stores them through the consumers'
write path so every read model (the check-in timeline included) holds them as in production."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from pymongo.database import Database

from consumers.store import write_batch


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


def write_checkins(db: Database, events: Iterable[dict]) -> list[dict]:
    """Store the events through the consumers' own write path (`consumers.store.write_batch`):
    `homecheckins`, `technicians`, `orders` and the check-in timeline, as a batch would."""
    events = list(events)
    if events:
        write_batch(db, events)
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
