"""The consumers on the real broker and store: check-ins land in all three read models,
exactly once, bad messages go to the dead-letter topic with their context, and a rebuild from
`homecheckins` gives the same read models as the live path."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from confluent_kafka import Consumer, Producer

from checkins.clients import kafka_config
from checkins.envelope import coordinates_event_id, encode
from checkins.event import SAMPLE, CheckIn
from checkins.producer import CheckInProducer
from consumers.loop import CheckInConsumer
from consumers.rebuild import rebuild_database
from readmodels import timeline
from tests.waiting import wait_for


@contextmanager
def running_consumer(settings, **kwargs) -> Iterator[CheckInConsumer]:
    """The consumer in a thread of this process; stopped (gracefully) on exit."""
    consumer = CheckInConsumer(settings, threading.Event(), poll_timeout=0.2, **kwargs)
    errors: list[BaseException] = []

    def target() -> None:
        try:
            consumer.run()
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    thread = threading.Thread(target=target, name="consumer", daemon=True)
    thread.start()
    try:
        yield consumer
    finally:
        consumer.stop.set()
        thread.join(60)
        assert not thread.is_alive(), "the consumer did not stop within 60 s"
    assert not errors, f"the consumer failed: {errors[0]!r}"


def checkin(**changes) -> CheckIn:
    return CheckIn.model_validate({**SAMPLE, **changes})


def staff() -> str:
    return f"tech_{uuid.uuid4().hex[:8]}"


def db_of(mongo, settings):
    return mongo[settings.mongodb_database]


def read_dlq(settings, count: int, timeout: float = 30):
    consumer = Consumer(
        kafka_config(
            settings,
            **{"group.id": f"dlq-reader-{uuid.uuid4().hex}", "auto.offset.reset": "earliest"},
        )
    )
    consumer.subscribe([settings.checkin_dlq_topic])
    got = []
    try:

        def enough():
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                got.append(msg)
            return len(got) >= count

        wait_for(enough, timeout, f"{count} dead letters")
    finally:
        consumer.close()
    return got


def test_a_valid_checkin_lands_in_all_three_read_models(isolated, mongo):
    producer = CheckInProducer(isolated)
    code = staff()
    delivery = producer.publish(checkin(staffCode=code))
    db = db_of(mongo, isolated)
    with running_consumer(isolated):
        doc = wait_for(lambda: db.homecheckins.find_one({"_id": delivery.event_id}), 60, "store")
        tech = wait_for(lambda: db.technicians.find_one({"_id": code}), 30, "technician")
        order = wait_for(lambda: db.orders.find_one({"_id": SAMPLE["orderNo"]}), 30, "order")

    stored_date = datetime(2021, 3, 18, 3, 13, 43, tzinfo=UTC)  # 10:13:43 in Bangkok
    assert doc["staffCode"] == code and doc["internetNo"] == "8850049302"
    assert doc["checkinDate"] == stored_date
    assert doc["location"] == {"type": "Point", "coordinates": [100.5465937, 13.7827811]}
    assert doc["source"]["topic"] == isolated.checkin_topic
    assert (doc["source"]["partition"], doc["source"]["offset"]) == (
        delivery.partition,
        delivery.offset,
    )
    assert doc["source"]["timestamp"] is not None and doc["storedAt"] == doc["createdAt"]
    assert tech["eventId"] == delivery.event_id and tech["checkinCount"] == 1
    assert tech["firstSeen"] == tech["lastSeen"] == tech["checkinDate"] == stored_date
    assert order["jobStatus"] == "homecheckedin" and order["staffCode"] == code
    assert [h["eventId"] for h in order["history"]] == [delivery.event_id]
    # The local store (FerretDB) uses no secondary index, so the consumers make none there.
    assert [i["name"] for i in db.homecheckins.list_indexes()] == ["_id_"]


def test_a_legacy_envelope_without_uuid_lands_with_an_id_from_its_coordinates(isolated, mongo):
    code = staff()
    legacy = {"topic": "HOME_CHECKIN_CREATED", "payload": {"data": {**SAMPLE, "staffCode": code}}}
    producer = Producer(kafka_config(isolated))
    delivered = []
    producer.produce(
        isolated.checkin_topic,
        json.dumps(legacy).encode(),
        on_delivery=lambda e, m: delivered.append(m),
    )
    producer.flush(15)
    msg = delivered[0]
    expected = coordinates_event_id(msg.topic(), msg.partition(), msg.offset())
    db = db_of(mongo, isolated)
    with running_consumer(isolated):
        doc = wait_for(lambda: db.homecheckins.find_one({"staffCode": code}), 60, "legacy event")
    assert doc["_id"] == expected
    assert doc["source"]["producedAt"] is None


def test_bad_messages_go_to_the_dlq_with_headers_and_the_next_good_one_lands(isolated, mongo):
    producer = CheckInProducer(isolated)
    bad_latitude = json.loads(encode(checkin(), isolated.checkin_topic, str(uuid.uuid4())))
    bad_latitude["payload"]["data"]["checkinLatitude"] = 999
    bad = [b'{"A":"B"}', b"{not json", json.dumps(bad_latitude).encode()]
    key = b"same-partition"
    for value in bad:
        producer.produce_raw(value, key=key)
    code = staff()
    good = producer.publish(checkin(staffCode=code))
    db = db_of(mongo, isolated)
    with running_consumer(isolated):
        wait_for(lambda: db.homecheckins.find_one({"_id": good.event_id}), 60, "the good event")
        letters = read_dlq(isolated, 3)

    assert sorted(m.value() for m in letters) == sorted(bad)
    for m in letters:
        headers = {k: v.decode() for k, v in m.headers()}
        assert headers["__connect.errors.topic"] == isolated.checkin_topic
        assert headers["__connect.errors.partition"].isdigit()
        assert headers["__connect.errors.offset"].isdigit()
        assert headers["__connect.errors.exception.message"]
        assert datetime.fromisoformat(headers["__connect.errors.timestamp"]).tzinfo is not None
        assert m.key() == key
    reasons = {m.value(): dict(m.headers())["__connect.errors.exception.message"] for m in letters}
    assert b"checkinLatitude" in reasons[bad[2]]
    assert b"JSON" in reasons[bad[1]]
    assert db.homecheckins.count_documents({}) == 1


def test_the_same_message_delivered_twice_leaves_one_document(isolated, mongo):
    producer = CheckInProducer(isolated)
    code = staff()
    event_id = str(uuid.uuid4())
    value = encode(checkin(staffCode=code), isolated.checkin_topic, event_id)
    db = db_of(mongo, isolated)
    with running_consumer(isolated):
        producer.produce_raw(value, key=code.encode())
        wait_for(lambda: db.homecheckins.find_one({"_id": event_id}), 60, "the first copy")
        producer.produce_raw(value, key=code.encode())
        marker = producer.publish(checkin(staffCode=code, checkinDate="2021-03-18 09:00:00"))
        wait_for(lambda: db.homecheckins.find_one({"_id": marker.event_id}), 60, "the marker")
    assert db.homecheckins.count_documents({"_id": event_id}) == 1
    tech = db.technicians.find_one({"_id": code})
    assert tech["checkinCount"] == 2  # the event and the marker, not the copy
    order = db.orders.find_one({"_id": SAMPLE["orderNo"]})
    assert [h["eventId"] for h in order["history"]].count(event_id) == 1


def test_a_late_older_event_does_not_move_a_technician_back(isolated, mongo):
    producer = CheckInProducer(isolated)
    code = staff()
    newer = producer.publish(
        checkin(
            staffCode=code,
            checkinDate="2021-03-18 12:00:00",
            jobStatus="done",
            checkinLatitude=14.0,
        )
    )
    db = db_of(mongo, isolated)
    with running_consumer(isolated):
        wait_for(lambda: db.technicians.find_one({"_id": code}), 60, "the technician")
        older = producer.publish(
            checkin(
                staffCode=code,
                checkinDate="2021-03-18 08:00:00",
                jobStatus="started",
                checkinLatitude=13.0,
            )
        )
        wait_for(
            lambda: (db.technicians.find_one({"_id": code}) or {}).get("checkinCount") == 2,
            60,
            "the late event to be counted",
        )
    tech = db.technicians.find_one({"_id": code})
    assert tech["eventId"] == newer.event_id
    assert (tech["jobStatus"], tech["checkinLatitude"]) == ("done", 14.0)
    assert tech["firstSeen"] == datetime(2021, 3, 18, 1, 0, tzinfo=UTC)
    assert tech["lastSeen"] == tech["checkinDate"] == datetime(2021, 3, 18, 5, 0, tzinfo=UTC)
    order = db.orders.find_one({"_id": SAMPLE["orderNo"]})
    assert [h["eventId"] for h in order["history"]] == [older.event_id, newer.event_id]
    assert order["jobStatus"] == "done"


def test_a_status_change_is_announced(isolated, mongo):
    producer = CheckInProducer(isolated)
    order_no = f"order-{uuid.uuid4().hex[:8]}"
    producer.publish(checkin(orderNo=order_no, checkinDate="2021-03-18 10:00:00"))
    db = db_of(mongo, isolated)
    with running_consumer(isolated):
        wait_for(lambda: db.orders.find_one({"_id": order_no}), 60, "the order")
        producer.publish(
            checkin(orderNo=order_no, jobStatus="completed", checkinDate="2021-03-18 11:00:00")
        )
        wait_for(
            lambda: (db.orders.find_one({"_id": order_no}) or {}).get("jobStatus") == "completed",
            60,
            "the new status",
        )
    reader = Consumer(
        kafka_config(
            isolated, **{"group.id": f"status-{uuid.uuid4().hex}", "auto.offset.reset": "earliest"}
        )
    )
    reader.subscribe([isolated.status_topic])
    notices = []
    try:

        def two():
            msg = reader.poll(0.5)
            if msg is not None and msg.error() is None:
                notices.append(json.loads(msg.value()))
            return len(notices) >= 2

        wait_for(two, 30, "two status notices")
    finally:
        reader.close()
    assert [(n["oldStatus"], n["newStatus"]) for n in notices] == [
        (None, "homecheckedin"),
        ("homecheckedin", "completed"),
    ]
    assert {n["orderNo"] for n in notices} == {order_no}
    assert all("time" in n and "staffCode" not in n for n in notices)


def test_rebuild_reproduces_the_read_models_exactly(isolated, mongo):
    producer = CheckInProducer(isolated)
    staffs = [staff() for _ in range(5)]
    sent = 0
    for i in range(200):
        producer.publish_async(
            checkin(
                staffCode=staffs[i % 5],
                orderNo=f"order-{i % 17}",
                jobStatus=["homecheckedin", "working", "done"][i % 3],
                checkinDate=f"2021-03-{1 + (i * 7) % 28:02d} {(i * 5) % 24:02d}:00:00",
            )
        )
        sent += 1
    assert producer.flush(30) == 0
    db = db_of(mongo, isolated)
    with running_consumer(isolated, batch_size=37):
        wait_for(lambda: db.homecheckins.count_documents({}) == sent, 120, "all events stored")
        wait_for(
            lambda: sum(t["checkinCount"] for t in db.technicians.find()) == sent,
            60,
            "technicians to count every event",
        )
    live = {
        name: sorted(db[name].find(), key=lambda d: d["_id"]) for name in ("technicians", "orders")
    }
    march = (datetime(2021, 2, 28, tzinfo=UTC), datetime(2021, 3, 30, tzinfo=UTC))
    live_points, _ = timeline.window_points(db, *march, cap=1000)
    assert len(live["orders"]) == 17 and len(live_points) == sent
    counts = rebuild_database(isolated)
    assert (counts["technicians"], counts["orders"]) == (5, 17)
    for name, before in live.items():
        assert sorted(db[name].find(), key=lambda d: d["_id"]) == before, name
    assert timeline.window_points(db, *march, cap=1000)[0] == live_points


def test_a_batch_touching_hundreds_of_orders_and_technicians_lands(isolated, mongo):
    """One consumed batch that changes 300 orders and 150 technicians (FerretDB 1.24 hangs on
    an update command of 100+ statements; the store writes in smaller bulks)."""
    producer = CheckInProducer(isolated)
    for i in range(300):
        producer.publish_async(
            checkin(staffCode=f"bulk-staff-{i % 150}", orderNo=f"bulk-order-{i}")
        )
    assert producer.flush(30) == 0
    db = db_of(mongo, isolated)
    with running_consumer(isolated, batch_size=1000):
        wait_for(lambda: db.orders.estimated_document_count() == 300, 120, "300 orders")
        wait_for(
            lambda: sum(t["checkinCount"] for t in db.technicians.find()) == 300,
            60,
            "150 technicians with 2 check-ins each",
        )
    assert db.technicians.count_documents({}) == 150
