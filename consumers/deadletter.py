"""Dead letters: the message's bytes unchanged, with Kafka Connect's DLQ context headers."""

from __future__ import annotations

from datetime import datetime

from checkins import wire
from checkins.times import iso_utc

EXCEPTION_CLASS = "checkins.envelope.InvalidMessage"
MAX_REASON = 1000


def dlq_headers(
    *, topic: str, partition: int, offset: int, reason: str, failed_at: datetime
) -> list[tuple[str, bytes]]:
    """Kafka Connect's context headers (checkins/wire.py), plus the failure's time."""
    return [
        (wire.DLQ_TOPIC, topic.encode()),
        (wire.DLQ_PARTITION, str(partition).encode()),
        (wire.DLQ_OFFSET, str(offset).encode()),
        (wire.DLQ_STAGE, b"VALUE_CONVERTER"),
        (wire.DLQ_CLASS, b"checkins.envelope.decode"),
        (wire.DLQ_EXCEPTION_CLASS, EXCEPTION_CLASS.encode()),
        (wire.DLQ_REASON, reason[:MAX_REASON].encode()),
        (wire.DLQ_TIMESTAMP, iso_utc(failed_at).encode()),
    ]
