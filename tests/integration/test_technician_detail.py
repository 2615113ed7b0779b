"""The map's technician detail against the real store: recent check-ins and orders come from
the technician's own document (its `recent`/`recentOrders`, written by the consumers' write
path), and a rebuild from `homecheckins` gives the same documents."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from pymongo import MongoClient, monitoring

from consumers import rebuild
from readmodels import orders, technicians
from tests.readmodels import checkin, write_checkins

STATUSES = ("onroute", "homecheckedin", "inprogress", "completed")


class Finds(monitoring.CommandListener):
    """The (collection, filter) of every find and aggregate this client sends."""

    def __init__(self):
        self.seen: list[tuple[str, object]] = []

    def started(self, event):
        if event.command_name in ("find", "aggregate", "count"):
            command = event.command
            what = command.get("filter", command.get("pipeline", command.get("query")))
            self.seen.append((command[event.command_name], what))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def history(staff: str, count: int, now: datetime) -> list[dict]:
    """`count` check-ins of one technician a minute apart (i = 0 the newest), 3 per order."""
    return [
        checkin(
            staff,
            at=now - timedelta(minutes=i),
            status=STATUSES[i % len(STATUSES)],
            order=f"{staff}-order-{i // 3}",
            lat=13.7 + i / 1000,
        )
        for i in range(count)
    ]


def test_technician_detail_reads_the_latest_checkins_and_orders_from_its_document(isolated, mongo):
    db = mongo[isolated.mongodb_database]
    now = datetime.now(UTC).replace(microsecond=0)
    mine, other = history("tech-a", 45, now), history("tech-b", 5, now)
    shuffled = mine + other
    random.Random(7).shuffle(shuffled)
    for start in range(0, len(shuffled), 8):  # batches in any order, as consumers see them
        write_checkins(db, shuffled[start : start + 8])

    recent = technicians.recent_checkins_of(db, "tech-a")
    assert [r["_id"] for r in recent] == [d["_id"] for d in mine[:20]]
    keys = ("jobStatus", "orderNo", "internetNo", "checkinLatitude", "checkinLongitude")
    for row, event in zip(recent, mine, strict=False):
        assert {k: row[k] for k in keys} == {k: event[k] for k in keys}
        assert row["checkinDate"] == event["checkinDate"] and row["staffCode"] == "tech-a"
    assert len(technicians.recent_checkins_of(db, "tech-a", limit=10)) == 10

    # 45 check-ins on 15 orders: the 15 orders, the most recently visited first, as stored.
    found = orders.orders_of(db, "tech-a")
    assert [o["orderNo"] for o in found] == [f"tech-a-order-{n}" for n in range(15)]
    assert found[0] == {
        k: v for k, v in db.orders.find_one({"_id": "tech-a-order-0"}).items() if k != "history"
    }
    assert technicians.recent_checkins_of(db, "nobody") == [] and orders.orders_of(db, "x") == []

    # Only lookups that are exactly {_id: <string>}: the one filter the local store indexes.
    finds = Finds()
    watched = MongoClient(isolated.mongo_uri, tz_aware=True, event_listeners=[finds])
    try:
        watched_db = watched[isolated.mongodb_database]
        assert technicians.recent_checkins_of(watched_db, "tech-a", limit=10) == recent[:10]
        assert orders.orders_of(watched_db, "tech-a", limit=3) == found[:3]
    finally:
        watched.close()
    assert finds.seen == [
        ("technicians", {"_id": "tech-a"}),
        ("technicians", {"_id": "tech-a"}),
        ("orders", {"_id": "tech-a-order-0"}),
        ("orders", {"_id": "tech-a-order-1"}),
        ("orders", {"_id": "tech-a-order-2"}),
    ]

    live = sorted(db.technicians.find(), key=lambda d: d["_id"])
    rebuild.rebuild(db)
    assert sorted(db.technicians.find(), key=lambda d: d["_id"]) == live
    assert [r["_id"] for r in technicians.recent_checkins_of(db, "tech-b")] == [
        d["_id"] for d in other
    ]


def test_an_order_moved_to_another_technician_still_shows_in_its_former_technicians_list(
    isolated, mongo
):
    """recentOrders are the orders the technician checked in on; each shows its current state."""
    db = mongo[isolated.mongodb_database]
    now = datetime.now(UTC).replace(microsecond=0)
    write_checkins(db, [checkin("tech-a", at=now - timedelta(minutes=9), order="o-1")])
    write_checkins(db, [checkin("tech-b", at=now, order="o-1", status="completed")])
    [order] = orders.orders_of(db, "tech-a")
    assert (order["orderNo"], order["staffCode"], order["jobStatus"]) == (
        "o-1",
        "tech-b",
        "completed",
    )


def test_order_timeline_reads_the_order_document_and_its_events_only_without_one(isolated, mongo):
    db = mongo[isolated.mongodb_database]
    now = datetime.now(UTC).replace(microsecond=0)
    events = [
        checkin("t", at=now - timedelta(minutes=2), order="o-9", status="onroute"),
        checkin("t", at=now, order="o-9", status="completed"),
    ]
    write_checkins(db, events)
    assert [h["jobStatus"] for h in orders.order_timeline(db, "o-9")] == ["onroute", "completed"]
    db.orders.delete_one({"_id": "o-9"})  # no order document: the events still tell the story
    fallback = orders.order_timeline(db, "o-9")
    assert [(h["eventId"], h["jobStatus"]) for h in fallback] == [
        (events[0]["_id"], "onroute"),
        (events[1]["_id"], "completed"),
    ]
