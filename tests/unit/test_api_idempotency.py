"""Idempotency-Key -> event id: a UUID as it is, any other key a stable UUIDv5."""

from __future__ import annotations

import uuid

import pytest

from api.idempotency import KEY_NAMESPACE, event_id_for_key


def test_a_uuid_key_is_the_event_id_in_canonical_form():
    key = "6F9619FF-8B86-D011-B42D-00C04FC964FF"
    assert event_id_for_key(key) == key.lower()
    assert event_id_for_key("{" + key + "}") == key.lower()


def test_any_other_key_gives_the_same_uuid5_every_time_and_different_keys_differ():
    first = event_id_for_key("order-5960915/attempt")
    assert first == event_id_for_key("order-5960915/attempt")
    assert first == str(uuid.uuid5(KEY_NAMESPACE, "order-5960915/attempt"))
    assert uuid.UUID(first).version == 5
    assert first != event_id_for_key("order-5960916/attempt")


def test_the_namespace_never_changes():
    # Changing it would give every client's old keys new ids: retries across a deploy duplicate.
    assert event_id_for_key("abc") == "e303e540-4711-5cfa-83cb-be1333af0440"


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("k" * 256, "at most 255"),
        ("a b", "visible ASCII"),
        ("caf\u00e9", "visible ASCII"),
        ("tab\there", "visible ASCII"),
    ],
)
def test_unusable_keys_are_refused_with_the_reason(key, words):
    with pytest.raises(ValueError, match=words):
        event_id_for_key(key)
