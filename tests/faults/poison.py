"""Malformed check-in messages, by kind, from a seeded generator (pure: bytes in, bytes out).

Each kind is something no consumer may store: random bytes, wrong types, huge strings, MongoDB
operators where a value belongs, NaN/Infinity, dates far in the past or future, empty values.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from typing import Any

from checkins.event import SAMPLE

# A maker returns the message value and a text its dead letter's reason must contain.
Maker = Callable[[random.Random], tuple[bytes | None, str]]
FIELDS = list(SAMPLE)


def envelope(data: Any, rng: random.Random, **extra: Any) -> dict[str, Any]:
    return {
        "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "timestamp": "2026-11-26T10:00:00.000Z",
        "topic": "HOME_CHECKIN_CREATED",
        "payload": {"data": data},
        **extra,
    }


def with_field(rng: random.Random, name: str, value: Any) -> tuple[bytes, str]:
    return json_bytes(envelope({**SAMPLE, name: value}, rng)), f"{name}:"


def json_bytes(value: Any) -> bytes:
    # allow_nan: Python writes NaN/Infinity as the bare literals some producers send.
    return json.dumps(value, allow_nan=True).encode()


def random_bytes(rng: random.Random) -> tuple[bytes, str]:
    # Never starts with a digit, quote, bracket or letter: so it is never valid JSON.
    first = rng.choice([0x00, 0x80, 0xFF, 0x7F, 0x01])
    return bytes([first] + [rng.getrandbits(8) for _ in range(rng.randint(0, 2000))]), "JSON"


def truncated_json(rng: random.Random) -> tuple[bytes, str]:
    whole = json_bytes(envelope(SAMPLE, rng))
    return whole[: rng.randint(1, len(whole) - 1)], "not valid JSON"


def not_an_object(rng: random.Random) -> tuple[bytes, str]:
    value = rng.choice([[SAMPLE], "check-in", 42, None, True])
    return json_bytes(value), "must be a JSON object"


def no_payload(rng: random.Random) -> tuple[bytes, str]:
    shapes = [{"payload": {"data": [SAMPLE]}}, {"payload": "x"}, {"data": SAMPLE}, SAMPLE]
    return json_bytes(rng.choice(shapes)), "payload.data"


def wrong_type(rng: random.Random) -> tuple[bytes, str]:
    name, value = rng.choice(
        [
            ("staffCode", 12345),
            ("staffCode", ["cs_eng_ftth"]),
            ("orderNo", None),
            ("jobStatus", False),
            ("internetNo", True),
            ("checkinLatitude", True),
            ("checkinLatitude", "north"),
            ("checkinLongitude", [100.5]),
            ("checkinDate", 1616037223),
            ("checkinDate", {"date": "2021-03-18"}),
        ]
    )
    return with_field(rng, name, value)


def missing_field(rng: random.Random) -> tuple[bytes, str]:
    data = dict(SAMPLE)
    name = rng.choice(FIELDS)
    del data[name]
    return json_bytes(envelope(data, rng)), f"{name}: Field required"


def huge_string(rng: random.Random) -> tuple[bytes, str]:
    """Over the 64 KiB message limit, or over a field's 128 characters."""
    if rng.random() < 0.3:
        value, _ = with_field(rng, rng.choice(["staffCode", "orderNo"]), "A" * 70_000)
        return value, "the limit is 65536"
    return with_field(rng, rng.choice(["staffCode", "orderNo", "jobStatus"]), "é" * 1_000)


def operator(rng: random.Random) -> tuple[bytes, str]:
    """A MongoDB operator (nested) where a plain value belongs."""
    value = rng.choice(
        [
            {"$gt": ""},
            {"$ne": None},
            {"$where": "sleep(1000)"},
            {"$regex": ".*"},
            {"$set": {"jobStatus": "completed"}},
            {"a": {"$in": [{"$gt": 0}]}},
        ]
    )
    return with_field(rng, rng.choice(FIELDS), value)


def not_finite(rng: random.Random) -> tuple[bytes, str]:
    name = rng.choice(["checkinLatitude", "checkinLongitude", "internetNo"])
    return with_field(rng, name, rng.choice([float("nan"), float("inf"), float("-inf")]))


def far_date(rng: random.Random) -> tuple[bytes, str]:
    return with_field(
        rng,
        "checkinDate",
        rng.choice(
            [
                "0001-01-01 00:00:00",
                "1000-06-15 12:00:00",
                "1969-07-20 20:17:40",
                "9999-12-31 23:59:59",
                "9999-01-01T00:00:00Z",
                "+275760-09-13T00:00:00Z",
                "2021-02-30 10:00:00",
                "2021-03-18",
            ]
        ),
    )


def empty(_rng: random.Random) -> tuple[None, str]:
    return None, "empty message"


KINDS: dict[str, Maker] = {
    "random bytes": random_bytes,
    "truncated JSON": truncated_json,
    "not a JSON object": not_an_object,
    "no payload.data object": no_payload,
    "wrong type": wrong_type,
    "missing field": missing_field,
    "huge string": huge_string,
    "nested $ operator": operator,
    "NaN / Infinity": not_finite,
    "date far in the past or future": far_date,
    "empty value": empty,
}


def poison(rng: random.Random, count: int) -> list[tuple[str, bytes | None, str]]:
    """`count` malformed messages, every kind at least once, as (kind, value, reason part)."""
    kinds = list(KINDS) + [rng.choice(list(KINDS)) for _ in range(count - len(KINDS))]
    rng.shuffle(kinds)
    return [(kind, *KINDS[kind](rng)) for kind in kinds]
