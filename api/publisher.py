"""Publish from async code: `await publisher.publish(...)` resolves when Kafka acknowledges.

`CheckInProducer.publish()` waits by polling from the calling thread. Many threads doing that at
once steal each other's delivery reports and each then sleeps out its whole 50 ms poll, so the
API's latency under load was quantised to 50 ms (measured by `make bench`). Here one thread
polls for everyone and each delivery report settles its request's future directly.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime

from confluent_kafka import KafkaError, Message

from checkins.event import CheckIn
from checkins.producer import CheckInProducer, Delivery, PublishError
from checkins.wire import coordinates


class Busy(PublishError):
    """Too many check-ins are already waiting for Kafka: refused before it was produced."""


class AsyncPublisher:
    """`max_in_flight` bounds the check-ins waiting for an acknowledgement. While a partition
    has no leader every request waits out the timeout; without a bound a 300/s load piled up
    thousands of waiting requests and the API stopped answering even /healthz."""

    def __init__(self, producer: CheckInProducer, max_in_flight: int = 500):
        self._producer = producer
        self._max_in_flight = max_in_flight
        self._in_flight = 0  # touched by the event loop's thread only
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="kafka-delivery", daemon=True)

    def start(self) -> None:
        self._poller.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.1)

    def check_room(self) -> None:
        """Busy when `max_in_flight` check-ins already wait: the API calls this before it reads
        a body, so that refusing costs next to nothing while clients retry in numbers."""
        if self._in_flight >= self._max_in_flight:
            raise Busy(f"{self._in_flight} check-ins are already waiting for Kafka")

    async def publish(
        self, checkin: CheckIn, *, event_id: str, produced_at: datetime, timeout: float
    ) -> Delivery:
        """Queue the event and wait for its acknowledgement; PublishError when it does not come
        within `timeout` seconds or Kafka reports a failure."""
        self.check_room()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Delivery] = loop.create_future()

        def on_delivery(err: KafkaError | None, msg: Message) -> None:  # on the poller thread
            loop.call_soon_threadsafe(_settle, future, event_id, err, msg)

        self._in_flight += 1
        try:
            self._producer.publish_async(
                checkin, event_id=event_id, produced_at=produced_at, on_delivery=on_delivery
            )
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise PublishError("Kafka did not acknowledge the event in time") from None
        finally:
            self._in_flight -= 1

    def close(self, timeout: float) -> int:
        """Deliver what is queued (up to `timeout` s), stop polling; returns how many are left."""
        left = self._producer.flush(timeout)
        self._stop.set()
        if self._poller.is_alive():
            self._poller.join(timeout=1)
        return left


def _settle(
    future: asyncio.Future[Delivery], event_id: str, err: KafkaError | None, msg: Message
) -> None:
    if future.done():  # the request already gave up waiting
        return
    if err is not None:
        future.set_exception(PublishError(f"Kafka refused the event: {err}"))
    else:
        where = coordinates(msg)
        future.set_result(Delivery(event_id, where.topic, where.partition, where.offset))
