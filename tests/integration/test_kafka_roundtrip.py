"""The real broker takes a check-in from the project's producer and gives it back, unchanged."""

from __future__ import annotations

from confluent_kafka import Consumer

from checkins.clients import kafka_config
from checkins.envelope import decode
from checkins.event import SAMPLE, CheckIn
from checkins.producer import CheckInProducer
from tests.waiting import wait_for


def test_published_checkin_is_consumed_with_its_key_and_envelope(isolated):
    producer = CheckInProducer(isolated)
    delivery = producer.publish(CheckIn.model_validate(SAMPLE))
    assert delivery.topic == isolated.checkin_topic

    consumer = Consumer(
        kafka_config(
            isolated, **{"group.id": isolated.consumer_group, "auto.offset.reset": "earliest"}
        )
    )
    consumer.subscribe([isolated.checkin_topic])
    try:
        msg = wait_for(lambda: _message(consumer), 30, "the check-in to come back")
    finally:
        consumer.close()
    assert msg.key() == b"cs_eng_ftth"
    assert (msg.partition(), msg.offset()) == (delivery.partition, delivery.offset)
    event = decode(msg.value(), topic=msg.topic(), partition=msg.partition(), offset=msg.offset())
    assert event.event_id == delivery.event_id
    assert event.checkin == CheckIn.model_validate(SAMPLE)


def _message(consumer):
    msg = consumer.poll(0.5)
    return msg if msg is not None and msg.error() is None else None
