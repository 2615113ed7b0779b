"""The one producer: idempotent, acks=all, key = staffCode so a technician's events keep order."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from confluent_kafka import KafkaError, KafkaException, Producer

from checkins.clients import kafka_config
from checkins.envelope import encode, new_event_id
from checkins.event import CheckIn
from checkins.settings import Settings
from checkins.wire import coordinates


class PublishError(Exception):
    """Kafka did not acknowledge the event in time; nothing was confirmed to the caller."""


@dataclass(frozen=True)
class Delivery:
    event_id: str
    topic: str
    partition: int
    offset: int


class CheckInProducer:
    def __init__(self, settings: Settings, **overrides: object):
        config = kafka_config(
            settings,
            **{
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
                "compression.type": "lz4",
                "delivery.timeout.ms": 10_000,
                "client.id": "checkin-producer",
                **overrides,
            },
        )
        self._producer = Producer(config)
        self._topic = settings.checkin_topic

    @property
    def topic(self) -> str:
        return self._topic

    def publish(
        self,
        checkin: CheckIn,
        *,
        event_id: str | None = None,
        produced_at: datetime | None = None,
        timeout: float = 15.0,
    ) -> Delivery:
        """Produce and wait for Kafka's acknowledgement; raises PublishError otherwise."""
        event_id = event_id or new_event_id()
        done = threading.Event()
        outcome: dict[str, object] = {}

        def on_delivery(err: KafkaError | None, msg) -> None:
            outcome["err"], outcome["msg"] = err, msg
            done.set()

        self.publish_async(
            checkin, event_id=event_id, produced_at=produced_at, on_delivery=on_delivery
        )
        # A deadline, not a countdown: poll() returns early whenever any delivery is served,
        # which under concurrent publishes would cut the wait short.
        deadline = time.monotonic() + timeout
        while not done.is_set() and time.monotonic() < deadline:
            self._producer.poll(0.05)
        if not done.is_set():
            raise PublishError("Kafka did not acknowledge the event in time")
        if outcome["err"] is not None:
            raise PublishError(f"Kafka refused the event: {outcome['err']}")
        where = coordinates(outcome["msg"])  # type: ignore[arg-type]
        return Delivery(event_id, where.topic, where.partition, where.offset)

    def publish_async(
        self,
        checkin: CheckIn,
        *,
        event_id: str | None = None,
        produced_at: datetime | None = None,
        on_delivery=None,
    ) -> str:
        """Queue an event (for bulk senders: the simulator, benchmarks); returns its id."""
        event_id = event_id or new_event_id()
        value = encode(checkin, self._topic, event_id, produced_at)
        while True:
            try:
                self._producer.produce(
                    self._topic,
                    value=value,
                    key=checkin.staffCode.encode(),
                    on_delivery=on_delivery,
                )
                return event_id
            except BufferError:  # local queue full: let deliveries drain, then retry
                self._producer.poll(0.1)
            except KafkaException as exc:
                raise PublishError(f"Kafka refused the event: {exc}") from exc

    def produce_raw(self, value: bytes, key: bytes | None = None, timeout: float = 15.0) -> None:
        """Send bytes as they are (demo junk for the dead-letter path)."""
        self._producer.produce(self._topic, value=value, key=key)
        if self._producer.flush(timeout) > 0:
            raise PublishError("Kafka did not acknowledge the message in time")

    def flush(self, timeout: float = 30.0) -> int:
        return self._producer.flush(timeout)

    def poll(self, timeout: float = 0) -> int:
        return self._producer.poll(timeout)
