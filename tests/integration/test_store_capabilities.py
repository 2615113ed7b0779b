"""What the project relies on from the MongoDB-compatible server, proven with pymongo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pymongo import ASCENDING, DESCENDING, InsertOne, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from tests.conftest import unique


@pytest.fixture
def coll(mongo):
    db = mongo[unique("capabilities")]
    yield db["things"]
    mongo.drop_database(db.name)


def test_insert_find_with_filters_sort_and_limit(coll):
    base = datetime(2026, 1, 1, tzinfo=UTC)
    coll.insert_many(
        [{"_id": i, "staff": f"s{i % 3}", "at": base + timedelta(minutes=i)} for i in range(10)]
    )
    found = list(
        coll.find({"staff": "s1", "at": {"$gte": base + timedelta(minutes=2)}})
        .sort("at", DESCENDING)
        .limit(2)
    )
    assert [d["_id"] for d in found] == [7, 4]
    assert found[0]["at"] == base + timedelta(minutes=7)


def test_unique_index_rejects_a_duplicate(coll):
    coll.create_index([("code", ASCENDING)], unique=True)
    coll.insert_one({"code": "a"})
    with pytest.raises(DuplicateKeyError):
        coll.insert_one({"code": "a"})
    assert coll.count_documents({}) == 1


def test_upsert_inserts_then_updates(coll):
    coll.update_one({"_id": "t1"}, {"$set": {"n": 1}, "$setOnInsert": {"first": 1}}, upsert=True)
    coll.update_one({"_id": "t1"}, {"$set": {"n": 2}, "$setOnInsert": {"first": 2}}, upsert=True)
    assert coll.find_one({"_id": "t1"}) == {"_id": "t1", "n": 2, "first": 1}


def test_unordered_bulk_write_applies_the_good_and_reports_the_duplicate(coll):
    coll.insert_one({"_id": 1})
    ops = [
        InsertOne({"_id": 1}),
        InsertOne({"_id": 2}),
        UpdateOne({"_id": 3}, {"$set": {"x": 1}}, upsert=True),
    ]
    with pytest.raises(BulkWriteError) as err:
        coll.bulk_write(ops, ordered=False)
    assert [e["code"] for e in err.value.details["writeErrors"]] == [11000]
    assert sorted(d["_id"] for d in coll.find()) == [1, 2, 3]


def test_match_group_sort_aggregation(coll):
    coll.insert_many([{"status": s} for s in ["done", "done", "open", "done", "open", "late"]])
    result = list(
        coll.aggregate(
            [
                {"$match": {"status": {"$ne": "late"}}},
                {"$group": {"_id": "$status", "count": {"$sum": 1}}},
                {"$sort": {"count": -1}},
            ]
        )
    )
    assert result == [{"_id": "done", "count": 3}, {"_id": "open", "count": 2}]
