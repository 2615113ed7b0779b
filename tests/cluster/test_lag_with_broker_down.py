"""With one broker of three down (the group's coordinator, so the group's offsets move to
another broker), `python -m dashboard.lag --json` gives the same committed offsets, log-end
offsets and lag as Kafka's own kafka-consumer-groups run against the two survivors, and names
the missing broker; every dashboard page still answers and the overview says the cluster is
degraded."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

from confluent_kafka import TopicPartition

from checkins.clients import admin_client, consumer
from checkins.producer import CheckInProducer
from checkins.settings import get_settings
from stack.paths import ROOT
from tests.cluster.harness import leaders_alive
from tests.faults.harness import make_checkins
from tests.integration.api_server import settings_env
from tests.integration.test_dashboard_pages import open_page, text, use
from tests.isolation import own_topics_and_database
from tests.kafka_tool import describe_group
from tests.waiting import wait_for

EVENTS = 600
UNCOMMITTED = 5  # this partition's offset is never committed
PAGES = ["pages/map.py", "pages/overview.py", "pages/events.py", "pages/lag.py"]


def lag_cli(settings, group: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "MONGODB_"))}
    env.update(settings_env(settings))
    command = [sys.executable, "-m", "dashboard.lag", "--json", "--group", group]
    command += ["--topic", settings.checkin_topic]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, f"lag CLI exited {result.returncode}: {result.stderr[-2000:]}"
    return json.loads(result.stdout)


def page_texts(monkeypatch, settings) -> dict[str, str]:
    """Every page, run by AppTest against the cluster with a broker down: what each shows."""
    use(monkeypatch, settings)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", settings.bootstrap_servers)
    get_settings.cache_clear()
    try:
        return {page: text(open_page(page)) for page in PAGES}
    finally:
        get_settings.cache_clear()


def commit(settings, offsets: dict[int, int]) -> None:
    member = consumer(
        settings, **{"group.id": settings.consumer_group, "enable.auto.commit": False}
    )
    try:
        tps = [TopicPartition(settings.checkin_topic, p, o) for p, o in offsets.items()]
        member.commit(offsets=tps, asynchronous=False)
    finally:
        member.close()


def ends_of(settings) -> dict[int, int]:
    reader = consumer(settings, **{"group.id": "lag-peek", "enable.auto.commit": False})
    try:
        return {
            p: reader.get_watermark_offsets(
                TopicPartition(settings.checkin_topic, p), timeout=10, cached=False
            )[1]
            for p in range(settings.checkin_partitions)
        }
    finally:
        reader.close()


def test_lag_cli_agrees_with_kafka_consumer_groups_with_a_broker_down(
    whole_cluster, mongo, figures, monkeypatch
):
    cluster = whole_cluster
    with own_topics_and_database(cluster.settings, "lagdown", mongo=mongo) as settings:
        producer = CheckInProducer(settings)
        for checkin in make_checkins(random.Random(14), EVENTS):
            producer.publish_async(checkin)
        assert producer.flush(30) == 0
        ends = ends_of(settings)
        assert sum(ends.values()) == EVENTS
        committed = {p: end // 2 for p, end in ends.items() if p != UNCOMMITTED}
        commit(settings, committed)

        group = settings.consumer_group
        admin = admin_client(settings)  # kept: a collected client never settles its futures
        described = admin.describe_consumer_groups([group])[group].result(30)
        down = cluster.node(described.coordinator.id)
        cluster.stop(down)
        wait_for(
            lambda: leaders_alive(cluster, [settings.checkin_topic, "__consumer_offsets"]),
            60,
            "every partition led by a running broker",
        )

        answer = lag_cli(settings, group)
        ours = {p["partition"]: p for p in answer["partitions"]}
        kafkas = {r.partition: r for r in describe_group(cluster.bootstrap_without(down), group)}
        pages = page_texts(monkeypatch, settings)

    seen = answer["cluster"]
    assert seen["status"] == "DEGRADED", seen["summary"]
    assert f"broker {down.node_id}" in seen["missing"]
    assert {b["id"]: b["up"] for b in seen["brokers"]} == {
        n.node_id: n != down for n in cluster.nodes
    }
    assert all(p["leader"] != down.node_id for p in seen["partitions"])
    overview = pages["pages/overview.py"]
    assert "Kafka cluster degraded" in overview and f"broker {down.node_id}" in overview
    assert f"broker {down.node_id}" in pages["pages/lag.py"]

    assert sorted(ours) == list(range(settings.checkin_partitions))
    assert sorted(kafkas) == sorted(committed), "Kafka lists the committed partitions"
    for partition, row in kafkas.items():
        mine = ours[partition]
        assert (mine["committed"], mine["end"], mine["lag"]) == (
            row.current_offset,
            row.log_end_offset,
            row.lag,
        ), f"partition {partition}"
    # Kafka's tool lists no row for a partition the group never committed; ours says so.
    assert ours[UNCOMMITTED]["committed"] is None
    assert ours[UNCOMMITTED]["end"] == ends[UNCOMMITTED]
    figures.update(
        {
            "broker_down": down.name,
            "partitions_compared": len(kafkas),
            "total_lag": sum(r.lag for r in kafkas.values()),
        }
    )
