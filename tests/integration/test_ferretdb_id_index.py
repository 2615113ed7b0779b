"""Our FerretDB server (stack/ferretdb/idindex.go) indexes the expression FerretDB looks `_id`
up with, so a find or update by `_id` is an SQLite index search, not a table scan."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pymongo import MongoClient

from checkins.settings import Settings
from stack.paths import StackDir
from tests.waiting import wait_for

# What FerretDB 1.24 sends to SQLite for `{_id: <string>}` (internal/backends/sqlite).
LOOKUP = "SELECT _ferretdb_sjson FROM {table} WHERE _ferretdb_sjson->'$._id' = ?"


def table_of(database: Path, collection: str) -> str:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        row = db.execute(
            "SELECT table_name FROM _ferretdb_collections WHERE name = ?", (collection,)
        ).fetchone()
    return row[0]


def plan(database: Path, table: str) -> str:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        rows = db.execute("EXPLAIN QUERY PLAN " + LOOKUP.format(table=f'"{table}"'), ("x",))
        return " ".join(str(r[-1]) for r in rows)


def test_a_new_collection_gets_the_id_lookup_index(isolated: Settings, mongo: MongoClient):
    db = mongo[isolated.mongodb_database]
    db.widgets.insert_one({"_id": "w1", "size": 3})
    database = StackDir.from_setting(isolated.stack_dir).data("mongo") / f"{db.name}.sqlite"
    table = table_of(database, "widgets")

    wait_for(lambda: "USING INDEX" in plan(database, table), 10, "the _id lookup index")
    assert f"{table}__id_lookup" in plan(database, table)
    # and FerretDB still answers by _id as before
    db.widgets.replace_one({"_id": "w1"}, {"size": 4})
    assert db.widgets.find_one({"_id": "w1"}) == {"_id": "w1", "size": 4}
