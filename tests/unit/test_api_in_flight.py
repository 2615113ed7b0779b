"""The API's bound on check-ins waiting for Kafka: past it, a request is refused at once (the
caller answers 503) instead of queueing behind a partition that has no leader. The producer is
real and points at a port where nothing listens, so nothing is ever acknowledged."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from api.publisher import AsyncPublisher, Busy
from checkins.event import SAMPLE, CheckIn
from checkins.producer import CheckInProducer, PublishError
from checkins.settings import Settings


def test_past_the_bound_a_publish_is_refused_at_once_and_room_comes_back():
    settings = Settings(kafka_bootstrap_servers="127.0.0.1:1")
    producer = CheckInProducer(settings, **{"delivery.timeout.ms": 1000, "log_level": 0})
    publisher = AsyncPublisher(producer, max_in_flight=2)
    publisher.start()
    checkin = CheckIn.model_validate(SAMPLE)

    async def scenario() -> list[object]:
        def one(n: int):
            return publisher.publish(
                checkin, event_id=f"e{n}", produced_at=datetime.now(UTC), timeout=0.5
            )

        waiting = [asyncio.create_task(one(n)) for n in range(2)]
        await asyncio.sleep(0.05)  # both are queued in the producer now
        # Refused before anything is produced, and without awaiting: the API asks this before
        # it even reads the request's body.
        with pytest.raises(Busy):
            publisher.check_room()
        with pytest.raises(Busy):
            await one(2)
        outcomes = await asyncio.gather(*waiting, return_exceptions=True)
        # The two that waited gave up; their room is free again: the next one waits too.
        later = await asyncio.gather(one(3), return_exceptions=True)
        return [*outcomes, *later]

    try:
        outcomes = asyncio.run(scenario())
    finally:
        publisher.close(0)
    assert all(isinstance(o, PublishError) and not isinstance(o, Busy) for o in outcomes)
