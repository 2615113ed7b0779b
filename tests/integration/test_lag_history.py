"""The lag history in the real store: indexes, write/read by group and time, pruning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor import history
from monitor.offsets import GroupSnapshot, PartitionOffsets
from tests.conftest import unique


@pytest.fixture
def db(mongo):
    database = mongo[unique("lag_history")]
    yield database
    mongo.drop_database(database.name)


def snap(group: str, at: datetime, committed: int) -> GroupSnapshot:
    row = PartitionOffsets("t", 0, 0, 100, committed, "c1", "/10.0.0.1")
    return GroupSnapshot(group, at.timestamp(), "STABLE", 1, "range", (row,))


def test_samples_come_back_by_group_oldest_first_within_the_window(db):
    now = datetime.now(UTC).replace(microsecond=0)
    ttl = history.ensure_indexes(db)  # False on FerretDB 1.24 (no TTL): pruned instead
    names = {i["name"] for i in history.collection(db).list_indexes()}
    assert "group_at" in names and (("ttl_at" in names) is ttl)

    history.record(
        db,
        [
            snap("g", now - timedelta(seconds=10), 90),
            snap("g", now - timedelta(seconds=600), 10),
            snap("other", now - timedelta(seconds=5), 1),
            snap("g", now - timedelta(seconds=20), 80),
        ],
    )
    got = history.recent(db, "g", 300, now=now)
    assert [s.partitions[0].committed for s in got] == [80, 90]
    assert got[-1] == snap("g", now - timedelta(seconds=10), 90)


def test_prune_drops_what_is_older_than_the_retention(db):
    now = datetime.now(UTC)
    history.record(
        db, [snap("g", now - timedelta(hours=2), 1), snap("g", now - timedelta(minutes=1), 2)]
    )
    assert history.prune(db, retention=3600, now=now) == 1
    assert [s.partitions[0].committed for s in history.recent(db, "g", 86400)] == [2]


def test_ensure_indexes_twice_is_harmless(db):
    first = history.ensure_indexes(db)
    assert history.ensure_indexes(db) == first
