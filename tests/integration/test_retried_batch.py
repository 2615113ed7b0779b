"""A batch whose write fails after its check-ins were inserted is retried (the consumer loop
does, with one `Attempts` per batch) and every technician's count stays exact, without counting
check-ins in `homecheckins` (a scan of the whole collection on FerretDB: under the soak each
`database is locked` retry scanned it and stalled every worker for minutes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pymongo.collection import Collection
from pymongo.errors import OperationFailure

from consumers import store
from consumers.rebuild import rebuild
from readmodels import events, technicians
from tests.readmodels import checkin

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
MANY = technicians.RECENT_LIMIT + 10  # more than `recent` keeps: it alone cannot tell


def the_batch() -> list[dict]:
    docs = [
        checkin("busy", at=T0 + timedelta(seconds=i), event_id=f"busy-{i}") for i in range(MANY)
    ]
    return docs + [checkin("calm", at=T0, event_id="calm-0")]


@pytest.fixture
def counted_scans(monkeypatch) -> list[set[str]]:
    """The staffCodes each count in `homecheckins` asked for (an empty ask costs nothing)."""
    asks: list[set[str]] = []
    real = events.staff_counts

    def spy(db, staff):
        if staff:
            asks.append(set(staff))
        return real(db, staff)

    monkeypatch.setattr(events, "staff_counts", spy)
    return asks


def fail_once(monkeypatch, module, name: str, collection: str | None = None) -> list[int]:
    calls: list[int] = []
    real = getattr(module, name)

    def flaky(db, *args, **kwargs):
        if not calls and (collection is None or args[0] == collection):
            calls.append(1)
            raise OperationFailure("database is locked (5) (SQLITE_BUSY)")
        return real(db, *args, **kwargs)

    monkeypatch.setattr(module, name, flaky)
    return calls


def retried(db, docs) -> None:
    tried = store.Attempts()
    with pytest.raises(OperationFailure):
        store.write_batch(db, docs, tried)
    store.write_batch(db, docs, tried)


def counts(db) -> dict[str, int]:
    return {d["_id"]: d["checkinCount"] for d in db[technicians.COLLECTION].find()}


def test_a_retry_after_the_technicians_were_written_counts_nothing_twice(
    isolated, mongo, monkeypatch, counted_scans
):
    db = mongo[isolated.mongodb_database]
    failed = fail_once(monkeypatch, store.timeline, "write_timeline")  # the last step
    retried(db, the_batch())
    assert failed and counts(db) == {"busy": MANY, "calm": 1}
    assert counted_scans == []


def test_a_retry_after_the_technicians_write_failed_counts_every_checkin_once(
    isolated, mongo, monkeypatch, counted_scans
):
    db = mongo[isolated.mongodb_database]
    failed = fail_once(monkeypatch, store.store, "save", technicians.COLLECTION)
    retried(db, the_batch())
    assert failed and counts(db) == {"busy": MANY, "calm": 1}
    assert counted_scans == []


def test_a_later_redelivery_still_counts_in_the_store_what_recent_cannot_tell(
    isolated, mongo, counted_scans
):
    db = mongo[isolated.mongodb_database]
    store.write_batch(db, the_batch())
    store.write_batch(db, the_batch())  # after a crash: a new consumer, no Attempts carried
    assert counts(db) == {"busy": MANY, "calm": 1}
    assert counted_scans == [{"busy"}]  # its oldest check-ins fell out of `recent`; calm's did not


def test_a_rebuild_whose_writes_are_refused_once_still_rebuilds_everything(
    isolated, mongo, monkeypatch
):
    """The rebuild's writes meet the same refusals (a truncation holding the lock) and retry."""
    db = mongo[isolated.mongodb_database]
    store.write_batch(db, the_batch())
    before = counts(db)
    refused: list[str] = []
    real = Collection.insert_many

    def refuse_each_once(self, docs, *args, **kwargs):
        if self.name.endswith("__rebuild") and self.name not in refused:
            refused.append(self.name)
            real(self, list(docs)[:1], *args, **kwargs)  # a part went in before the refusal
            raise OperationFailure("database is locked (5) (SQLITE_BUSY)")
        return real(self, docs, *args, **kwargs)

    monkeypatch.setattr(Collection, "insert_many", refuse_each_once)
    rebuild(db)
    assert refused and "technicians__rebuild" in refused
    assert counts(db) == before
    assert not [n for n in db.list_collection_names() if n.endswith("__rebuild")]
