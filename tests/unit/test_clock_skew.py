"""The clock-skew guard (checkins/skew.py) at its boundaries, and where it applies: the wire
decode (envelope timestamp, else the Kafka message timestamp) and the publish form."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from checkins.envelope import InvalidMessage, decode
from checkins.event import SAMPLE
from checkins.skew import DEFAULT_MAX_FUTURE, future_problem
from checkins.times import iso_utc
from dashboard.publish import checkin_from_form, sample_values

SENT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
WHERE = {"topic": "HOME_CHECKIN_CREATED", "partition": 0, "offset": 7}
MS = timedelta(milliseconds=1)


def test_the_default_allows_five_minutes():
    assert timedelta(minutes=5) == DEFAULT_MAX_FUTURE


@pytest.mark.parametrize(
    ("ahead", "refused"),
    [
        (-timedelta(days=400), False),  # the past is never refused here
        (timedelta(0), False),
        (DEFAULT_MAX_FUTURE - MS, False),
        (DEFAULT_MAX_FUTURE, False),  # exactly the limit is accepted
        (DEFAULT_MAX_FUTURE + MS, True),
        (timedelta(days=1), True),
    ],
)
def test_refused_only_beyond_the_limit(ahead, refused):
    problem = future_problem(SENT + ahead, SENT, DEFAULT_MAX_FUTURE)
    assert (problem is not None) == refused
    if refused:
        assert "ahead of the time it was sent" in problem and "CHECKIN_MAX_FUTURE" in problem


def test_a_zero_limit_refuses_any_date_after_sending():
    assert future_problem(SENT, SENT, timedelta(0)) is None
    assert future_problem(SENT + MS, SENT, timedelta(0)) is not None


def test_without_a_produce_time_there_is_nothing_to_compare():
    assert future_problem(SENT + timedelta(days=9), None, DEFAULT_MAX_FUTURE) is None


def _message(date: datetime, timestamp: datetime | None) -> bytes:
    envelope = {"topic": "HOME_CHECKIN_CREATED", "payload": {"data": {**SAMPLE}}}
    envelope["payload"]["data"]["checkinDate"] = iso_utc(date)
    if timestamp is not None:
        envelope["timestamp"] = iso_utc(timestamp)
    return json.dumps(envelope).encode()


def test_decode_compares_with_the_envelopes_timestamp():
    ok = SENT + DEFAULT_MAX_FUTURE
    assert decode(_message(ok, SENT), **WHERE).checkin.checkinDate == ok
    with pytest.raises(InvalidMessage) as refused:
        decode(_message(SENT + timedelta(hours=2), SENT), **WHERE)
    assert refused.value.reason.startswith("checkinDate: is 2.0 h ahead")
    # The envelope's time wins over the Kafka message timestamp.
    late_kafka_clock = SENT + timedelta(hours=3)
    with pytest.raises(InvalidMessage):
        decode(_message(SENT + timedelta(hours=2), SENT), **WHERE, message_time=late_kafka_clock)


def test_a_legacy_message_is_compared_with_the_kafka_message_timestamp():
    legacy = _message(SENT + timedelta(minutes=6), None)
    with pytest.raises(InvalidMessage) as refused:
        decode(legacy, **WHERE, message_time=SENT)
    assert "checkinDate" in refused.value.reason and "6 min ahead" in refused.value.reason
    assert decode(legacy, **WHERE, message_time=SENT + timedelta(minutes=1)).checkin
    assert decode(legacy, **WHERE).checkin  # no time at all: nothing to compare


def test_decode_takes_the_configured_limit():
    value = _message(SENT + timedelta(minutes=6), SENT)
    assert decode(value, **WHERE, max_future=timedelta(minutes=10)).checkin
    with pytest.raises(InvalidMessage):
        decode(value, **WHERE, max_future=timedelta(minutes=1))


def test_the_form_puts_the_error_beside_the_date():
    values = {**sample_values(), "checkinDate": iso_utc(SENT + timedelta(minutes=30))}
    result = checkin_from_form(values, "Asia/Bangkok", now=SENT)
    assert not result.ok
    assert set(result.errors) == {"checkinDate"}
    assert "30 min ahead" in result.errors["checkinDate"]
    values["checkinDate"] = iso_utc(SENT + timedelta(minutes=4))
    assert checkin_from_form(values, "Asia/Bangkok", now=SENT).ok
