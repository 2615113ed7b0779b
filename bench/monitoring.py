"""`make bench` section: what the lag sampler's monitoring costs with 10 groups of 6 partitions.

Ten topics of 6 partitions, 600 messages each, and a group per topic that committed a third of
every partition (no members: each group is STOP, so the alert rules, the catch-up and the
oldest-unread timestamps all have work). Measured: one sampler round (`Sampler.once`: offsets,
reports, group history, alert rules, MongoDB writes), its monitoring part alone (`Watch.observe`:
reports, catch-up, group history, rules, deliveries), and `/metrics`: size and response time.

    python -m bench monitoring
"""

from __future__ import annotations

import statistics
import time
import urllib.request
import uuid
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import NewTopic

from checkins.clients import admin_client, kafka_config, mongo_client, producer
from checkins.settings import Settings
from monitor.sampler import Sampler

GROUPS = 10
PARTITIONS = 6
MESSAGES = 600
ROUNDS = 20
SCRAPES = 50


def _stats(took_ms: list[float]) -> dict[str, float]:
    took_ms = sorted(took_ms)
    return {
        "median_ms": round(statistics.median(took_ms), 2),
        "p95_ms": round(took_ms[int(0.95 * (len(took_ms) - 1))], 2),
        "runs": len(took_ms),
    }


def _load(settings: Settings, topics: list[str], groups: list[str]) -> None:
    p = producer(settings)
    for topic in topics:
        for i in range(MESSAGES):
            p.produce(topic, value=b"{}", partition=i % PARTITIONS)
    p.flush(60)
    for topic, group in zip(topics, groups, strict=True):
        c = Consumer(kafka_config(settings, **{"group.id": group}))
        try:
            third = MESSAGES // PARTITIONS // 3
            offsets = [TopicPartition(topic, i, third) for i in range(PARTITIONS)]
            c.commit(offsets=offsets, asynchronous=False)
        finally:
            c.close()


def run(settings: Settings) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    topics = [f"bench_mon_{tag}_{i}" for i in range(GROUPS)]
    groups = [f"bench_mon_{tag}_g{i}" for i in range(GROUPS)]
    bench = settings.model_copy(
        update={
            "mongodb_database": f"bench_mon_{tag}",
            "consumer_group": groups[0],
            "checkin_topic": topics[0],
            "checkin_dlq_topic": f"bench_mon_{tag}_dlq",
            "status_topic": f"bench_mon_{tag}_status",
        }
    )
    admin = admin_client(settings)
    new = [NewTopic(t, num_partitions=PARTITIONS) for t in topics]
    for future in admin.create_topics(new, operation_timeout=30).values():
        future.result(timeout=30)
    mongo = mongo_client(settings)
    sampler = Sampler(bench, groups)
    server = None
    try:
        _load(bench, topics, groups)
        sampler.once()  # warm up: connections, metadata, indexes
        rounds, watch = [], []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            stored = sampler.once()
            rounds.append((time.perf_counter() - started) * 1000)
            watch.append(sampler.watch.observe_s * 1000)
        assert stored == GROUPS, f"sampled {stored} groups, expected {GROUPS}"
        server = sampler.serve_metrics(port=0)
        url = f"http://127.0.0.1:{server.port}/metrics"
        scrapes, size, series = [], 0, 0
        for _ in range(SCRAPES):
            started = time.perf_counter()
            with urllib.request.urlopen(url, timeout=10) as response:
                body = response.read()
            scrapes.append((time.perf_counter() - started) * 1000)
            size = len(body)
            series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
        return {
            "groups": GROUPS,
            "partitions_per_group": PARTITIONS,
            "sampler_round": _stats(rounds),
            "sampler_round_monitoring_part": _stats(watch),
            "metrics_bytes": size,
            "metrics_series": series,
            "metrics_response": _stats(scrapes),
        }
    finally:
        if server is not None:
            server.close()
        sampler.close()
        admin.delete_topics(topics, operation_timeout=30)
        mongo.drop_database(bench.mongodb_database)
        mongo.close()


if __name__ == "__main__":
    import json

    from checkins.settings import get_settings

    print(json.dumps(run(get_settings()), indent=2))
