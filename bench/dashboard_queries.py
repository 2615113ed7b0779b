"""`make bench` section: the dashboard's map, overview and event-log queries at the issue's size
(5,000 technicians, 1,000,000 check-ins), in a bench database of their own, dropped afterwards.

Loading a million documents into the local FerretDB (SQLite) takes long on a shared machine,
so the check-in count has a knob: `--scale` (or env BENCH_DASHBOARD_SCALE), default 1.0 = the
issue's size; technicians stay at 5,000 whatever the scale. The figures say which size they are.

    python -m bench.dashboard_queries --scale 0.05
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo.database import Database

from checkins.settings import Settings, get_settings
from dashboard import queries
from dashboard.eventlog import SEARCH_FIELDS
from dashboard.filters import Filters, mongo_filter, search_filter

TECHNICIANS = 5_000
CHECKINS = 1_000_000
BATCH = 5_000
SPAN = timedelta(days=7)
STATUSES = ("assigned", "onroute", "homecheckedin", "inprogress", "completed", "cancelled")
ZONE = "Asia/Bangkok"


def _checkin(i: int, now: datetime, total: int) -> dict[str, Any]:
    """Check-in i of `total`, spread evenly over the last 7 days (i = 0 is the newest)."""
    staff = f"tech{i % TECHNICIANS:04d}"
    lat = 13.55 + (i * 7919 % 4000) / 10_000
    lon = 100.35 + (i * 104729 % 4000) / 10_000
    at = now - SPAN * (i / total)
    return {
        "_id": str(uuid.UUID(int=i + 1)),
        "internetNo": f"88{i:08d}",
        "orderNo": f"ord{i // 5:07d}",
        "staffCode": staff,
        "jobStatus": STATUSES[i % len(STATUSES)],
        "checkinLatitude": lat,
        "checkinLongitude": lon,
        "checkinDate": at,
        "createdAt": at,
        "updatedAt": at,
        "location": {"type": "Point", "coordinates": [lon, lat]},
        "source": {"topic": "bench", "partition": i % 6, "offset": i // 6, "timestamp": at},
        "storedAt": at,
    }


def _technician(doc: dict[str, Any], count: int) -> dict[str, Any]:
    return {
        "_id": doc["staffCode"],
        "staffCode": doc["staffCode"],
        "eventId": doc["_id"],
        **{k: doc[k] for k in ("jobStatus", "orderNo", "internetNo", "checkinDate", "location")},
        "checkinLatitude": doc["checkinLatitude"],
        "checkinLongitude": doc["checkinLongitude"],
        "firstSeen": doc["checkinDate"] - SPAN,
        "lastSeen": doc["checkinDate"],
        "checkinCount": count,
        "updatedAt": doc["checkinDate"],
    }


def _order(doc: dict[str, Any]) -> dict[str, Any]:
    entry = {k: doc[k] for k in ("jobStatus", "staffCode", "checkinDate")}
    return {
        "_id": doc["orderNo"],
        "orderNo": doc["orderNo"],
        **{k: doc[k] for k in ("jobStatus", "staffCode", "internetNo", "checkinDate")},
        "history": [{"eventId": doc["_id"], **entry}],  # one entry: enough for the queries timed
        "updatedAt": doc["checkinDate"],
    }


def load(db: Database, checkins: int, now: datetime) -> dict[str, float]:
    """Fill the read models; returns how long each part took."""
    started = time.perf_counter()
    for first in range(0, checkins, BATCH):
        batch = [_checkin(i, now, checkins) for i in range(first, min(first + BATCH, checkins))]
        db.homecheckins.insert_many(batch, ordered=False)
    loaded_checkins = time.perf_counter() - started
    newest = [_checkin(i, now, checkins) for i in range(min(TECHNICIANS, checkins))]
    per_staff = max(1, checkins // TECHNICIANS)
    db.technicians.insert_many([_technician(d, per_staff) for d in newest], ordered=False)
    orders = {d["orderNo"]: d for d in (_checkin(i, now, checkins) for i in range(0, checkins, 5))}
    for first in range(0, len(orders), BATCH):
        chunk = list(orders.values())[first : first + BATCH]
        db.orders.insert_many([_order(d) for d in chunk], ordered=False)
    # The indexes a MongoDB server uses for these queries (FerretDB's SQLite backend keeps them
    # but scans for anything but _id, which is what the figures then show).
    db.homecheckins.create_index([("checkinDate", DESCENDING)])
    db.homecheckins.create_index([("staffCode", ASCENDING), ("checkinDate", DESCENDING)])
    db.homecheckins.create_index([("orderNo", ASCENDING)])
    db.technicians.create_index([("checkinDate", DESCENDING)])
    db.orders.create_index([("staffCode", ASCENDING), ("checkinDate", DESCENDING)])
    return {
        "load_checkins_s": round(loaded_checkins, 2),
        "load_checkins_per_s": round(checkins / loaded_checkins) if loaded_checkins else 0,
        "load_total_s": round(time.perf_counter() - started, 2),
    }


def _time(fn: Callable[[], Any], repeats: int) -> dict[str, Any]:
    runs, result = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        runs.append((time.perf_counter() - t) * 1000)
    rows = result[0] if isinstance(result, tuple) else result
    size = len(rows) if isinstance(rows, (list, dict)) else rows
    return {
        "median_ms": round(statistics.median(runs), 1),
        "max_ms": round(max(runs), 1),
        "result": size,
    }


def measure(
    db: Database, now: datetime, repeats: int, only: list[str] | None = None
) -> dict[str, dict[str, Any]]:
    def window(label: str, **extra) -> dict:
        return mongo_filter(Filters(window=label, **extra), now, ZONE)

    five_min = {"checkinDate": {"$gte": now - timedelta(minutes=5)}}
    cases: dict[str, Callable[[], Any]] = {
        "map latest positions, 24 h": lambda: queries.latest_positions(db, window("24 hours")),
        "map latest positions, 7 d": lambda: queries.latest_positions(db, window("7 days")),
        "map latest, status + staff search": lambda: queries.latest_positions(
            db, window("7 days", statuses=("onroute",), staff="tech00")
        ),
        "map all check-ins, 1 h": lambda: queries.checkins_in_window(db, window("1 hour")),
        "map all check-ins, 24 h (capped)": lambda: queries.checkins_in_window(
            db, window("24 hours")
        ),
        "refresh: events stored": lambda: queries.events_stored(db),
        "overview: check-in times, 30 min (5-min count + chart)": lambda: queries.checkin_times(
            db, now - timedelta(minutes=30)
        ),
        "count_documents, last 5 min (for comparison)": lambda: queries.count_checkins(
            db, five_min
        ),
        "overview: active technicians 15 min": lambda: queries.active_technicians(
            db, now - timedelta(minutes=15)
        ),
        "overview: technicians by status": lambda: queries.status_breakdown(db),
        "overview: orders by status": lambda: queries.orders_by_status(db),
        "event log: first page, 7 d": lambda: queries.event_page(db, window("7 days"), 0, 200),
        "event log: search orderNo": lambda: queries.event_page(
            db, {**window("7 days"), **search_filter("ord0000042", SEARCH_FIELDS)}, 0, 200
        ),
        "technician detail: recent check-ins": lambda: queries.recent_checkins_of(db, "tech0042"),
        "order timeline": lambda: queries.order_timeline(db, "ord0000042"),
    }
    chosen = {n: fn for n, fn in cases.items() if not only or any(o in n for o in only)}
    return {name: _time(fn, repeats) for name, fn in chosen.items()}


def run(
    settings: Settings,
    scale: float | None = None,
    repeats: int | None = None,
    only: list[str] | None = None,
) -> dict:
    scale = scale if scale is not None else float(os.environ.get("BENCH_DASHBOARD_SCALE", "1"))
    checkins = max(TECHNICIANS, int(CHECKINS * scale))
    repeats = repeats or (3 if checkins <= 200_000 else 1)
    client = MongoClient(settings.mongo_uri, tz_aware=True, socketTimeoutMS=3_600_000)
    db = client[f"bench_dashboard_{uuid.uuid4().hex[:8]}"]
    now = datetime.now(UTC)
    try:
        loading = load(db, checkins, now)
        limit, queries.TIME_LIMIT_MS = queries.TIME_LIMIT_MS, None  # time them whole
        try:
            figures = measure(db, now, repeats, only)
        finally:
            queries.TIME_LIMIT_MS = limit
    finally:
        client.drop_database(db.name)
        client.close()
    return {
        "size": {"technicians": TECHNICIANS, "checkins": checkins, "scale": scale},
        "caps": {"map points": queries.POINT_CAP, "technicians": queries.TECHNICIAN_CAP},
        "repeats": repeats,
        **loading,
        "queries": figures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=None, help="1.0 = 1,000,000 check-ins")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument(
        "--only", action="append", help="time only the queries whose name holds this (repeatable)"
    )
    args = parser.parse_args()
    print(json.dumps(run(get_settings(), args.scale, args.repeats, args.only), indent=2))


if __name__ == "__main__":
    main()
