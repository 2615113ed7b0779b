"""The timeline read model on the real store: what the consumers' write path stores is what the
dashboard's time-window reads return, after redeliveries and after a crash between two writes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import MongoClient

from consumers import rebuild, store
from readmodels import timeline
from tests.readmodels import checkin

NOW = datetime.now(UTC).replace(microsecond=0)
STATUSES = ("assigned", "onroute", "inprogress", "completed")


def checkins(count: int, seed: int, hours: float = 3.0) -> list[dict]:
    rng = random.Random(seed)
    docs = []
    for i in range(count):
        doc = checkin(
            f"tech{rng.randrange(40):02d}",
            at=NOW - timedelta(seconds=rng.uniform(0, hours * 3600)),
            status=rng.choice(STATUSES),
            order=f"ord{rng.randrange(300):04d}",
            event_id=f"{seed}-{i:05d}",
        )
        doc["source"]["partition"] = rng.randrange(3)
        docs.append(doc)
    return docs


@pytest.fixture
def db(isolated, mongo: MongoClient):
    return mongo[isolated.mongodb_database]


def in_window(db, start, end) -> list[str]:
    rows = db.homecheckins.find({"checkinDate": {"$gte": start, "$lte": end}}, {"_id": 1})
    return sorted(r["_id"] for r in rows)


def per_minute_from_events(db, start, end) -> dict[datetime, int]:
    counts: dict[datetime, int] = {}
    for row in db.homecheckins.find({"checkinDate": {"$gte": start, "$lte": end}}):
        minute = row["checkinDate"].replace(second=0, microsecond=0)
        counts[minute] = counts.get(minute, 0) + 1
    return counts


def assert_timeline_matches_events(db) -> None:
    for start in (NOW - timedelta(minutes=20), NOW - timedelta(hours=2), NOW - timedelta(days=1)):
        rows, capped = timeline.window_points(db, start, NOW, cap=100_000)
        assert not capped
        assert sorted(r["_id"] for r in rows) == in_window(db, start, NOW)
    start = NOW.replace(second=0) - timedelta(minutes=90)
    counts = timeline.minute_counts(db, start, NOW)
    assert {m: c["n"] for m, c in counts.items()} == per_minute_from_events(db, start, NOW)


def test_the_write_path_fills_the_timeline_the_reads_return(db):
    docs = checkins(3000, seed=1)
    for first in range(0, len(docs), 700):
        store.write_batch(db, docs[first : first + 700])
    assert_timeline_matches_events(db)

    rows, capped = timeline.window_points(db, NOW - timedelta(hours=4), NOW, cap=50)
    assert capped and len(rows) == 50
    newest = sorted(docs, key=lambda d: (d["checkinDate"], d["_id"]), reverse=True)[:50]
    assert [r["_id"] for r in rows] == [d["_id"] for d in newest]
    assert rows[0]["staffCode"] == newest[0]["staffCode"]
    assert rows[0]["checkinDate"] == newest[0]["checkinDate"]


def test_a_redelivered_batch_changes_nothing(db):
    docs = checkins(1200, seed=2)
    store.write_batch(db, docs[:800])
    store.write_batch(db, docs[800:])
    pages_before = list(db[timeline.HOURS].find().sort("_id"))
    days_before = list(db[timeline.DAYS].find().sort("_id"))

    store.write_batch(db, docs[400:1000])  # redelivery across two earlier batches

    assert list(db[timeline.HOURS].find().sort("_id")) == pages_before
    assert list(db[timeline.DAYS].find().sort("_id")) == days_before
    assert_timeline_matches_events(db)


def test_a_crash_between_the_page_and_the_day_writes_heals_on_redelivery(db):
    docs = checkins(1500, seed=3)
    store.write_batch(db, docs[:1000])
    days_before = {d["_id"]: d for d in db[timeline.DAYS].find()}

    store.write_batch(db, docs[1000:])
    for day_id, doc in days_before.items():  # the crash: pages written, day documents not
        db[timeline.DAYS].replace_one({"_id": day_id}, doc)
    counted = timeline.minute_counts(db, NOW - timedelta(days=1), NOW)
    assert sum(c["n"] for c in counted.values()) == 1000  # the day documents lag behind

    store.write_batch(db, docs[1000:])  # Kafka redelivers the uncommitted batch
    assert_timeline_matches_events(db)


def test_rebuild_gives_the_timeline_the_live_path_wrote(db):
    docs = checkins(1500, seed=4)
    for first in range(0, len(docs), 500):
        store.write_batch(db, docs[first : first + 500])
    live = timeline.window_points(db, NOW - timedelta(days=1), NOW, cap=100_000)[0]

    for name in (timeline.HOURS, timeline.DAYS, timeline.PARTITIONS):
        db.drop_collection(name)
    rebuild.rebuild(db)

    rebuilt = timeline.window_points(db, NOW - timedelta(days=1), NOW, cap=100_000)[0]
    assert rebuilt == live
    assert_timeline_matches_events(db)
