"""Dead letters: the message's bytes unchanged, with Kafka Connect's DLQ context headers."""

from __future__ import annotations

from datetime import datetime

from checkins.event import iso_utc

EXCEPTION_CLASS = "checkins.envelope.InvalidMessage"
MAX_REASON = 1000


def dlq_headers(
    *, topic: str, partition: int, offset: int, reason: str, failed_at: datetime
) -> list[tuple[str, bytes]]:
    """Kafka Connect's names (`errors.deadletterqueue.context.headers.enable`), plus the time
    of the failure as `__connect.errors.timestamp` (ISO-8601 UTC), which Connect lacks."""
    return [
        ("__connect.errors.topic", topic.encode()),
        ("__connect.errors.partition", str(partition).encode()),
        ("__connect.errors.offset", str(offset).encode()),
        ("__connect.errors.stage", b"VALUE_CONVERTER"),
        ("__connect.errors.class.name", b"checkins.envelope.decode"),
        ("__connect.errors.exception.class.name", EXCEPTION_CLASS.encode()),
        ("__connect.errors.exception.message", reason[:MAX_REASON].encode()),
        ("__connect.errors.timestamp", iso_utc(failed_at).encode()),
    ]
