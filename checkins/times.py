"""Time, once: aware UTC datetimes, BSON's millisecond precision, epoch milliseconds, ISO-8601.

BSON dates come back naive (UTC) from a client without `tz_aware`, and keep milliseconds only;
every module that compares, buckets or encodes a time goes through these."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken as UTC, as BSON dates are."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def now() -> datetime:
    return datetime.now(UTC)


def to_ms(moment: datetime) -> datetime:
    """Truncated to BSON's milliseconds, so live and rebuilt documents compare equal."""
    moment = utc(moment)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def millis(moment: datetime) -> int:
    """Epoch milliseconds (exact integer arithmetic: no float rounding)."""
    return (utc(moment) - EPOCH) // timedelta(milliseconds=1)


def from_millis(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def iso_utc(moment: datetime) -> str:
    """ISO-8601 UTC to the millisecond, with a `Z`: the wire format's dates."""
    return utc(moment).isoformat(timespec="milliseconds").replace("+00:00", "Z")
