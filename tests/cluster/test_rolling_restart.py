"""A rolling restart of all three brokers (SIGTERM, one at a time, each back in sync before the
next) while a producer streams check-ins (50/s, from before the first stop until the last node
is back in sync, 2 min at most) and a group of two consumers stores them: nothing acknowledged
is lost, nothing is stored twice, and the group resumes after each restart."""

from __future__ import annotations

import random
import time

from consumers import store
from tests.cluster.harness import StoredWatch
from tests.faults.harness import (
    Stream,
    assert_exactly_once,
    consumers,
    database,
    make_checkins,
    wait_drained,
    wait_stored,
)
from tests.isolation import own_topics_and_database

RATE = 50.0
# The stream runs until the restarts are over, 2 min at most; the group consumes the backlog on.
MAX_EVENTS = 6_000
WORKERS = 2


def test_rolling_restart_during_consumption_loses_and_doubles_nothing(
    whole_cluster, mongo, logs, figures
):
    cluster = whole_cluster
    with (
        own_topics_and_database(cluster.settings, "rolling", mongo=mongo) as settings,
        database(settings) as db,
    ):
        store.ensure_indexes(db)  # before the consumers: FerretDB can hang on concurrent creates
        topics = [settings.checkin_topic, settings.checkin_dlq_topic, settings.status_topic]
        topics.append("__consumer_offsets")
        with (
            consumers(settings, logs, "--batch-size", "500") as group,
            StoredWatch(db) as watch,
        ):
            members = [group.start() for _ in range(WORKERS)]
            checkins = make_checkins(random.Random(1402), MAX_EVENTS)
            stream = Stream(settings, checkins, RATE).start()
            wait_stored(db, 300, 90, "the group storing check-ins")
            restarts, began = [], time.monotonic()
            for node in cluster.nodes:
                at = time.monotonic()
                cluster.stop(node)
                stopped_s = time.monotonic() - at
                cluster.start(node)
                back_s = time.monotonic() - at
                in_sync_s = cluster.wait_in_sync(topics)
                restarts.append(
                    {
                        "node": node.name,
                        "stop_s": round(stopped_s, 1),
                        "back_s": round(back_s, 1),
                        "in_sync_after_s": round(in_sync_s, 1),
                        "longest_store_pause_s": round(
                            watch.longest_pause(at, time.monotonic()), 1
                        ),
                    }
                )
            ended = time.monotonic()
            stream.stop()
            stream.join(300)
            drained_s = wait_drained(db, stream.acked, 300, "every acknowledged check-in stored")
            assert all(m.poll() is None for m in members), "a consumer died"
            assert not group.died(), group.died()
            for member in members:
                assert group.stop(member) == 0
        result = assert_exactly_once(db, stream.acked)

    figures.update(
        {
            **result,
            "restarts": restarts,
            "rolling_restart_s": round(ended - began, 1),
            "longest_store_pause_s": round(watch.longest_pause(began, ended), 1),
            "drained_after_stream_s": round(drained_s, 1),
        }
    )
