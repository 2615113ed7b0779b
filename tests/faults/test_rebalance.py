"""Fault 4: consumer worker processes join and leave the group while events stream in; every
rebalance hands partitions over without losing or doubling an event."""

from __future__ import annotations

from tests.faults.harness import (
    LagWatch,
    Stream,
    assert_exactly_once,
    assigned_count,
    consumers,
    database,
    make_checkins,
    own_topics,
    wait_drained,
    wait_stored,
)

EVENTS = 12_000
RATE = 250  # events per second: a 48 s stream
# (stored events, what happens): members join and leave while the stream flows, up to three
# writing at once (1 -> 2 -> 3 -> 2 -> 3 -> 2 -> 1). Three froze FerretDB 1.24 until the store
# sent smaller update bulks (consumers/store.py UPDATE_CHUNK; docs/reliability.md).
PLAN = [
    (1_000, "add"),
    (2_500, "add"),
    (4_000, "remove"),
    (5_500, "add"),
    (7_000, "remove"),
    (8_500, "remove"),
]


def test_workers_join_and_leave_during_the_stream(fault_stack, rng, figures, logs):
    with (
        own_topics(fault_stack, "rebalance") as settings,
        database(settings) as db,
        consumers(settings, logs, "--batch-size", "500") as group,
        LagWatch(settings) as lag,
    ):
        members = [group.start()]
        stream = Stream(settings, make_checkins(rng, EVENTS), rate=RATE).start()
        most = 1
        for at, change in PLAN:
            wait_stored(db, at, 300, f"{at} events stored (then {change} a worker)")
            if change == "add":
                members.append(group.start())
            else:
                leaving = members.pop(rng.randrange(len(members)))
                # Graceful: it finishes the batch in hand first.
                assert group.stop(leaving, 240) == 0, "a leaving worker did not stop cleanly"
            most = max(most, len(members))
            assert not group.died(), group.died()
        stream.join(300)
        drained_s = wait_drained(db, stream.acked, 300, "every acknowledged event stored")
        assert not group.died(), group.died()
        assert [group.stop(m, 240) for m in members] == [0] * len(members)
        assignments = assigned_count(group.log_text())
        result = assert_exactly_once(db, stream.acked)

    assert assignments >= len(PLAN), f"only {assignments} assignments logged"
    assert most == 3
    figures["fault4_rebalance"] = {
        **result,
        "joins": 1 + sum(1 for _, c in PLAN if c == "add"),
        "leaves": sum(1 for _, c in PLAN if c == "remove") + len(members),
        "most_workers": most,
        "assignments_logged": assignments,
        "lag_peak": lag.peak,
        "drained_after_stream_s": round(drained_s, 1),
    }
