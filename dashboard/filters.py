"""The map's and the event log's filters: pure values, their MongoDB filters and URL form."""

from __future__ import annotations

import re
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


def search_filter(text: str, fields: tuple[str, ...]) -> dict[str, Any]:
    """Any of `fields` contains `text` (the event log's search box); {} for blank text."""
    pattern = contains_pattern(text)
    if not pattern:
        return {}
    return {"$or": [{f: {"$regex": pattern, "$options": "i"}} for f in fields]}


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
