"""Several consumer workers write to the store at once and every batch lands.

FerretDB 1.24 holds a SQLite connection per statement of an `update` command until the command
ends (100 per database): three workers sending bulks of 50 updates each froze it for good. The
store sends smaller bulks; this test runs four writers whose batches update shared orders."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta

from pymongo import MongoClient
from pymongo.errors import PyMongoError
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from consumers import store
from tests.readmodels import checkin

WRITERS = 4
BATCHES = 4
BATCH = 300


def batch(writer: int, number: int, rng: random.Random) -> list[dict]:
    now = datetime.now(UTC)
    docs = []
    for i in range(BATCH):
        doc = checkin(
            f"w{writer}-tech{rng.randrange(40)}",
            at=now - timedelta(seconds=rng.uniform(0, 600)),
            order=f"ord{rng.randrange(400)}",  # shared by every writer: updates in every batch
            event_id=f"w{writer}-b{number}-{i}",
        )
        doc["source"]["partition"] = writer
        docs.append(doc)
    return docs


def test_four_workers_writing_at_once_all_land(isolated, mongo: MongoClient):
    failures: list[BaseException] = []

    def work(writer: int) -> None:
        client = store.connect(isolated)
        rng = random.Random(writer)
        try:
            db = client[isolated.mongodb_database]
            for number in range(BATCHES):
                docs = batch(writer, number, rng)
                for attempt in Retrying(
                    retry=retry_if_exception_type(PyMongoError), stop=stop_after_attempt(5)
                ):  # as the consumer loop does: two writers may create the same order at once
                    with attempt:
                        store.write_batch(db, docs)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 300
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))

    assert not [t for t in threads if t.is_alive()], "a writer is still waiting on the store"
    assert failures == []
    db = mongo[isolated.mongodb_database]
    assert db.homecheckins.count_documents({}) == WRITERS * BATCHES * BATCH
    counted = sum(t["checkinCount"] for t in db.technicians.find({}, {"checkinCount": 1}))
    assert counted == WRITERS * BATCHES * BATCH
