"""The leader of the check-in topic's partition 0 is SIGKILLed while the API takes a steady 300
check-ins/s, and brought back 20 s later. Every check-in the API confirmed with a 200 is stored
exactly once; during the election the API answers 503 with Retry-After, never a 500; the read
models equal a rebuild from `homecheckins`."""

from __future__ import annotations

import random
import time

from consumers import store
from tests.cluster.api_load import SteadyClients
from tests.cluster.harness import StoredWatch
from tests.faults.harness import (
    assert_exactly_once,
    consumers,
    database,
    make_checkins,
    wait_drained,
)
from tests.integration.api_server import running_api
from tests.isolation import own_topics_and_database
from tests.readmodels import assert_matches_rebuild
from tests.waiting import wait_for

RATE = 300.0
KILL_AT_S = 8.0
DOWN_S = 20.0
LOAD_S = 40.0  # the schedule: kill at 8 s, back at 28 s, 12 s more with all three


def test_partition_leader_killed_under_api_load_loses_nothing_confirmed(
    whole_cluster, mongo, logs, figures
):
    cluster = whole_cluster
    checkins = make_checkins(random.Random(1401), int(RATE * LOAD_S))
    with (
        own_topics_and_database(cluster.settings, "leader", mongo=mongo) as settings,
        database(settings) as db,
    ):
        store.ensure_indexes(db)  # before the consumers: FerretDB can hang on concurrent creates
        with (
            consumers(settings, logs, "--batch-size", "1000") as group,
            running_api(settings, logs / "api.log") as api,
            StoredWatch(db) as watch,
        ):
            member = group.start()
            clients = SteadyClients(api.base_url, checkins, RATE).start()
            wait_for(lambda: time.monotonic() - clients.started_at >= KILL_AT_S, 30, "the kill")
            leader = cluster.leader(settings.checkin_topic, 0)
            cluster.kill(leader)
            killed_at = time.monotonic()
            # The outage's length is the point: keep the node down DOWN_S on the clock.
            wait_for(lambda: time.monotonic() - killed_at >= DOWN_S, DOWN_S + 5, "the outage")
            cluster.start(leader)
            back_at = time.monotonic()
            clients.join(LOAD_S + 300)
            sending_s = clients.last_sent_at - clients.started_at

            assert not clients.problems, clients.problems[:5]
            assert set(clients.statuses) <= {200, 503}, clients.statuses
            assert clients.count(503) > 0, "no 503 while partition 0 had no leader"
            assert len(clients.acked) == len(checkins)
            acked = set(clients.acked)
            drained_s = wait_drained(db, acked, 300, "every confirmed check-in stored")
            assert member.poll() is None, "the consumer died"
            assert not group.died(), group.died()
            assert group.stop(member) == 0
        result = assert_exactly_once(db, acked)
        rebuilt = assert_matches_rebuild(db)

    figures.update(
        {
            **result,
            "killed": leader.name,
            "down_s": round(back_at - killed_at, 1),
            "offered_rate_per_s": round(len(checkins) / sending_s, 1),
            "answers": dict(clients.statuses),
            "client_timeouts": clients.timeouts,
            "client_refused": clients.refused,
            "longest_ack_gap_partition0_s": round(
                clients.longest_gap(killed_at, back_at + 10, partition=0), 1
            ),
            "longest_ack_gap_any_s": round(clients.longest_gap(killed_at, back_at + 10), 2),
            "drained_after_clients_s": round(drained_s, 1),
            # The group's resumption: the longest time nothing new was stored around the loss.
            "longest_store_pause_s": round(watch.longest_pause(killed_at, back_at + 10), 1),
            "read_models_rebuilt": rebuilt,
        }
    )
