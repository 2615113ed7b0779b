"""Fault 5: 1,000 malformed messages mixed into 10,000 valid ones. Every valid one is stored
exactly once, every malformed one is in the dead-letter topic, byte for byte, with the reason
its kind calls for, and no consumer process dies."""

from __future__ import annotations

import collections
import uuid

from confluent_kafka import Consumer, Producer

from checkins.clients import kafka_config
from checkins.envelope import encode
from tests.faults.harness import (
    assert_exactly_once,
    consumers,
    database,
    make_checkins,
    own_topics,
    wait_drained,
)
from tests.faults.poison import poison
from tests.waiting import wait_for

VALID = 10_000
MALFORMED = 1_000


def test_poison_messages_go_to_the_dlq_with_their_reason_and_nothing_valid_is_lost(
    fault_stack, rng, figures, logs
):
    with own_topics(fault_stack, "poison") as settings, database(settings) as db:
        valid = [(str(uuid.uuid4()), checkin) for checkin in make_checkins(rng, VALID, staffs=100)]
        bad = poison(rng, MALFORMED)
        messages = [("valid", i) for i in range(VALID)] + [("bad", i) for i in range(MALFORMED)]
        rng.shuffle(messages)

        acked: set[str] = set()
        bad_at: dict[tuple[int, int], int] = {}  # (partition, offset) -> index in `bad`
        refused: list[str] = []
        producer = Producer(kafka_config(settings, **{"enable.idempotence": True, "acks": "all"}))

        def report(kind: str, index: int):
            def on_delivery(err, msg) -> None:
                if err is not None:
                    refused.append(str(err))
                elif kind == "valid":
                    acked.add(valid[index][0])
                else:
                    bad_at[(msg.partition(), msg.offset())] = index

            return on_delivery

        with consumers(settings, logs, "--workers", "2") as group:
            parent = group.start()
            for kind, index in messages:
                if kind == "valid":
                    event_id, checkin = valid[index]
                    value = encode(checkin, settings.checkin_topic, event_id)
                    key = checkin.staffCode.encode()
                else:
                    value, key = bad[index][1], rng.randbytes(rng.randint(0, 16)) or None
                producer.produce(
                    settings.checkin_topic, value=value, key=key, on_delivery=report(kind, index)
                )
                producer.poll(0)
            assert producer.flush(120) == 0
            assert not refused, refused[:3]
            assert len(acked) == VALID and len(bad_at) == MALFORMED

            drain = wait_drained(db, acked, 300, "every valid check-in stored")
            letters = read_dead_letters(settings, MALFORMED)
            assert parent.poll() is None, "the consumers' parent process exited"
            assert not group.died(), group.died()
            assert group.stop(parent) == 0  # 0: no worker died on its own meanwhile

        result = assert_exactly_once(db, acked)
        seen: dict[tuple[int, int], int] = {}
        reasons: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        for letter in letters:
            headers = {k: v.decode() for k, v in letter.headers()}
            where = (
                int(headers["__connect.errors.partition"]),
                int(headers["__connect.errors.offset"]),
            )
            assert headers["__connect.errors.topic"] == settings.checkin_topic
            assert where in bad_at, f"a dead letter for a message not sent as malformed: {where}"
            kind, value, reason_part = bad[bad_at[where]]
            reason = headers["__connect.errors.exception.message"]
            assert letter.value() == value, f"{kind}: the dead letter's bytes differ"
            assert reason_part in reason, f"{kind}: reason {reason!r} lacks {reason_part!r}"
            seen[where] = seen.get(where, 0) + 1
            reasons[kind][reason.split(":")[0]] += 1
        assert set(seen) == set(bad_at), f"{len(set(bad_at) - set(seen))} malformed not in DLQ"
        assert max(seen.values()) == 1, "a malformed message was dead-lettered twice"

    figures["fault5_poison"] = {
        **result,
        "malformed": MALFORMED,
        "dead_letters": len(letters),
        "kinds": {kind: sum(c.values()) for kind, c in sorted(reasons.items())},
        "drain_s": round(drain, 1),
        "consumer_deaths": 0,
    }


def read_dead_letters(settings, count: int) -> list:
    """Every message of the dead-letter topic (waits until `count` are there)."""
    reader = Consumer(
        kafka_config(
            settings,
            **{
                "group.id": f"dlq-check-{uuid.uuid4().hex}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
            },
        )
    )
    reader.subscribe([settings.checkin_dlq_topic])
    letters = []
    try:

        def all_read() -> bool:
            for msg in reader.consume(500, 0.5):
                if msg.error() is None:
                    letters.append(msg)
            return len(letters) >= count

        wait_for(all_read, 180, f"{count} dead letters")
        # Anything beyond `count` would be a duplicate: read to the end once more.
        for msg in reader.consume(500, 2):
            if msg.error() is None:
                letters.append(msg)
    finally:
        reader.close()
    return letters
