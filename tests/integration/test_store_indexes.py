"""Secondary indexes on the local store (FerretDB 1.24): it uses none of them for a query, so the
read models make none there; where they are made (a real MongoDB, or the bench's comparison)
they are made one at a time, which the store survives when they already exist."""

from __future__ import annotations

import pytest

from readmodels import events, store, technicians
from tests.conftest import unique


@pytest.fixture
def db(mongo):
    database = mongo[unique("indexes")]
    yield database
    mongo.drop_database(database.name)


def test_the_local_store_is_known_not_to_use_secondary_indexes(db):
    assert store.uses_secondary_indexes(db) is False
    store.ensure_indexes(db, {events.COLLECTION: events.INDEXES})
    db[events.COLLECTION].insert_one({"_id": "e1"})
    assert [i["name"] for i in db[events.COLLECTION].list_indexes()] == ["_id_"]


def test_creating_indexes_twice_leaves_each_once_and_the_connection_up(db):
    wanted = {events.COLLECTION: events.INDEXES, technicians.COLLECTION: technicians.INDEXES}
    store.create_indexes(db, wanted)
    store.create_indexes(db, wanted)  # several that exist: one createIndexes each, no panic
    for name, models in wanted.items():
        names = [i["name"] for i in db[name].list_indexes()]
        assert sorted(names) == sorted(["_id_", *(m.document["name"] for m in models)])
    assert db.command("ping")["ok"] == 1
