"""The check-in timeline read model: every check-in as a compact point, bucketed by hour.

Why: the local store (FerretDB 1.24 on SQLite) uses no index but `_id` equality, so any time
window over `homecheckins` reads the whole collection (minutes at a million events). The
consumers therefore also keep the check-ins in documents found by `_id` alone:

- `checkin_hours`: `{_id: "2026-11-26T13Z/p3/0", hour, partition, page, points: [point, ...]}`,
  the check-ins of one UTC hour (by `checkinDate`) from one Kafka partition, at most
  `PAGE_SIZE` per page. Points are lists in `POINT_FIELDS` order, kept as one JSON string.
- `checkin_days`: `{_id: "2026-11-26/p3", day, partition, hours: {"13": {n, pages}},
  minutes: {"1305": {n, byStatus: {status: n}}}}`: which pages exist and per-minute counts;
  stored with `hours` and `minutes` as JSON strings (`store_day` / `load_day`).
- `checkin_partitions`: `{_id: 3}`, the partitions that have written days.

Keyed by partition because one partition has one consumer at a time: these documents have a
single writer, like `technicians` (keyed by staffCode, the message key). The day document is
always recomputed from the hour's full pages, never incremented, so a redelivered batch (or one
cut short by a crash between two writes) converges to the same documents.

The pure part (keys, point encoding, merging, the reader's plan) comes first; the reads and
writes, all by `_id`, at the end.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.database import Database

from checkins.times import from_millis, millis, utc
from readmodels import store

HOURS = "checkin_hours"
DAYS = "checkin_days"
PARTITIONS = "checkin_partitions"

PAGE_SIZE = 500  # small pages: a batch rewrites only the hour's last one
POINT_CAP = 20_000  # points one map layer sends to the browser
# A point is a list in POINT_FIELDS order, dates as epoch milliseconds; a page keeps its points
# as one JSON string: FerretDB decodes every BSON value on its own (a page of 500 small
# documents took it 20 ms to return), while one string costs it next to nothing.
POINT_FIELDS = (
    "_id",
    "checkinLongitude",
    "checkinLatitude",
    "jobStatus",
    "staffCode",
    "orderNo",
    "internetNo",
    "checkinDate",
    "storedAt",
)
ID, STATUS, DATE = 0, 3, 7
DATES = {"checkinDate", "storedAt"}
Doc = dict[str, Any]
Point = list[Any]


def hour_of(moment: datetime) -> datetime:
    return utc(moment).replace(minute=0, second=0, microsecond=0)


def day_of(moment: datetime) -> datetime:
    return utc(moment).replace(hour=0, minute=0, second=0, microsecond=0)


def day_id(day: datetime, partition: int) -> str:
    return f"{day:%Y-%m-%d}/p{partition}"


def page_id(hour: datetime, partition: int, page: int) -> str:
    return f"{hour:%Y-%m-%dT%H}Z/p{partition}/{page}"


def partition_of(doc: Mapping[str, Any]) -> int:
    return int((doc.get("source") or {}).get("partition") or 0)


def to_millis(moment: datetime | None) -> int | None:
    return None if moment is None else millis(moment)


def from_millis_or_none(ms: int | None) -> datetime | None:
    return None if ms is None else from_millis(ms)


def to_point(doc: Mapping[str, Any]) -> Point:
    return [to_millis(doc.get(f)) if f in DATES else doc.get(f) for f in POINT_FIELDS]


def from_point(point: Point) -> Doc:
    return {
        field: from_millis_or_none(value) if field in DATES else value
        for field, value in zip(POINT_FIELDS, point, strict=True)
    }


def encode_page(points: list[Point]) -> str:
    return json.dumps(points, separators=(",", ":"), allow_nan=False)


def decode_page(text: str) -> list[Point]:
    return json.loads(text)


# A day document keeps `hours` and `minutes` as JSON strings too: as subdocuments (up to 1,440
# minutes, each with its statuses) one took FerretDB ~390 ms to return, as strings ~30 ms, and a
# 7-day window reads 7-8 days times the partitions.
DAY_FIELDS = ("hours", "minutes")


def store_day(day_doc: Doc) -> Doc:
    """The day document as stored: `hours` and `minutes` as JSON strings, keys sorted so equal
    counts give equal strings (a redelivered batch rewrites the same document)."""
    encoded = {
        field: json.dumps(day_doc.get(field, {}), separators=(",", ":"), sort_keys=True)
        for field in DAY_FIELDS
    }
    return {**day_doc, **encoded}


def load_day(doc: Doc) -> Doc:
    """The inverse of `store_day`; fields stored as subdocuments pass through as they are."""
    decoded = {
        field: json.loads(doc[field]) if isinstance(doc[field], str) else doc[field]
        for field in DAY_FIELDS
        if field in doc
    }
    return {**doc, **decoded}


def group_by_hour(docs: Iterable[Doc]) -> dict[tuple[datetime, int], dict[datetime, list[Doc]]]:
    """Stored check-ins -> {(day, partition): {hour: [docs]}}."""
    groups: dict[tuple[datetime, int], dict[datetime, list[Doc]]] = {}
    for doc in docs:
        when = doc["checkinDate"]
        hours = groups.setdefault((day_of(when), partition_of(doc)), {})
        hours.setdefault(hour_of(when), []).append(doc)
    return groups


@dataclass
class Merged:
    pages: list[list[Point]]
    changed: set[int]  # numbers of the pages to write
    added: list[Point]


def merge_pages(pages: list[list[Point]], docs: Iterable[Doc]) -> Merged:
    """The hour's pages with the check-ins not on them yet appended to the last page (a new
    page when it is full)."""
    known = {point[ID] for page in pages for point in page}
    merged = Merged([list(page) for page in pages], set(), [])
    for doc in docs:
        if doc["_id"] in known:
            continue
        known.add(doc["_id"])
        if not merged.pages or len(merged.pages[-1]) >= PAGE_SIZE:
            merged.pages.append([])
        point = to_point(doc)
        merged.pages[-1].append(point)
        merged.added.append(point)
        merged.changed.add(len(merged.pages) - 1)
    return merged


def summarize_hour(day_doc: Doc, hour: datetime, pages: list[list[Point]]) -> Doc:
    """The day document with this hour's entry and minute counts recomputed from all its pages."""
    prefix = f"{hour:%H}"
    minutes = {k: v for k, v in day_doc.get("minutes", {}).items() if not k.startswith(prefix)}
    hours = {**day_doc.get("hours", {}), prefix: {"n": 0, "pages": len(pages)}}
    return _count_in({**day_doc, "hours": hours, "minutes": minutes}, hour, pages)


def add_to_hour(day_doc: Doc, hour: datetime, added: list[Point], page_count: int) -> Doc:
    """The day document with `added` (points on no page before) counted into this hour."""
    prefix = f"{hour:%H}"
    entry = day_doc.get("hours", {}).get(prefix, {"n": 0})
    hours = {**day_doc.get("hours", {}), prefix: {"n": entry["n"], "pages": page_count}}
    minutes = {
        k: {"n": v["n"], "byStatus": dict(v["byStatus"])}
        for k, v in day_doc.get("minutes", {}).items()
        if k.startswith(prefix)
    }
    others = {k: v for k, v in day_doc.get("minutes", {}).items() if not k.startswith(prefix)}
    return _count_in({**day_doc, "hours": hours, "minutes": {**others, **minutes}}, hour, [added])


def _count_in(day_doc: Doc, hour: datetime, pages: list[list[Point]]) -> Doc:
    """Counts the points into the hour's `n` and their minutes (the documents are copies)."""
    prefix = f"{hour:%H}"
    minutes = day_doc["minutes"]
    for page in pages:
        for point in page:
            minute = f"{from_millis(point[DATE]):%H%M}"
            entry = minutes.setdefault(minute, {"n": 0, "byStatus": {}})
            entry["n"] += 1
            entry["byStatus"][point[STATUS]] = entry["byStatus"].get(point[STATUS], 0) + 1
            day_doc["hours"][prefix]["n"] += 1
    day_doc["minutes"] = dict(sorted(minutes.items()))
    return day_doc


def new_day(day: datetime, partition: int) -> Doc:
    return {"_id": day_id(day, partition), "day": day, "partition": partition, "hours": {}}


def documents_from_scratch(
    points: Mapping[tuple[datetime, int], list[Point]],
) -> tuple[list[Doc], list[Doc], list[Doc]]:
    """The `checkin_hours`, `checkin_days` and `checkin_partitions` documents of a whole
    history, from {(hour, partition): points} (for a rebuild or a bench)."""
    pages: list[Doc] = []
    days: dict[str, Doc] = {}
    for (hour, partition), hour_points in sorted(points.items()):
        chunks = [hour_points[i : i + PAGE_SIZE] for i in range(0, len(hour_points), PAGE_SIZE)]
        for number, chunk in enumerate(chunks):
            pages.append(
                {
                    "_id": page_id(hour, partition, number),
                    "hour": hour,
                    "partition": partition,
                    "page": number,
                    "points": encode_page(chunk),
                }
            )
        key = day_id(day_of(hour), partition)
        days[key] = summarize_hour(days.get(key) or new_day(day_of(hour), partition), hour, chunks)
    partitions = [{"_id": p} for p in sorted({p for _, p in points})]
    return pages, list(days.values()), partitions


def add_points(into: dict[tuple[datetime, int], list[Point]], docs: Iterable[Doc]) -> None:
    """Collect stored check-ins as points by (hour, partition), for `documents_from_scratch`."""
    for doc in docs:
        into.setdefault((hour_of(doc["checkinDate"]), partition_of(doc)), []).append(to_point(doc))


# -- reading ---------------------------------------------------------------------------------


def days_between(start: datetime, end: datetime) -> list[datetime]:
    """UTC days touching [start, end], newest first."""
    days, day = [], day_of(end)
    while day >= day_of(start):
        days.append(day)
        day -= timedelta(days=1)
    return days


@dataclass(frozen=True)
class HourPages:
    hour: datetime
    partition: int
    pages: int
    count: int


def hours_in_window(day_docs: Iterable[Doc], start: datetime, end: datetime) -> list[HourPages]:
    """The stored hours overlapping [start, end], newest first."""
    found = []
    for doc in day_docs:
        for hh, entry in doc.get("hours", {}).items():
            hour = utc(doc["day"]) + timedelta(hours=int(hh))
            if entry["pages"] and hour <= end and hour + timedelta(hours=1) > start:
                found.append(HourPages(hour, doc["partition"], entry["pages"], entry["n"]))
    return sorted(found, key=lambda h: (h.hour, h.partition), reverse=True)


def count_minutes(day_docs: Iterable[Doc], start: datetime, end: datetime) -> dict[datetime, Doc]:
    """{minute: {n, byStatus}} over all partitions, for the minutes in [start, end]."""
    totals: dict[datetime, Doc] = {}
    for doc in day_docs:
        day = utc(doc["day"])
        for hhmm, entry in doc.get("minutes", {}).items():
            minute = day + timedelta(hours=int(hhmm[:2]), minutes=int(hhmm[2:]))
            if minute + timedelta(minutes=1) <= start or minute > end:
                continue
            total = totals.setdefault(minute, {"n": 0, "byStatus": {}})
            total["n"] += entry["n"]
            for status, n in entry["byStatus"].items():
                total["byStatus"][status] = total["byStatus"].get(status, 0) + n
    return dict(sorted(totals.items()))


def collect_points(
    hours: list[HourPages],
    fetch_page,
    start: datetime,
    end: datetime,
    keep=None,
    cap: int = 20_000,
    read_cap: int = 200_000,
) -> tuple[list[Doc], bool]:
    """The check-ins in [start, end] that `keep` accepts, newest first, at most `cap`; the flag
    says whether more were left out (over `cap`, or hours left unread after `read_cap` points).

    `hours` comes from `hours_in_window` (newest first); `fetch_page(hour_pages, number)` returns
    that page's points. Whole hours are read (an hour's pages are not in time order), so the
    newest `cap` are exact.
    """
    rows: list[Doc] = []
    read = 0
    index = 0
    while index < len(hours):
        hour = hours[index].hour
        while index < len(hours) and hours[index].hour == hour:
            for number in range(hours[index].pages):
                for point in fetch_page(hours[index], number):
                    read += 1
                    doc = from_point(point)
                    when = utc(doc["checkinDate"])
                    if start <= when <= end and (keep is None or keep(doc)):
                        rows.append(doc)
            index += 1
        if len(rows) > cap or read >= read_cap:
            break
    rows.sort(key=lambda d: (utc(d["checkinDate"]), d["_id"]), reverse=True)
    return rows[:cap], len(rows) > cap or index < len(hours)


# -- reads and writes ---------------------------------------------------------------------


def write_timeline(db: Database, stored: list[Doc], new_ids: set[str]) -> None:
    """Add the stored check-ins to the hour pages and recompute their day documents
    (above). Pages are written before the day document that lists them, so a
    crash in between leaves a page the redelivered batch rewrites with the same points.

    Check-ins this batch inserted (`new_ids`) cannot be on a page yet: they are appended to the
    hour's last page; an hour with a redelivered check-in reads all its pages to skip those
    already on one."""
    for (day, partition), hours in group_by_hour(stored).items():
        day_key = day_id(day, partition)
        stored_day = db[DAYS].find_one({"_id": day_key})
        before = None if stored_day is None else load_day(stored_day)
        if before is None:
            store.insert_ignoring_duplicate(db[PARTITIONS], {"_id": partition})
        day_doc = before or new_day(day, partition)
        for hour, docs in sorted(hours.items()):
            count = day_doc["hours"].get(f"{hour:%H}", {}).get("pages", 0)
            all_new = all(d["_id"] in new_ids for d in docs)
            first = max(count - 1, 0) if all_new else 0
            merged = merge_pages(read_pages(db, hour, partition, first, count), docs)
            for number in sorted(merged.changed):
                db[HOURS].replace_one(
                    {"_id": page_id(hour, partition, number)},
                    {
                        "hour": hour,
                        "partition": partition,
                        "page": number,
                        "points": encode_page(merged.pages[number]),
                    },
                    upsert=True,
                )
            if all_new:
                day_doc = add_to_hour(day_doc, hour, merged.added, len(merged.pages))
            else:
                day_doc = summarize_hour(day_doc, hour, merged.pages)
        if day_doc != before:
            db[DAYS].replace_one({"_id": day_key}, store_day(day_doc), upsert=True)


def read_pages(db: Database, hour, partition: int, first: int, count: int) -> list[list]:
    """Pages `first`..`count - 1` of an hour; the ones before `first` stand as empty."""
    pages: list[list] = [[] for _ in range(first)]
    for number in range(first, count):
        page = db[HOURS].find_one({"_id": page_id(hour, partition, number)})
        pages.append(decode_page(page["points"]) if page else [])
    return pages


def _day_documents(db: Database, start: datetime, end: datetime) -> list[dict]:
    """The `checkin_days` documents of [start, end]: one `_id` lookup per day and partition.
    No time limit on these reads: `_id` lookups and a list of a few partitions never scan."""
    partitions = [d["_id"] for d in db[PARTITIONS].find({})]
    found = []
    for day in days_between(start, end):
        for partition in partitions:
            doc = db[DAYS].find_one({"_id": day_id(day, partition)})
            if doc is not None:
                found.append(load_day(doc))
    return found


def window_points(
    db: Database,
    start: datetime,
    end: datetime,
    keep: Callable[[dict], bool] | None = None,
    cap: int | None = None,
) -> tuple[list[dict], bool]:
    """Check-ins with `checkinDate` in [start, end] that `keep` accepts, newest first, at most
    `cap`; the flag says whether more were left out. Rows have `POINT_FIELDS`."""
    hours = hours_in_window(_day_documents(db, start, end), start, end)

    def fetch(hour: HourPages, number: int) -> list:
        page_key = page_id(hour.hour, hour.partition, number)
        page = db[HOURS].find_one({"_id": page_key})
        return decode_page(page["points"]) if page else []

    return collect_points(hours, fetch, start, end, keep, cap or POINT_CAP)


def minute_counts(db: Database, start: datetime, end: datetime) -> dict[datetime, dict]:
    """{minute (UTC): {n, byStatus}} for the minutes in [start, end], all partitions summed."""
    return count_minutes(_day_documents(db, start, end), start, end)
