"""The map's and the event log's filters: pure values, their MongoDB filters (technicians), their
predicates on timeline points (check-ins) and their URL form."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from checkins.event import zone

# Label -> minutes, shortest first (the issue: 15 minutes up to 7 days).
WINDOWS: dict[str, int] = {
    "15 min": 15,
    "30 min": 30,
    "1 hour": 60,
    "3 hours": 180,
    "6 hours": 360,
    "12 hours": 720,
    "24 hours": 1440,
    "3 days": 4320,
    "7 days": 10080,
}
DATE_RANGE = "date range"
DEFAULT_WINDOW = "24 hours"
MAX_SEARCH = 128


@dataclass(frozen=True)
class Filters:
    window: str = DEFAULT_WINDOW  # a WINDOWS label or DATE_RANGE
    start_day: date | None = None  # local days, inclusive, for DATE_RANGE
    end_day: date | None = None
    statuses: tuple[str, ...] = ()  # empty = all
    staff: str = ""  # contains-search on staffCode, case-insensitive


def time_bounds(filters: Filters, now: datetime, zone_name: str) -> tuple[datetime, datetime]:
    """[since, until) in UTC. A date range covers whole local days."""
    if filters.window == DATE_RANGE and filters.start_day:
        end_day = filters.end_day or filters.start_day
        tz = zone(zone_name)
        since = datetime.combine(filters.start_day, time.min, tz).astimezone(UTC)
        until = datetime.combine(end_day + timedelta(days=1), time.min, tz).astimezone(UTC)
        return since, until
    minutes = WINDOWS.get(filters.window, WINDOWS[DEFAULT_WINDOW])
    return now - timedelta(minutes=minutes), now + timedelta(minutes=1)


def window_bounds(filters: Filters, now: datetime, zone_name: str) -> tuple[datetime, datetime]:
    """[start, end] in UTC, both inclusive, for the timeline read model (`window_points`):
    `time_bounds` with its open end moved back one millisecond, the timeline's resolution."""
    since, until = time_bounds(filters, now, zone_name)
    return since, until - timedelta(milliseconds=1)


Row = Mapping[str, Any]
Predicate = Callable[[Row], bool]


def _needle(text: str) -> str:
    return text.strip()[:MAX_SEARCH].lower()


def _contains(needle: str, value: Any) -> bool:
    return needle in ("" if value is None else str(value)).lower()


def point_predicate(filters: Filters) -> Predicate | None:
    """The jobStatus set and the staffCode search as a test on one check-in row (a timeline
    point); None when neither is set. The time window is not in it: `window_bounds` is. User
    text is only compared as plain text, it never reaches MongoDB."""
    statuses = frozenset(str(s) for s in filters.statuses)
    staff = _needle(filters.staff)
    if not statuses and not staff:
        return None

    def keep(row: Row) -> bool:
        if statuses and str(row.get("jobStatus")) not in statuses:
            return False
        return not staff or _contains(staff, row.get("staffCode"))

    return keep


def search_predicate(text: str, fields: tuple[str, ...]) -> Predicate | None:
    """Any of `fields` contains `text`, case-insensitive (the event log's search box); None for
    blank text."""
    needle = _needle(text)
    if not needle:
        return None
    return lambda row: any(_contains(needle, row.get(f)) for f in fields)


def all_of(*predicates: Predicate | None) -> Predicate | None:
    """The predicates that are set, all required; None when none is set."""
    chosen = [p for p in predicates if p is not None]
    if not chosen:
        return None
    if len(chosen) == 1:
        return chosen[0]
    return lambda row: all(p(row) for p in chosen)


def contains_pattern(text: str) -> str | None:
    """A case-insensitive 'contains' regex for user text, every metacharacter escaped; None for
    blank text. The text never becomes a MongoDB operator: it is only ever a $regex string."""
    cleaned = text.strip()[:MAX_SEARCH]
    return re.escape(cleaned) if cleaned else None


def mongo_filter(filters: Filters, now: datetime, zone_name: str) -> dict[str, Any]:
    """The MongoDB filter for check-in-shaped documents (homecheckins and technicians)."""
    since, until = time_bounds(filters, now, zone_name)
    query: dict[str, Any] = {"checkinDate": {"$gte": since, "$lt": until}}
    if filters.statuses:
        query["jobStatus"] = {"$in": [str(s) for s in filters.statuses]}
    pattern = contains_pattern(filters.staff)
    if pattern:
        query["staffCode"] = {"$regex": pattern, "$options": "i"}
    return query


def to_query_params(filters: Filters) -> dict[str, str | list[str]]:
    """What goes into the URL so a reload (or a shared link) keeps the filters."""
    params: dict[str, str | list[str]] = {"window": filters.window}
    if filters.window == DATE_RANGE and filters.start_day:
        params["from"] = filters.start_day.isoformat()
        params["to"] = (filters.end_day or filters.start_day).isoformat()
    if filters.statuses:
        params["status"] = list(filters.statuses)
    if filters.staff.strip():
        params["staff"] = filters.staff.strip()[:MAX_SEARCH]
    return params


def from_query_params(params: dict[str, list[str]]) -> Filters:
    """The inverse of to_query_params; anything unreadable falls back to the default."""

    def first(name: str) -> str | None:
        values = params.get(name) or []
        return values[0] if values else None

    window = first("window") or DEFAULT_WINDOW
    if window not in WINDOWS and window != DATE_RANGE:
        window = DEFAULT_WINDOW
    start, end = _day(first("from")), _day(first("to"))
    if window == DATE_RANGE and start is None:
        window = DEFAULT_WINDOW
    if start and end and end < start:
        start, end = end, start
    statuses = tuple(s[:40] for s in params.get("status", []) if s)
    staff = (first("staff") or "")[:MAX_SEARCH]
    return Filters(window=window, start_day=start, end_day=end, statuses=statuses, staff=staff)


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None
