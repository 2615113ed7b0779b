"""The wire format: encode/decode, event ids, and the reasons bad messages are refused."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from checkins.envelope import (
    MAX_MESSAGE_BYTES,
    InvalidMessage,
    coordinates_event_id,
    decode,
    encode,
)
from checkins.event import SAMPLE, CheckIn

WHERE = {"topic": "HOME_CHECKIN_CREATED", "partition": 2, "offset": 41, "timezone": "Asia/Bangkok"}


def legacy(data=None) -> bytes:
    return json.dumps(
        {"topic": "HOME_CHECKIN_CREATED", "payload": {"data": data or SAMPLE}}
    ).encode()


def test_encode_then_decode_gives_the_same_checkin_id_and_time():
    checkin = CheckIn.model_validate(SAMPLE, context={"timezone": "Asia/Bangkok"})
    event_id = str(uuid.uuid4())
    produced = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    wire = json.loads(encode(checkin, "HOME_CHECKIN_CREATED", event_id, produced))
    assert set(wire) == {"uuid", "timestamp", "topic", "payload"}
    assert wire["timestamp"] == "2026-01-02T03:04:05.678Z"
    event = decode(json.dumps(wire).encode(), **WHERE)
    assert (event.event_id, event.checkin, event.produced_at) == (event_id, checkin, produced)


def test_a_legacy_message_gets_a_stable_id_from_its_kafka_coordinates():
    first = decode(legacy(), **WHERE)
    again = decode(legacy(), **WHERE)
    elsewhere = decode(legacy(), **{**WHERE, "offset": 42})
    assert first.event_id == again.event_id == coordinates_event_id("HOME_CHECKIN_CREATED", 2, 41)
    assert elsewhere.event_id != first.event_id
    assert first.produced_at is None


def test_a_malformed_uuid_falls_back_to_the_coordinates_id():
    value = json.dumps({"uuid": "not-a-uuid", "payload": {"data": SAMPLE}}).encode()
    assert decode(value, **WHERE).event_id == coordinates_event_id("HOME_CHECKIN_CREATED", 2, 41)


@pytest.mark.parametrize(
    "value, reason",
    [
        (b'{"A":"B"}', "payload.data"),
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (None, "empty message"),
        (b'{"payload": {"data": "text"}}', "payload.data"),
        (legacy({**SAMPLE, "checkinLatitude": 999}), "checkinLatitude"),
        (legacy({**SAMPLE, "checkinDate": "18/03/2021"}), "checkinDate"),
        (legacy({k: v for k, v in SAMPLE.items() if k != "orderNo"}), "orderNo"),
        (b" " * (MAX_MESSAGE_BYTES + 1), "limit"),
    ],
)
def test_bad_messages_are_refused_with_a_reason(value, reason):
    with pytest.raises(InvalidMessage) as err:
        decode(value, **WHERE)
    assert reason in err.value.reason


@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_escape_as_anything_but_invalid_message(value):
    try:
        decode(value, **WHERE)
    except InvalidMessage as exc:
        assert exc.reason


def test_json_nested_too_deeply_is_refused_not_a_crash():
    with pytest.raises(InvalidMessage) as err:
        decode(b"[" * 60_000, **WHERE)
    assert "nested too deeply" in err.value.reason


def test_a_number_too_long_to_convert_is_refused_not_a_crash():
    with pytest.raises(InvalidMessage) as err:
        decode(b'{"payload": {"data": {"internetNo": 1' + b"0" * 5000 + b"}}}", **WHERE)
    assert "not valid JSON" in err.value.reason
