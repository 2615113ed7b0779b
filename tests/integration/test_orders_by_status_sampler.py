"""Orders by status without a scan per page view: the lag sampler (the real service, as a
subprocess) recounts `orders` into `dashboard_stats`, and the overview's query reads that."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

from readmodels import orders, stats
from tests.readmodels import checkin, write_checkins
from tests.subprocesses import env_for, halt, spawn
from tests.waiting import wait_for


def seed_orders(db, now: datetime, statuses: dict[str, str], minutes: int = 0) -> None:
    """One check-in per order, `minutes` after `now`, by the consumers' write path."""
    at = now + timedelta(minutes=minutes)
    write_checkins(
        db, [checkin(f"staff-{o}", at=at, status=s, order=o) for o, s in statuses.items()]
    )


def test_the_sampler_recounts_orders_by_status_and_the_query_reads_its_count(
    isolated, mongo, tmp_path
):
    db = mongo[isolated.mongodb_database]
    now = datetime.now(UTC) - timedelta(hours=1)
    # A status is user text: "." and "$" must not break the stats document (no status keys).
    seed_orders(db, now, {"o1": "onroute", "o2": "onroute", "o3": "completed", "o4": "a.b$c"})
    assert orders.orders_by_status(db) == (
        {"onroute": 2, "completed": 1, "a.b$c": 1},
        None,  # no sampler yet: the live aggregate, "now"
    )
    command = [sys.executable, "-m", "monitor.sampler", "--interval", "1"]
    sampler = spawn([*command, "--orders-every", "1"], env_for(isolated), tmp_path / "s.log")
    try:
        first = wait_for(lambda: stats.read(db), 60, "the first recount")
        assert stats.counts_of(first) == {"onroute": 2, "completed": 1, "a.b$c": 1}
        assert first["orders"] == 4 and first["tookSeconds"] >= 0
        # o1 completes, o2 is cancelled, a new order starts: the next recount follows.
        seed_orders(db, now, {"o1": "completed", "o2": "cancelled", "o5": "onroute"}, minutes=5)
        expected = {"completed": 2, "cancelled": 1, "onroute": 1, "a.b$c": 1}
        latest = wait_for(
            lambda: (d := stats.read(db)) and stats.counts_of(d) == expected and d,
            60,
            "a recount with the new statuses",
        )
    finally:
        halt(sampler)
    assert latest["at"] > first["at"]
    # The overview's query now reads the stats document, even when `orders` moved on since.
    seed_orders(db, now, {"o6": "onroute"}, minutes=6)
    counts, as_of = orders.orders_by_status(db)
    assert (counts, as_of) == (expected, latest["at"])


def test_a_recount_is_written_where_the_overview_reads_it(isolated, mongo):
    db = mongo[isolated.mongodb_database]
    seed_orders(db, datetime.now(UTC), {f"x{i}": ("onroute", "completed")[i % 2] for i in range(7)})
    doc = stats.recount(db)
    assert db[stats.COLLECTION].find_one({"_id": "orders_by_status"}) == doc
    assert orders.orders_by_status(db) == ({"onroute": 4, "completed": 3}, doc["at"])
    # Due again only after the floor (the count itself took well under 6 s).
    assert stats.recount_if_due(db) is None
