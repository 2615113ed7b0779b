"""`make bench` section: the dashboard's map, overview and event-log queries at the issue's size
(5,000 technicians, 1,000,000 check-ins), in a bench database of their own, dropped afterwards.

The check-ins are stored twice, as the consumers store them: `homecheckins` (the events) and the
timeline read model (readmodels/timeline.py) that the time-window views read. The timeline is
built here with the model's own pure functions, hour by hour, and inserted in bulk (the consumers'
page-by-page writes would take far longer to seed a million).

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

from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database

from checkins.clients import mongo_client
from checkins.settings import Settings, get_settings
from dashboard.eventlog import SEARCH_FIELDS, page_cap
from dashboard.filters import (
    Filters,
    mongo_filter,
    point_predicate,
    search_predicate,
    window_bounds,
)
from readmodels import events, orders, stats, store, technicians, timeline
from readmodels.technicians import RECENT_LIMIT, recent_fields

TECHNICIANS = 5_000
CHECKINS = 1_000_000
BATCH = 5_000
LEGACY_UP_TO = 200_000  # the homecheckins scan for comparison only up to this size (minutes at 1M)
EVENT_PAGE = 200  # pages/events.py PAGE_SIZE
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


def _latest_of(i: int, now: datetime, total: int) -> list[dict[str, Any]]:
    """The latest RECENT_LIMIT check-ins of check-in i's technician (i < TECHNICIANS)."""
    stop = min(total, i + RECENT_LIMIT * TECHNICIANS)
    return [_checkin(j, now, total) for j in range(i, stop, TECHNICIANS)]


def _technician(doc: dict[str, Any], count: int, latest: list[dict[str, Any]]) -> dict[str, Any]:
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
        **recent_fields(None, latest),  # `recent`, `recentOrders`, as the consumers keep them
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


class TimelineSeed:
    """Builds the timeline documents while the check-ins are generated newest first: an hour is
    written once the generator has gone past it, so only an hour or two is held in memory."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.open: dict[tuple[datetime, int], list[dict[str, Any]]] = {}
        self.days: dict[str, dict[str, Any]] = {}
        self.pages = 0

    def add(self, batch: list[dict[str, Any]]) -> None:
        for (_, partition), hours in timeline.group_by_hour(batch).items():
            for hour, docs in hours.items():
                self.open.setdefault((hour, partition), []).extend(docs)
        oldest = timeline.hour_of(min(d["checkinDate"] for d in batch))
        self._write([key for key in self.open if key[0] > oldest])  # no older check-in left

    def finish(self) -> None:
        self._write(list(self.open))
        days = [timeline.store_day(d) for d in self.days.values()]
        self.db[timeline.DAYS].insert_many(days, ordered=False)
        partitions = sorted({d["partition"] for d in self.days.values()})
        self.db[timeline.PARTITIONS].insert_many([{"_id": p} for p in partitions])

    def _write(self, keys: list[tuple[datetime, int]]) -> None:
        docs = []
        for hour, partition in sorted(keys):
            pages = timeline.merge_pages([], self.open.pop((hour, partition))).pages
            docs += [
                {
                    "_id": timeline.page_id(hour, partition, number),
                    "hour": hour,
                    "partition": partition,
                    "page": number,
                    "points": timeline.encode_page(points),
                }
                for number, points in enumerate(pages)
            ]
            day = timeline.day_of(hour)
            key = timeline.day_id(day, partition)
            before = self.days.get(key) or timeline.new_day(day, partition)
            self.days[key] = timeline.summarize_hour(before, hour, pages)
        if docs:
            self.db[timeline.HOURS].insert_many(docs, ordered=False)
            self.pages += len(docs)


def load(db: Database, checkins: int, now: datetime) -> dict[str, Any]:
    """Fill the read models; returns how long each part took."""
    started = time.perf_counter()
    for first in range(0, checkins, BATCH):
        batch = [_checkin(i, now, checkins) for i in range(first, min(first + BATCH, checkins))]
        db.homecheckins.insert_many(batch, ordered=False)
    loaded_checkins = time.perf_counter() - started
    began = time.perf_counter()
    seed = TimelineSeed(db)
    for first in range(0, checkins, BATCH):
        seed.add([_checkin(i, now, checkins) for i in range(first, min(first + BATCH, checkins))])
    seed.finish()
    loaded_timeline = time.perf_counter() - began
    newest = [_checkin(i, now, checkins) for i in range(min(TECHNICIANS, checkins))]
    per_staff = max(1, checkins // TECHNICIANS)
    db.technicians.insert_many(
        [_technician(d, per_staff, _latest_of(i, now, checkins)) for i, d in enumerate(newest)],
        ordered=False,
    )
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
        "load_timeline_s": round(loaded_timeline, 2),
        "timeline_documents": {"hour pages": seed.pages, "days": len(seed.days)},
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
    db: Database, now: datetime, repeats: int, only: list[str] | None = None, legacy: bool = False
) -> dict[str, dict[str, Any]]:
    def window(label: str, **extra) -> dict:
        return mongo_filter(Filters(window=label, **extra), now, ZONE)

    def points(label: str, keep=None, cap: int | None = None):
        """What the map and the event log read: the timeline's points of the window."""
        start, end = window_bounds(Filters(window=label), now, ZONE)
        return timeline.window_points(db, start, end, keep, cap)

    def last_minutes(minutes: int) -> dict:
        return timeline.minute_counts(db, now - timedelta(minutes=minutes), now)

    onroute = point_predicate(Filters(statuses=("onroute",)))
    cases: dict[str, Callable[[], Any]] = {
        "map latest positions, 24 h": lambda: technicians.latest_positions(db, window("24 hours")),
        "map latest positions, 7 d": lambda: technicians.latest_positions(db, window("7 days")),
        "map latest, status + staff search": lambda: technicians.latest_positions(
            db, window("7 days", statuses=("onroute",), staff="tech00")
        ),
        "map all check-ins, 1 h": lambda: points("1 hour"),
        "map all check-ins, 24 h (capped)": lambda: points("24 hours"),
        "map all check-ins, 7 d, jobStatus onroute (capped)": lambda: points("7 days", onroute),
        "refresh: events stored": lambda: events.events_stored(db),
        "overview: per-minute counts, 30 min (chart)": lambda: last_minutes(30),
        "overview: per-minute counts, last 5 min": lambda: last_minutes(5),
        "overview: active technicians 15 min": lambda: technicians.active_since(
            db, now - timedelta(minutes=15)
        ),
        "overview: technicians by status": lambda: technicians.status_breakdown(db),
        # Live first (no stats document yet), then the sampler's recount writes one, then the
        # overview's read of it.
        "orders by status: live aggregate": lambda: stats.count_orders_by_status(db),
        "orders by status: the sampler's recount": lambda: stats.recount(db)["counts"],
        "overview: orders by status": lambda: orders.orders_by_status(db),
        "event log: first page, 7 d": lambda: points("7 days", cap=page_cap(0, EVENT_PAGE)),
        "event log: search orderNo, 7 d": lambda: points(
            "7 days",
            search_predicate("ord0000042", SEARCH_FIELDS),
            cap=page_cap(0, EVENT_PAGE),
        ),
        "event log: search matching nothing, 7 d (read limit)": lambda: points(
            "7 days", search_predicate("no such order", SEARCH_FIELDS), cap=page_cap(0, EVENT_PAGE)
        ),
        "technician detail: recent check-ins": lambda: technicians.recent_checkins_of(
            db, "tech0042"
        ),
        "technician detail: orders": lambda: orders.orders_of(db, "tech0042"),
        "order timeline": lambda: orders.order_timeline(db, "ord0000042"),
    }
    if legacy:  # what the map's 1-hour view cost before the timeline: a homecheckins scan
        cases["legacy scan for comparison: map all check-ins 1 h from homecheckins"] = lambda: (
            store.capped_find(
                db, events.COLLECTION, window("1 hour"), technicians.MAP_FIELDS, timeline.POINT_CAP
            )
        )
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
    client = mongo_client(settings, socketTimeoutMS=3_600_000)
    db = client[f"bench_dashboard_{uuid.uuid4().hex[:8]}"]
    now = datetime.now(UTC)
    try:
        loading = load(db, checkins, now)
        limit, store.TIME_LIMIT_MS = store.TIME_LIMIT_MS, None  # time them whole
        try:
            figures = measure(db, now, repeats, only, legacy=checkins <= LEGACY_UP_TO)
        finally:
            store.TIME_LIMIT_MS = limit
    finally:
        client.drop_database(db.name)
        client.close()
    return {
        "size": {"technicians": TECHNICIANS, "checkins": checkins, "scale": scale},
        "caps": {
            "map points": timeline.POINT_CAP,
            "technicians": technicians.TECHNICIAN_CAP,
        },
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
