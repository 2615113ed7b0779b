"""The clock-skew guard on the real services: the API refuses a check-in dated too far ahead
(422 naming checkinDate, nothing published); the same check-in as a raw Kafka message ends on
the dead-letter topic, bytes unchanged, with the reason; and after the README's `--speedup`
demo (scaled down) every simulated technician is on the live map."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from confluent_kafka import Producer
from streamlit.testing.v1 import AppTest

from checkins.clients import kafka_config
from checkins.envelope import encode
from checkins.event import SAMPLE, CheckIn
from checkins.settings import get_settings
from checkins.times import iso_utc
from stack.paths import ROOT
from stack.services import DASHBOARD_ENTRY
from tests.integration.api_server import messages_on_topic, running_api, running_consumers
from tests.integration.test_pipeline import read_dlq, running_consumer
from tests.integration.test_publish_simulator_cli import simulate
from tests.waiting import wait_for

PATH = "/api/SOA/home/checkin"
REASON = "__connect.errors.exception.message"


def _body(staff: str, date: datetime) -> dict:
    return {**SAMPLE, "staffCode": staff, "checkinDate": iso_utc(date)}


def test_the_api_refuses_a_checkin_dated_too_far_ahead(isolated, tmp_path):
    now = datetime.now(UTC)
    with (
        running_api(isolated, tmp_path / "api.log") as api,
        httpx.Client(base_url=api.base_url, timeout=30) as client,
    ):
        tomorrow = client.post(PATH, json=_body("skewed", now + timedelta(days=1)))
        assert tomorrow.status_code == 422, tomorrow.text
        problem = tomorrow.json()
        assert problem["error"] == "invalid_checkin"
        assert [e["field"] for e in problem["errors"]] == ["checkinDate"]
        assert "ahead of the time it was sent" in problem["errors"][0]["problem"]
        assert messages_on_topic(isolated) == 0  # refused before Kafka

        soon = client.post(PATH, json=_body("on_time", now + timedelta(minutes=2)))
        assert soon.status_code == 200, soon.text
    assert messages_on_topic(isolated) == 1


def test_a_raw_kafka_message_dated_too_far_ahead_is_dead_lettered_with_the_reason(isolated, mongo):
    now = datetime.now(UTC)
    ahead = CheckIn.model_validate(_body("skewed", now + timedelta(hours=3)))
    enveloped = encode(ahead, isolated.checkin_topic, str(uuid.uuid4()), produced_at=now)
    legacy_data = _body("legacy", ahead.checkinDate)
    legacy = {"topic": isolated.checkin_topic, "payload": {"data": legacy_data}}
    legacy_bytes = json.dumps(legacy).encode()  # no timestamp: the Kafka message time counts
    good = CheckIn.model_validate(_body("on_time", now))
    producer = Producer(kafka_config(isolated))
    for value in (enveloped, legacy_bytes, encode(good, isolated.checkin_topic, "good-id")):
        producer.produce(isolated.checkin_topic, value, key=b"one-partition")
    assert producer.flush(15) == 0
    db = mongo[isolated.mongodb_database]
    with running_consumer(isolated):
        wait_for(lambda: db.technicians.find_one({"_id": "on_time"}), 60, "the good check-in")
        letters = read_dlq(isolated, 2)
    assert sorted(m.value() for m in letters) == sorted([enveloped, legacy_bytes])
    for letter in letters:
        reason = dict(letter.headers())[REASON].decode()
        assert reason.startswith("checkinDate: is ") and "ahead of the time it was sent" in reason
    assert db.technicians.find_one({"_id": "skewed"}) is None
    assert db.technicians.find_one({"_id": "legacy"}) is None


def test_after_the_speedup_demo_every_simulated_technician_is_on_the_map(
    isolated, mongo, tmp_path, monkeypatch
):
    """The README's demo (200 technicians, 50/s, 60 s, speedup 10) at a tenth of its size and
    duration, with the speedup raised to 100 so that its simulated clock again ends ten minutes
    ahead of the wall clock (what hid the technicians before)."""
    done = simulate(
        isolated, "--technicians", "20", "--rate", "50", "--duration", "6", "--speedup", "100"
    )
    assert done.returncode == 0, done.stderr
    db = mongo[isolated.mongodb_database]
    with running_consumers(isolated, tmp_path / "consumers.log"):
        wait_for(lambda: db.homecheckins.count_documents({}) == 300, 90, "300 stored check-ins")
    for name in ("mongodb_database", "checkin_topic", "checkin_dlq_topic", "consumer_group"):
        monkeypatch.setenv(name.upper(), str(getattr(isolated, name)))
    get_settings.cache_clear()
    try:
        at = AppTest.from_file(str(ROOT / DASHBOARD_ENTRY), default_timeout=60)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        [chart] = at.get("deck_gl_json_chart")
        shown = {p["staffCode"] for p in json.loads(chart.proto.json)["layers"][0]["data"]}
        assert shown == {f"sim_{i:04d}" for i in range(1, 21)}
        assert any("20 technicians on the map" in m.value for m in at.markdown)
    finally:
        get_settings.cache_clear()
