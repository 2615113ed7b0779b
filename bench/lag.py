"""`make bench` section: what one lag-page refresh and one sampler round cost.

On a topic and group of its own (6 partitions, 10,000 check-ins, a third of them committed) and
a database of its own, both removed afterwards: the AdminClient snapshot, the timestamps of the
oldest unread messages, a full `collect` (snapshot + 5 minutes of history + message times),
the pure report over that history, and the sampler's round for one group.

    python -m bench.lag
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from checkins.clients import kafka_config, mongo_client
from checkins.event import SAMPLE, CheckIn
from checkins.producer import CheckInProducer
from checkins.settings import Settings, get_settings
from monitor import history as lag_history
from monitor.cli import collect, oldest_unread
from monitor.offsets import MessageTimes, admin_client, snapshot
from monitor.report import build
from monitor.sampler import Sampler

EVENTS = 10_000
REPEATS = 30
HISTORY_SAMPLES = 60  # 5 minutes at the sampler's 5 s


def _time(fn: Callable[[], Any], repeats: int = REPEATS) -> dict[str, float]:
    fn()  # warm up: connections, metadata
    took = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        took.append((time.perf_counter() - started) * 1000)
    took.sort()
    return {
        "median_ms": round(statistics.median(took), 2),
        "p95_ms": round(took[int(0.95 * (len(took) - 1))], 2),
        "runs": repeats,
    }


@contextmanager
def bench_setup(settings: Settings) -> Iterator[Settings]:
    tag = uuid.uuid4().hex[:10]
    bench = settings.model_copy(
        update={
            "checkin_topic": f"bench_lag_{tag}",
            "consumer_group": f"bench_lag_{tag}",
            "mongodb_database": f"bench_lag_{tag}",
        }
    )
    admin = AdminClient(kafka_config(settings))
    new = NewTopic(bench.checkin_topic, num_partitions=settings.checkin_partitions)
    for future in admin.create_topics([new], operation_timeout=30).values():
        future.result(timeout=30)
    mongo = mongo_client(settings)
    try:
        yield bench
    finally:
        admin.delete_topics([bench.checkin_topic], operation_timeout=30)
        mongo.drop_database(bench.mongodb_database)
        mongo.close()


def _load(settings: Settings) -> None:
    producer = CheckInProducer(settings)
    for i in range(EVENTS):
        producer.publish_async(CheckIn.model_validate({**SAMPLE, "staffCode": f"tech-{i % 200}"}))
    producer.flush(60)
    # The group has read a third of each partition.
    admin = admin_client(settings)
    snap = snapshot(admin, settings.consumer_group, [settings.checkin_topic])
    committer = Consumer(kafka_config(settings, **{"group.id": settings.consumer_group}))
    try:
        committer.commit(
            offsets=[TopicPartition(p.topic, p.partition, p.end // 3) for p in snap.partitions],
            asynchronous=False,
        )
    finally:
        committer.close()


def run(settings: Settings) -> dict[str, Any]:
    with bench_setup(settings) as bench:
        _load(bench)
        admin = admin_client(bench)
        mongo = mongo_client(bench)
        db = mongo[bench.mongodb_database]
        reader = MessageTimes(bench)
        sampler = Sampler(bench)
        try:
            group, topics = bench.consumer_group, [bench.checkin_topic]
            now = snapshot(admin, group, topics)
            base = now.at - HISTORY_SAMPLES * 5
            history = [
                type(now)(group, base + 5 * i, now.state, 0, "", now.partitions)
                for i in range(HISTORY_SAMPLES)
            ]
            lag_history.record(db, history)
            figures = {
                "admin_snapshot": _time(lambda: snapshot(admin, group, topics)),
                "oldest_unread_message_times": _time(lambda: reader.at(oldest_unread(now))),
                "collect_full_refresh": _time(lambda: collect(admin, group, topics, db, reader)),
                "report_build_pure_60_samples": _time(lambda: build(now, history), 200),
                "sampler_round_one_group": _time(sampler.once),
            }
        finally:
            reader.close()
            sampler.close()
            mongo.close()
    return {
        "setup": f"{EVENTS:,} check-ins on 6 partitions, a third committed, "
        f"{HISTORY_SAMPLES} samples of history, loopback broker and store",
        **figures,
    }


if __name__ == "__main__":
    print(json.dumps(run(get_settings()), indent=2))
