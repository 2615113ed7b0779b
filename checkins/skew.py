"""The clock-skew guard, defined once: a check-in may not be dated more than CHECKIN_MAX_FUTURE
ahead of the moment its event was produced.

Why: a technician's latest position is their check-in with the greatest date and never moves
back, so one check-in from a device whose clock runs a day fast would pin that technician until
the next day. The API applies it against its accept time, the publish form against now, and the
consumers against the envelope's `timestamp` (or the Kafka message timestamp for legacy
messages) before a dead letter.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from checkins.times import iso_utc, utc

FIELD = "checkinDate"
DEFAULT_MAX_FUTURE = timedelta(minutes=5)


def ahead_by(checkin_date: datetime, produced_at: datetime) -> timedelta:
    return utc(checkin_date) - utc(produced_at)


def future_problem(
    checkin_date: datetime, produced_at: datetime | None, max_future: timedelta
) -> str | None:
    """Why the check-in is dated too far ahead, or None when it is not (exactly `max_future`
    ahead is still accepted). Without a produce time there is nothing to compare with."""
    if produced_at is None:
        return None
    ahead = ahead_by(checkin_date, produced_at)
    if ahead <= max_future:
        return None
    return (
        f"is {_duration(ahead)} ahead of the time it was sent ({iso_utc(produced_at)}); at "
        f"most {_duration(max_future)} is accepted (CHECKIN_MAX_FUTURE): is the device's clock "
        "right?"
    )


def _duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds < 120:
        return f"{span.total_seconds():g} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"
