"""The headless simulator, `python -m dashboard.simulate`, against the real broker."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from confluent_kafka import Consumer, TopicPartition

from checkins.clients import kafka_config
from checkins.envelope import decode
from checkins.settings import Settings
from simulator.model import LIFECYCLE
from stack.paths import ROOT
from tests.integration.test_publish_page import messages
from tests.waiting import wait_for


def simulate(settings: Settings, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {
        **os.environ,
        "CHECKIN_TOPIC": settings.checkin_topic,
        "CHECKIN_DLQ_TOPIC": settings.checkin_dlq_topic,
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "dashboard.simulate", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_headless_simulator_publishes_rate_times_duration_valid_check_ins(isolated):
    done = simulate(
        isolated, "--technicians", "6", "--rate", "30", "--duration", "2", "--seed", "4"
    )
    assert done.returncode == 0, done.stderr
    assert "done: sent 60 of 60 check-ins, 60 acknowledged, 0 failed" in done.stderr
    found = messages(isolated, 60)
    assert len(found) == 60
    staff = {f"sim_{i:04d}" for i in range(1, 7)}
    for msg in found:
        event = decode(
            msg.value(), topic=msg.topic(), partition=msg.partition(), offset=msg.offset()
        )
        assert msg.key().decode() == event.checkin.staffCode
        assert event.checkin.staffCode in staff
        assert event.checkin.jobStatus in LIFECYCLE


def test_the_headless_simulator_refuses_when_publishing_is_switched_off(isolated):
    done = simulate(isolated, "--duration", "1", DEMO_PUBLISH_ENABLED="false")
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "DEMO_PUBLISH_ENABLED=false" in lines[0], done.stderr
    consumer = Consumer(kafka_config(isolated, **{"group.id": uuid.uuid4().hex}))
    try:
        ends = [
            consumer.get_watermark_offsets(TopicPartition(isolated.checkin_topic, p), 5)[1]
            for p in range(isolated.checkin_partitions)
        ]
    finally:
        consumer.close()
    assert sum(ends) == 0


def test_the_headless_simulator_rejects_bad_arguments_with_a_usage_message(isolated):
    done = simulate(isolated, "--rate", "-5")
    assert done.returncode == 2
    assert "--rate: must be a number above 0" in done.stderr


def test_simulated_lifecycles_flow_through_the_consumers_into_the_read_models(isolated, mongo):
    """Every simulated check-in is stored; each technician's latest status and each order's
    history follow the lifecycle, in order, as the consumers project them."""
    done = simulate(
        isolated, "--technicians", "4", "--rate", "60", "--duration", "4", "--speedup", "40"
    )
    assert done.returncode == 0, done.stderr
    env = {
        **os.environ,
        "MONGODB_DATABASE": isolated.mongodb_database,
        "CHECKIN_TOPIC": isolated.checkin_topic,
        "CHECKIN_DLQ_TOPIC": isolated.checkin_dlq_topic,
        "STATUS_TOPIC": isolated.status_topic,
        "CONSUMER_GROUP": isolated.consumer_group,
    }
    consumers = subprocess.Popen(
        [sys.executable, "-m", "consumers"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    db = mongo[isolated.mongodb_database]
    try:
        wait_for(lambda: db.homecheckins.count_documents({}) == 240, 90, "240 stored check-ins")
        wait_for(lambda: db.technicians.count_documents({}) == 4, 30, "4 technicians")
    finally:
        consumers.terminate()
        consumers.wait(timeout=30)
    histories = [[step["jobStatus"] for step in order["history"]] for order in db.orders.find({})]
    finished = [h for h in histories if h[-1] == "completed"]
    assert finished, histories  # at speed-up 40, whole lifecycles fit in 4 s
    for history in histories:
        statuses = list(dict.fromkeys(history))  # repeated position updates collapse
        assert statuses == list(LIFECYCLE[: len(statuses)]), history
    for tech in db.technicians.find({}):
        assert tech["jobStatus"] in LIFECYCLE
        assert tech["checkinCount"] == 60
