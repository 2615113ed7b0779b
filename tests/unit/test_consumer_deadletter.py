"""Dead-letter headers follow Kafka Connect's DLQ context names."""

from datetime import UTC, datetime

from consumers.deadletter import MAX_REASON, dlq_headers


def test_dead_letter_headers_name_the_source_the_error_and_the_time():
    headers = dict(
        dlq_headers(
            topic="HOME_CHECKIN_CREATED",
            partition=4,
            offset=1234,
            reason="not valid JSON: Expecting value",
            failed_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        )
    )
    assert headers["__connect.errors.topic"] == b"HOME_CHECKIN_CREATED"
    assert headers["__connect.errors.partition"] == b"4"
    assert headers["__connect.errors.offset"] == b"1234"
    assert headers["__connect.errors.exception.message"] == b"not valid JSON: Expecting value"
    assert headers["__connect.errors.exception.class.name"] == b"checkins.envelope.InvalidMessage"
    assert headers["__connect.errors.timestamp"] == b"2026-01-02T03:04:05.000Z"


def test_a_very_long_reason_is_cut_to_a_header_sized_message():
    headers = dict(
        dlq_headers(
            topic="t", partition=0, offset=0, reason="x" * 10_000, failed_at=datetime.now(UTC)
        )
    )
    assert len(headers["__connect.errors.exception.message"]) == MAX_REASON
