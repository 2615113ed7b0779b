"""Pure formatting: local times, ages, HTML-escaped text for tooltips."""

from __future__ import annotations

import html
import re
from datetime import datetime

from pymongo.errors import (
    ConnectionFailure,
    ExecutionTimeout,
    NetworkTimeout,
    OperationFailure,
    ServerSelectionTimeoutError,
)

from checkins.event import zone
from checkins.times import utc


def local_time(moment: datetime | None, zone_name: str, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    if moment is None:
        return "-"
    return utc(moment).astimezone(zone(zone_name)).strftime(fmt)


def age(moment: datetime | None, now: datetime) -> str:
    """'just now', '3 min ago', '2 h ago', '4 d ago'; 'in the future' for clock skew."""
    if moment is None:
        return "-"
    seconds = (utc(now) - utc(moment)).total_seconds()
    if seconds < -60:
        return "in the future"
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


def escape(value: object) -> str:
    """Text for HTML (deck.gl tooltips render HTML): escape everything a user could have typed."""
    return html.escape("" if value is None else str(value), quote=True)


_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def markdown_literal(value: object) -> str:
    """Text that Streamlit's Markdown shows character for character: every ASCII punctuation
    mark backslash-escaped (links, emphasis, HTML, `:colour[...]` directives, `$` maths)."""
    text = " ".join(("" if value is None else str(value)).split())
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)


def store_problem(exc: Exception) -> str:
    """What a user should read when a MongoDB call fails (never the URI: it may hold a password)."""
    name = type(exc).__name__
    if isinstance(exc, (NetworkTimeout, ExecutionTimeout)):
        return f"MongoDB took too long to answer ({name}): narrow the time window or filters"
    if isinstance(exc, (ServerSelectionTimeoutError, ConnectionFailure)):
        return f"MongoDB is unreachable ({name})"
    if isinstance(exc, OperationFailure):
        return f"MongoDB refused the query (code {exc.code})"
    return f"MongoDB failed ({name})"
