"""The wire format: the legacy envelope plus an event id and a produce time.

    {"uuid": "<uuid4>", "timestamp": "<ISO-8601 UTC>", "topic": "HOME_CHECKIN_CREATED",
     "payload": {"data": {<the seven fields>}}}

The legacy producer wrote the same without `uuid`/`timestamp`; such messages get an id derived
from their Kafka coordinates, so replaying the topic gives the same id again.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from checkins.event import CheckIn
from checkins.times import iso_utc

# Fixed namespace for ids derived from (topic, partition, offset): never change it.
_COORDINATES_NAMESPACE = uuid.UUID("6f1c7d1e-3b9a-4d55-9a38-0c5e8f2b7a41")
MAX_MESSAGE_BYTES = 64 * 1024


class InvalidMessage(ValueError):
    """A message no consumer can use; `reason` goes to the dead-letter headers."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CheckInEvent:
    event_id: str
    checkin: CheckIn
    produced_at: datetime | None  # the envelope's timestamp; None for legacy messages


def new_event_id() -> str:
    return str(uuid.uuid4())


def coordinates_event_id(topic: str, partition: int, offset: int) -> str:
    return str(uuid.uuid5(_COORDINATES_NAMESPACE, f"{topic}/{partition}/{offset}"))


def encode(
    checkin: CheckIn, topic: str, event_id: str, produced_at: datetime | None = None
) -> bytes:
    envelope = {
        "uuid": event_id,
        "timestamp": iso_utc(produced_at or datetime.now(UTC)),
        "topic": topic,
        "payload": {"data": checkin.wire_data()},
    }
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


def decode(
    value: bytes | None, *, topic: str, partition: int, offset: int, timezone: str | None = None
) -> CheckInEvent:
    """Parse and validate one Kafka message value, or raise InvalidMessage with the reason."""
    if value is None:
        raise InvalidMessage("empty message (no value)")
    if len(value) > MAX_MESSAGE_BYTES:
        raise InvalidMessage(f"message is {len(value)} bytes; the limit is {MAX_MESSAGE_BYTES}")
    try:
        envelope = json.loads(value)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an int of 4,300+ digits
        raise InvalidMessage(f"not valid JSON: {exc}") from None
    except RecursionError:  # `[[[[...` nested deeper than Python's stack: junk, not a crash
        raise InvalidMessage("not valid JSON: nested too deeply") from None
    if not isinstance(envelope, dict):
        raise InvalidMessage(f"envelope must be a JSON object, got {type(envelope).__name__}")
    payload = envelope.get("payload")
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        raise InvalidMessage("no check-in at payload.data (expected the legacy envelope)")
    context = {"timezone": timezone} if timezone else None
    try:
        checkin = CheckIn.model_validate(data, context=context)
    except ValidationError as exc:
        raise InvalidMessage(describe_errors(exc)) from None
    return CheckInEvent(
        event_id=_event_id(envelope.get("uuid"), topic, partition, offset),
        checkin=checkin,
        produced_at=_timestamp(envelope.get("timestamp")),
    )


def describe_errors(exc: ValidationError) -> str:
    """'checkinLatitude: Input should be less than or equal to 90; ...' (one line)."""
    parts = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(p) for p in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def _event_id(value: Any, topic: str, partition: int, offset: int) -> str:
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
    return coordinates_event_id(topic, partition, offset)


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
