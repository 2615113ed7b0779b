"""Wire contracts shared by writers and readers: Kafka message times, where a message came from,
and the dead-letter topic's headers (Kafka Connect's names, so Connect tooling reads them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from confluent_kafka import Message

# Kafka Connect's DLQ context headers (`errors.deadletterqueue.context.headers.enable`), plus
# the failure's time as `__connect.errors.timestamp` (ISO-8601 UTC), which Connect lacks.
DLQ_TOPIC = "__connect.errors.topic"
DLQ_PARTITION = "__connect.errors.partition"
DLQ_OFFSET = "__connect.errors.offset"
DLQ_STAGE = "__connect.errors.stage"
DLQ_CLASS = "__connect.errors.class.name"
DLQ_EXCEPTION_CLASS = "__connect.errors.exception.class.name"
DLQ_REASON = "__connect.errors.exception.message"
DLQ_TIMESTAMP = "__connect.errors.timestamp"

_TIMESTAMP_NOT_AVAILABLE = 0


@dataclass(frozen=True)
class Coordinates:
    """Where a message came from in Kafka."""

    topic: str
    partition: int
    offset: int
    timestamp: datetime | None  # the Kafka message timestamp


def coordinates(msg: Message) -> Coordinates:
    """Where a consumed (or delivered) message is; such a message always has all three."""
    topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
    if topic is None or partition is None or offset is None:
        raise ValueError("a message without topic, partition or offset was not consumed")
    return Coordinates(topic, partition, offset, message_time(msg.timestamp()))


def message_millis(timestamp: tuple[int, int]) -> int | None:
    """confluent-kafka's `Message.timestamp()` (type, ms) -> epoch ms, None when there is none."""
    kind, ms = timestamp
    if kind == _TIMESTAMP_NOT_AVAILABLE or ms < 0:
        return None
    return ms


def message_seconds(timestamp: tuple[int, int]) -> float | None:
    ms = message_millis(timestamp)
    return None if ms is None else ms / 1000.0


def message_time(timestamp: tuple[int, int]) -> datetime | None:
    ms = message_millis(timestamp)
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)
