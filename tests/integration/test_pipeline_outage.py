"""A MongoDB outage is not a bad message: the consumer retries with backoff, commits nothing
until the batch is written, and the event lands once the store answers."""

from __future__ import annotations

import socket
import subprocess

from confluent_kafka import Consumer, TopicPartition
from pydantic import SecretStr
from pymongo import MongoClient

from checkins.clients import kafka_config
from checkins.event import SAMPLE, CheckIn
from checkins.producer import CheckInProducer
from stack.paths import FERRETDB_BIN
from tests.integration.test_pipeline import running_consumer
from tests.waiting import wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def committed(settings, partition: int) -> int:
    reader = Consumer(kafka_config(settings, **{"group.id": settings.consumer_group}))
    try:
        [tp] = reader.committed([TopicPartition(settings.checkin_topic, partition)], timeout=10)
        return tp.offset
    finally:
        reader.close()


def start_store(port: int, data_dir) -> subprocess.Popen:
    return subprocess.Popen(
        [str(FERRETDB_BIN), "-listen", f"127.0.0.1:{port}", "-data-dir", str(data_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_an_outage_is_retried_and_nothing_is_committed_until_the_write(isolated, tmp_path):
    """A store of the test's own, stopped while the consumer runs, then started again."""
    port = free_port()
    uri = f"mongodb://127.0.0.1:{port}/"
    settings = isolated.model_copy(update={"mongodb_uri": SecretStr(uri)})
    producer = CheckInProducer(settings)
    store = start_store(port, tmp_path)
    client = MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=2000)
    try:
        db = client[settings.mongodb_database]
        with running_consumer(settings) as consumer:
            first = producer.publish(CheckIn.model_validate(SAMPLE))
            wait_for(lambda: db.homecheckins.find_one({"_id": first.event_id}), 60, "event 1")
            store.terminate()
            store.wait(30)
            second = producer.publish(
                CheckIn.model_validate(
                    {**SAMPLE, "jobStatus": "done", "checkinDate": "2021-03-18 11:00:00"}
                )
            )
            wait_for(lambda: consumer.stats.retries >= 2, 60, "the consumer to retry the store")
            assert committed(settings, second.partition) <= second.offset
            store = start_store(port, tmp_path)
            doc = wait_for(
                lambda: db.homecheckins.find_one({"_id": second.event_id}), 90, "event 2"
            )
            wait_for(
                lambda: committed(settings, second.partition) == second.offset + 1,
                30,
                "the offset to be committed after the write",
            )
            tech = db.technicians.find_one({"_id": SAMPLE["staffCode"]})
    finally:
        client.close()
        store.terminate()
        store.wait(30)
    assert doc["jobStatus"] == "done"
    assert (tech["checkinCount"], tech["eventId"]) == (2, second.event_id)
