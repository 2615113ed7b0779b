"""The publish page, run by Streamlit's AppTest against the real broker: what it publishes is
read back from this test's own topic."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Consumer, TopicPartition
from streamlit.testing.v1 import AppTest

from checkins.clients import kafka_config
from checkins.envelope import decode
from checkins.event import SAMPLE, CheckIn
from checkins.settings import Settings, get_settings
from stack.paths import ROOT
from stack.services import DASHBOARD_ENTRY
from tests.waiting import wait_for

APP = str(ROOT / DASHBOARD_ENTRY)
PAGE = "pages/publish.py"


def use(monkeypatch, settings: Settings, **extra: str) -> None:
    """Point the dashboard (which reads get_settings()) at these settings."""
    for name in ("mongodb_database", "checkin_topic", "checkin_dlq_topic", "consumer_group"):
        monkeypatch.setenv(name.upper(), str(getattr(settings, name)))
    for name, value in extra.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


@pytest.fixture
def topic(isolated, monkeypatch):
    use(monkeypatch, isolated)
    yield isolated
    get_settings.cache_clear()


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(f"../{PAGE}").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def messages(settings: Settings, expected: int, timeout: float = 30) -> list:
    """Every message on the test's check-in topic, once `expected` of them are there."""
    consumer = Consumer(
        kafka_config(
            settings, **{"group.id": f"reader-{uuid.uuid4().hex}", "enable.auto.commit": False}
        )
    )
    try:
        partitions = range(settings.checkin_partitions)

        def count() -> int:
            return sum(
                consumer.get_watermark_offsets(TopicPartition(settings.checkin_topic, p), 5)[1]
                for p in partitions
            )

        wait_for(lambda: count() >= expected, timeout, f"{expected} messages on the topic")
        total = count()
        consumer.assign([TopicPartition(settings.checkin_topic, p, 0) for p in partitions])
        found: list = []

        def read_all() -> bool:
            msg = consumer.poll(0.2)
            if msg is not None and msg.error() is None:
                found.append(msg)
            return len(found) >= total

        wait_for(read_all, timeout, "reading the topic back", interval=0)
        return found
    finally:
        consumer.close()


def text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [s.value for s in at.success] + [e.value for e in at.error]
    return "\n".join(parts) + "\n".join(i.value for i in at.info)


def test_the_form_starts_with_the_seeds_sample(topic):
    at = open_page()
    for name in ("internetNo", "orderNo", "staffCode", "jobStatus", "checkinDate"):
        assert at.text_input(key=f"pub_{name}").value == SAMPLE[name]
    assert at.number_input(key="pub_checkinLatitude").value == SAMPLE["checkinLatitude"]
    assert at.number_input(key="pub_checkinLongitude").value == SAMPLE["checkinLongitude"]
    assert uuid.UUID(at.text_input(key="pub_event_id").value)


def test_submitting_the_form_publishes_the_check_in_keyed_by_staff_code(topic):
    at = open_page()
    staff = f"tech_{uuid.uuid4().hex[:8]}"
    event_id = at.text_input(key="pub_event_id").value
    at.text_input(key="pub_staffCode").input(staff)
    at.number_input(key="pub_checkinLatitude").set_value(13.7)
    at.number_input(key="pub_checkinLongitude").set_value(100.6)
    at.text_input(key="pub_checkinDate").input("2026-01-05 09:30:00")
    at.button(key="FormSubmitter:publish_form-Publish check-in").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]

    [msg] = messages(topic, 1)
    assert msg.key() == staff.encode()
    event = decode(msg.value(), topic=msg.topic(), partition=msg.partition(), offset=msg.offset())
    assert event.event_id == event_id
    assert event.checkin == CheckIn.model_validate(
        {
            **SAMPLE,
            "staffCode": staff,
            "checkinLatitude": 13.7,
            "checkinLongitude": 100.6,
            "checkinDate": "2026-01-05T02:30:00Z",  # read in Asia/Bangkok
        }
    )
    shown = "\n".join(s.value for s in at.success)
    assert f"topic {topic.checkin_topic}, partition {msg.partition()}, offset {msg.offset()}" in (
        shown
    )
    assert at.button(key="pub_to_map").label == "See it on the map"
    assert at.text_input(key="pub_event_id").value != event_id  # the next publish is a new event


def test_a_bad_field_shows_the_schemas_error_beside_it_and_publishes_nothing(topic):
    at = open_page()
    at.number_input(key="pub_checkinLatitude").set_value(123.0)
    at.text_input(key="pub_staffCode").input("")
    at.button(key="FormSubmitter:publish_form-Publish check-in").click().run()

    errors = [e.value for e in at.error]
    assert any("less than or equal to 90" in e for e in errors), errors
    assert any("Required" in e for e in errors), errors
    assert not at.success
    # beside its field: the error is the element right after the latitude box in its column
    column = next(
        c for c in at.columns if any(n.key == "pub_checkinLatitude" for n in c.number_input)
    )
    children = list(column.children.values())
    latitude = next(
        i for i, c in enumerate(children) if getattr(c, "key", None) == "pub_checkinLatitude"
    )
    assert "less than or equal to 90" in children[latitude + 1].value
    consumer = Consumer(kafka_config(topic, **{"group.id": uuid.uuid4().hex}))
    try:
        ends = [
            consumer.get_watermark_offsets(TopicPartition(topic.checkin_topic, p), 5)[1]
            for p in range(topic.checkin_partitions)
        ]
    finally:
        consumer.close()
    assert sum(ends) == 0


def test_the_seeds_example_button_publishes_the_sample(topic):
    at = open_page()
    at.button(key="pub_send_sample").click().run()
    [msg] = messages(topic, 1)
    assert msg.key() == b"cs_eng_ftth"
    event = decode(msg.value(), topic=msg.topic(), partition=msg.partition(), offset=msg.offset())
    assert event.checkin == CheckIn.model_validate(SAMPLE)
    assert f"offset {msg.offset()}" in text(at)


def test_the_raw_box_sends_the_bytes_as_they_are(topic):
    at = open_page()
    junk = '{"A":"B", "note": "<b>not a check-in</b>"}'
    at.text_area(key="pub_raw").input(junk)
    at.text_input(key="pub_raw_key").input("junk-key")
    at.button(key="pub_raw_send").click().run()
    [msg] = messages(topic, 1)
    assert msg.value() == junk.encode()
    assert msg.key() == b"junk-key"
    assert f"Kafka acknowledged {len(junk.encode())} raw bytes" in text(at)


def test_the_simulator_publishes_rate_times_duration_check_ins(topic):
    at = open_page()
    at.number_input(key="sim_technicians").set_value(4)
    at.number_input(key="sim_rate").set_value(20)
    at.number_input(key="sim_duration").set_value(2)
    at.button(key="FormSubmitter:sim_form-Start the simulator").click().run()
    run = at.session_state["sim_run"]
    wait_for(lambda: not run.running, 30, "the simulator to finish")
    assert (run.progress.sent, run.progress.acked, run.progress.failed) == (40, 40, 0)
    found = messages(topic, 40)
    assert len(found) == 40
    assert {m.key() for m in found} == {b"sim_0001", b"sim_0002", b"sim_0003", b"sim_0004"}
    at.run()
    assert "done: sent 40 of 40 check-ins, 40 acknowledged, 0 failed" in [
        p.proto.text for p in at.get("progress")
    ]


def test_with_publishing_switched_off_the_page_says_so_and_shows_no_form(isolated, monkeypatch):
    use(monkeypatch, isolated, DEMO_PUBLISH_ENABLED="false")
    try:
        at = open_page()
    finally:
        get_settings.cache_clear()
    assert "switched off" in text(at)
    assert not at.text_input and not at.text_area and not at.number_input
    assert not at.button and not at.get("form")


def test_the_simulators_stop_button_ends_a_run_early(topic):
    at = open_page()
    at.number_input(key="sim_technicians").set_value(3)
    at.number_input(key="sim_rate").set_value(10)
    at.number_input(key="sim_duration").set_value(600)
    at.button(key="FormSubmitter:sim_form-Start the simulator").click().run()
    run = at.session_state["sim_run"]
    try:
        assert run.running
        wait_for(lambda: run.progress.acked >= 3, 30, "the first check-ins to be acknowledged")
        at.run()
        assert at.button(key="FormSubmitter:sim_form-Start the simulator").disabled
        at.button(key="sim_stop").click().run()
        wait_for(lambda: not run.running, 30, "the simulator to stop")
    finally:
        run.stop.set()  # never leave a thread sending after the test
    progress = run.progress
    assert progress.stopped and progress.sent < 6000
    assert progress.acked == progress.sent and progress.failed == 0
    assert len(messages(topic, progress.sent)) == progress.sent
    at.run()
    assert not at.button(key="FormSubmitter:sim_form-Start the simulator").disabled
    assert any(p.proto.text.startswith("stopped: sent") for p in at.get("progress"))
