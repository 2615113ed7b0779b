"""Check-in documents for tests, and `write_checkins`, which stores them through the consumers'
write path so every read model (the check-in timeline included) holds them as in production."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from pymongo.database import Database

from consumers.rebuild import rebuild
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


REBUILT = ("technicians", "orders")


def assert_matches_rebuild(db: Database) -> dict[str, int]:
    """The live read models equal what `consumers rebuild` makes from `homecheckins` (event
    sourcing's promise). Stop the consumers first: the rebuild swaps the collections."""
    live = {name: sorted(db[name].find(), key=lambda d: d["_id"]) for name in REBUILT}
    counts = rebuild(db)
    for name, before in live.items():
        after = sorted(db[name].find(), key=lambda d: d["_id"])
        differing = [b["_id"] for b, a in zip(before, after, strict=False) if a != b]
        assert len(after) == len(before) and not differing, (
            f"{name}: live {len(before)} documents, rebuilt {len(after)}; "
            f"first differing {differing[:3]}"
        )
    return counts
