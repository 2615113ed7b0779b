"""The dead-letter topic: its size and its latest letters with the reasons the consumers gave.

The consumers write Kafka-Connect-style headers on each dead letter; `describe` (pure) turns
one message's headers into a row, `latest` (Kafka edge) reads the last N messages by assigning
each partition at end - N.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from confluent_kafka import TopicPartition

from checkins import clients, wire
from checkins.settings import Settings
from checkins.wire import coordinates, message_seconds

PREVIEW_CHARS = 120


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    at: float | None  # epoch seconds (the DLQ message's timestamp)
    origin: str  # "topic[partition]@offset" of the message that failed
    reason: str
    preview: str  # the start of the bad value, as text


def describe(
    partition: int,
    offset: int,
    at: float | None,
    headers: Sequence[tuple[str, bytes | None]] | None,
    value: bytes | None,
) -> DeadLetter:
    """One dead letter from its headers and value; missing headers say so rather than fail."""
    found = {k: _text(v) for k, v in headers or []}
    topic = found.get(wire.DLQ_TOPIC) or "?"
    origin = f"{topic}[{found.get(wire.DLQ_PARTITION) or '?'}]@{found.get(wire.DLQ_OFFSET) or '?'}"
    reason = (
        found.get(wire.DLQ_REASON) or found.get(wire.DLQ_EXCEPTION_CLASS) or "(no reason header)"
    )
    return DeadLetter(partition, offset, at, origin, reason, preview(value))


def preview(value: bytes | None, limit: int = PREVIEW_CHARS) -> str:
    if value is None:
        return "(no value)"
    text = value.decode("utf-8", errors="replace")
    text = " ".join(text.split())  # one line
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _as_pairs(headers) -> list[tuple[str, bytes | None]]:
    items = headers.items() if isinstance(headers, dict) else headers
    return [(k, v.encode() if isinstance(v, str) else v) for k, v in items]


def _text(value: bytes | None) -> str:
    return "" if value is None else value.decode("utf-8", errors="replace")


def latest(
    settings: Settings,
    topic: str,
    ends: dict[int, tuple[int, int]],
    count: int = 20,
    timeout: float = 5.0,
) -> list[DeadLetter]:
    """The newest `count` dead letters, newest first. `ends`: partition -> (log start, log end)."""
    wanted = {p: (max(start, end - count), end) for p, (start, end) in ends.items() if end > start}
    if not wanted:
        return []
    consumer = clients.consumer(
        settings,
        **{
            "group.id": "lag-monitor-dlq-reader",
            "client.id": "lag-monitor-dlq-reader",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "fetch.wait.max.ms": 10,  # answer now; the broker would wait 500 ms for more
        },
    )
    letters: list[DeadLetter] = []
    done: set[int] = set()
    try:
        consumer.assign([TopicPartition(topic, p, first) for p, (first, _) in wanted.items()])
        deadline = time.monotonic() + timeout
        while len(done) < len(wanted) and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=500, timeout=0.2):
                if msg.error() is not None:
                    continue
                where = coordinates(msg)
                at = message_seconds(msg.timestamp())
                headers = msg.headers() or []
                letters.append(
                    describe(where.partition, where.offset, at, _as_pairs(headers), msg.value())
                )
                if where.offset >= wanted[where.partition][1] - 1:
                    done.add(where.partition)
    finally:
        consumer.close()
    letters.sort(key=lambda d: (d.at or 0.0, d.partition, d.offset), reverse=True)
    return letters[:count]
