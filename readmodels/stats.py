"""Orders by status, counted in the background so the overview never scans `orders`.

On the local store an aggregate over `orders` reads every document (~30 s at 200,000 orders).
The lag sampler (`dashboard/lag_sampler.py`, a running service) therefore recounts now and then
and keeps the result in one small document the overview reads by `_id`:

    dashboard_stats: {_id: "orders_by_status", counts: [{jobStatus, n}], orders, at, tookSeconds}

`at` is when the recount started (the counts are at least that fresh); `counts` is a list, not
a `{status: n}` map, because a status is user text and may hold "." or "$". How often:
`recount_due`, at most every MIN_INTERVAL_S and never sooner than COST_FACTOR times the last
recount's duration after it, so a slow count at a million events takes at most a tenth of a core.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.database import Database
from pymongo.errors import PyMongoError

from checkins.times import utc

COLLECTION = "dashboard_stats"
ORDERS_BY_STATUS = "orders_by_status"
MIN_INTERVAL_S = 60.0
COST_FACTOR = 10.0
CHECK_EVERY_S = 5.0  # how often the thread looks at the stats document's `at`

log = logging.getLogger("lag-sampler")


# -- pure ------------------------------------------------------------------------------------


def recount_wait(took_s: float, min_interval_s: float = MIN_INTERVAL_S) -> timedelta:
    """Time from one recount's start to the next: the floor, or COST_FACTOR times its cost."""
    return timedelta(seconds=max(min_interval_s, COST_FACTOR * max(took_s, 0.0)))


def recount_due(
    now: datetime,
    last: Mapping[str, Any] | None,
    min_interval_s: float = MIN_INTERVAL_S,
) -> bool:
    """Whether to recount, given the last stats document (None: never counted)."""
    if last is None or last.get("at") is None:
        return True
    wait = recount_wait(float(last.get("tookSeconds") or 0.0), min_interval_s)
    elapsed = utc(now) - utc(last["at"])
    # A clock set back by more than the wait would otherwise stop recounts until it catches up.
    return elapsed >= wait or elapsed < -wait


def stats_document(counts: Mapping[str, int], at: datetime, took_s: float) -> dict[str, Any]:
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return {
        "_id": ORDERS_BY_STATUS,
        "counts": [{"jobStatus": status, "n": n} for status, n in ordered],
        "orders": sum(counts.values()),
        "at": at,
        "tookSeconds": round(took_s, 3),
    }


def counts_of(doc: Mapping[str, Any]) -> dict[str, int]:
    return {str(c["jobStatus"]): int(c["n"]) for c in doc.get("counts", [])}


# -- MongoDB edge ----------------------------------------------------------------------------


def count_orders_by_status(db: Database, time_limit_ms: int | None = None) -> dict[str, int]:
    """The aggregate itself (a scan of `orders` on the local store)."""
    pipeline: list[dict[str, Any]] = [{"$group": {"_id": "$jobStatus", "n": {"$sum": 1}}}]
    options: dict[str, Any] = {"maxTimeMS": time_limit_ms} if time_limit_ms else {}
    return {str(d["_id"]): d["n"] for d in db.orders.aggregate(pipeline, **options)}


def read(db: Database) -> dict[str, Any] | None:
    return db[COLLECTION].find_one({"_id": ORDERS_BY_STATUS})


def recount(db: Database, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> dict:
    """Count now (no time limit: it may take long, in the background) and store the result."""
    at = clock().replace(microsecond=0)
    started = time.monotonic()
    counts = count_orders_by_status(db)
    doc = stats_document(counts, at, time.monotonic() - started)
    db[COLLECTION].replace_one({"_id": ORDERS_BY_STATUS}, doc, upsert=True)
    return doc


def recount_if_due(db: Database, min_interval_s: float = MIN_INTERVAL_S) -> dict | None:
    """One look at the stats document (an `_id` lookup), and a recount when it is due. The
    schedule lives in the store, so a restarted sampler does not recount early."""
    if recount_due(datetime.now(UTC), read(db), min_interval_s):
        return recount(db)
    return None


def keep_counting(db: Database, stop: threading.Event, min_interval_s: float) -> None:
    """The sampler's background thread: a slow recount never delays a lag sample."""
    while not stop.is_set():
        try:
            doc = recount_if_due(db, min_interval_s)
            if doc is not None:
                log.info("orders by status: %d orders in %.2f s", doc["orders"], doc["tookSeconds"])
        except PyMongoError as exc:  # the text may carry the URI's hosts: the type only
            log.warning("orders by status: MongoDB %s; retrying", type(exc).__name__)
        stop.wait(min(CHECK_EVERY_S, min_interval_s))
