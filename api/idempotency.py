"""`Idempotency-Key` -> the event id, so a client's retry names the same event.

A key that is a UUID is the event id itself (in canonical lower-case form). Any other key
(1-255 visible ASCII characters) becomes a UUIDv5 of the key under `KEY_NAMESPACE`, so the same
key always gives the same id. The consumers upsert by event id: two sends, one check-in.
"""

from __future__ import annotations

import uuid

# Fixed forever: changing it would give old keys new ids and break retries across a deploy.
KEY_NAMESPACE = uuid.UUID("3d0f5a52-58d4-4b8e-9a0c-4f2b1e7c6a19")
MAX_KEY_LENGTH = 255


def event_id_for_key(key: str) -> str:
    """The event id for an `Idempotency-Key` value; ValueError says what is wrong with it."""
    key = key.strip()
    if not key:
        raise ValueError("must not be empty")
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"must be at most {MAX_KEY_LENGTH} characters")
    if not all(" " < ch < "\x7f" for ch in key):
        raise ValueError("must be visible ASCII characters without spaces")
    try:
        return str(uuid.UUID(key))
    except ValueError:
        return str(uuid.uuid5(KEY_NAMESPACE, key))
