"""When the lag sampler recounts the orders by status, and the stats document's shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from readmodels.stats import (
    COST_FACTOR,
    MIN_INTERVAL_S,
    counts_of,
    recount_due,
    recount_wait,
    stats_document,
)

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def last(took: float, at: datetime = T0) -> dict:
    return {"at": at, "tookSeconds": took}


def test_the_first_recount_is_due_at_once():
    assert recount_due(T0, None)
    assert recount_due(T0, {"counts": []})  # a document without `at`: counted again


def test_a_fast_recount_repeats_every_minute_and_no_sooner():
    assert recount_wait(0.2) == timedelta(seconds=MIN_INTERVAL_S)
    assert not recount_due(T0 + timedelta(seconds=59), last(0.2))
    assert recount_due(T0 + timedelta(seconds=60), last(0.2))


def test_a_slow_recount_waits_ten_times_its_duration():
    assert COST_FACTOR == 10
    assert recount_wait(30) == timedelta(seconds=300)  # ~200,000 orders on the local store
    assert not recount_due(T0 + timedelta(seconds=299), last(30))
    assert recount_due(T0 + timedelta(seconds=300), last(30))


def test_the_floor_can_be_lowered_but_the_cost_rule_still_holds():
    assert recount_due(T0 + timedelta(seconds=1), last(0.05), min_interval_s=1)
    assert not recount_due(T0 + timedelta(seconds=1), last(2), min_interval_s=1)


def test_a_clock_set_far_back_does_not_stop_recounts():
    assert not recount_due(T0 - timedelta(seconds=30), last(0.1))  # small skew: wait
    assert recount_due(T0 - timedelta(hours=2), last(0.1))


def test_naive_dates_from_a_client_without_tz_aware_are_utc():
    assert recount_due(T0 + timedelta(minutes=2), last(0.1, at=T0.replace(tzinfo=None)))


def test_the_stats_document_keeps_statuses_as_values_not_keys():
    doc = stats_document({"completed": 7, "a.b$c": 1, "onroute": 7}, T0, 1.23456)
    assert doc["counts"] == [
        {"jobStatus": "completed", "n": 7},
        {"jobStatus": "onroute", "n": 7},
        {"jobStatus": "a.b$c", "n": 1},
    ]
    assert (doc["_id"], doc["orders"], doc["at"], doc["tookSeconds"]) == (
        "orders_by_status",
        15,
        T0,
        1.235,
    )
    assert counts_of(doc) == {"completed": 7, "onroute": 7, "a.b$c": 1}
