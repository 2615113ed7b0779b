"""`make bench` section: the consumer pipeline (issue 3).

(a) consumer throughput into MongoDB for N events produced up front (default 100,000), with
    `--workers 1` and `--workers 2`, each into a fresh database with a fresh group;
(b) end-to-end latency p50/p95/p99 from produce to visible in `homecheckins` at a steady
    500 events/s (a 1-in-10 sample of the events is watched with find-by-_id every 20 ms);
(c) the two ceilings on the same events: the raw consume rate (no decode, no writes) and the
    raw `insert_many` rate of the same `homecheckins` documents with pymongo;
and the pipeline as a fraction of the lower ceiling. Everything runs on topics, groups and
databases of its own, removed afterwards.

    python -m bench.pipeline --events 20000     # or BENCH_PIPELINE_EVENTS=20000 python -m bench
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from checkins.clients import kafka_config, mongo_client
from checkins.envelope import decode
from checkins.event import SAMPLE, CheckIn
from checkins.producer import CheckInProducer
from checkins.settings import Settings, get_settings
from checkins.wire import Coordinates, message_time
from readmodels import events
from readmodels.events import homecheckin_document
from readmodels.store import create_indexes
from stack.paths import ROOT

EVENTS = 100_000
TECHNICIANS = 200
STATUSES = ("assigned", "onroute", "homecheckedin", "inprogress", "completed")
STEADY_RATE = 500  # events/s
STEADY_SECONDS = 30
SAMPLE_EVERY = 10
WATCH_INTERVAL = 0.02  # s between looks for the oldest unseen sampled event
INSERT_BATCH = 1_000
LOGS = ROOT / "bench-results" / "logs"
COORDINATOR_MOVING = {
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
}


# -- pure helpers -------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    return ordered[max(1, min(len(ordered), math.ceil(q / 100 * len(ordered)))) - 1]


def rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else float("inf")


def checkin(i: int, start: datetime) -> CheckIn:
    """Check-in i: order i // 5 goes through the five statuses, all by one of 200 technicians
    (so 100,000 events make 20,000 orders), one check-in a second."""
    order = i // len(STATUSES)
    return CheckIn.model_validate(
        {
            **SAMPLE,
            "internetNo": str(8850000000 + order),
            "staffCode": f"bench_tech_{order % TECHNICIANS:03d}",
            "orderNo": f"bench_order_{order:06d}",
            "jobStatus": STATUSES[i % len(STATUSES)],
            "checkinLatitude": 13.5 + (i % 997) / 1000,
            "checkinLongitude": 100.3 + (i % 991) / 1000,
            "checkinDate": start + timedelta(seconds=i),
        }
    )


# -- the stack's edges --------------------------------------------------------------------
@contextmanager
def bench_settings(settings: Settings, label: str) -> Iterator[Settings]:
    """Settings with a topic, group and database of their own; removed on exit."""
    tag = uuid.uuid4().hex[:8]
    own = settings.model_copy(
        update={
            "checkin_topic": f"bench_{label}_{tag}",
            "checkin_dlq_topic": f"bench_{label}_{tag}.dlq",
            "status_topic": f"bench_{label}_{tag}_status",
            "consumer_group": f"bench_{label}_{tag}",
            "mongodb_database": f"bench_{label}_{tag}",
        }
    )
    admin = AdminClient(kafka_config(own))
    topics = [
        NewTopic(own.checkin_topic, num_partitions=own.checkin_partitions),
        NewTopic(own.checkin_dlq_topic, num_partitions=1),
        NewTopic(own.status_topic, num_partitions=1),
    ]
    for future in admin.create_topics(topics, operation_timeout=30).values():
        future.result(30)
    try:
        yield own
    finally:
        # Wait for the deletions: a process that exits first may leave the topics behind.
        for future in admin.delete_topics([t.topic for t in topics], operation_timeout=30).values():
            future.result(30)


def with_group_and_db(settings: Settings, label: str) -> Settings:
    tag = uuid.uuid4().hex[:8]
    return settings.model_copy(
        update={
            "consumer_group": f"bench_{label}_{tag}",
            "mongodb_database": f"bench_{label}_{tag}",
        }
    )


def produce(settings: Settings, count: int) -> float:
    producer = CheckInProducer(settings, **{"linger.ms": 20})
    start = datetime(2026, 1, 1, tzinfo=UTC)
    began = time.perf_counter()
    for i in range(count):
        producer.publish_async(checkin(i, start))
        if i % 1000 == 0:
            producer.poll(0)
    if producer.flush(120) > 0:
        raise RuntimeError("Kafka did not acknowledge every bench event")
    return rate(count, time.perf_counter() - began)


def end_offsets(settings: Settings) -> list[TopicPartition]:
    consumer = Consumer(kafka_config(settings, **{"group.id": settings.consumer_group}))
    try:
        meta = consumer.list_topics(settings.checkin_topic, timeout=10)
        partitions = meta.topics[settings.checkin_topic].partitions
        ends = []
        for p in partitions:
            _low, high = consumer.get_watermark_offsets(
                TopicPartition(settings.checkin_topic, p), timeout=10
            )
            ends.append(TopicPartition(settings.checkin_topic, p, high))
        return ends
    finally:
        consumer.close()


def committed_all(settings: Settings, ends: list[TopicPartition]) -> bool:
    consumer = Consumer(kafka_config(settings, **{"group.id": settings.consumer_group}))
    try:
        done = consumer.committed([TopicPartition(t.topic, t.partition) for t in ends], 10)
    except KafkaException as exc:
        if exc.args[0].retriable() or exc.args[0].code() in COORDINATOR_MOVING:
            return False  # the group coordinator is loading or moving: ask again
        raise
    finally:
        consumer.close()
    want = {t.partition: t.offset for t in ends}
    return all(c.offset >= want[c.partition] for c in done)


def consumer_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "MONGODB_"))}
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=settings.bootstrap_servers,
        MONGODB_URI=settings.mongo_uri,
        MONGODB_DATABASE=settings.mongodb_database,
        CHECKIN_TOPIC=settings.checkin_topic,
        CHECKIN_DLQ_TOPIC=settings.checkin_dlq_topic,
        STATUS_TOPIC=settings.status_topic,
        CONSUMER_GROUP=settings.consumer_group,
    )
    return env


@contextmanager
def consumers(settings: Settings, workers: int) -> Iterator[subprocess.Popen]:
    LOGS.mkdir(parents=True, exist_ok=True)
    log = open(LOGS / f"{settings.consumer_group}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "consumers", "--workers", str(workers)],
        cwd=ROOT,
        env=consumer_env(settings),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def wait(condition, timeout: float, what: str, interval: float = 0.25) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"bench: timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


# -- the measurements ---------------------------------------------------------------------
def pipeline_throughput(settings: Settings, events: int, workers: int) -> dict[str, Any]:
    own = with_group_and_db(settings, f"w{workers}")
    ends = end_offsets(own)
    client = mongo_client(own)
    try:
        began = time.perf_counter()
        with consumers(own, workers):
            wait(lambda: committed_all(own, ends), 3600, f"--workers {workers} to commit all")
            seconds = time.perf_counter() - began
        stored = client[own.mongodb_database].homecheckins.estimated_document_count()
        technicians = list(client[own.mongodb_database].technicians.find({}, {"checkinCount": 1}))
    finally:
        client.drop_database(own.mongodb_database)
        client.close()
    if stored != events or sum(t["checkinCount"] for t in technicians) != events:
        raise RuntimeError(f"--workers {workers} stored {stored} of {events} events")
    return {"workers": workers, "seconds": round(seconds, 1), "events_per_s": rate(events, seconds)}


def raw_consume(settings: Settings, events: int) -> tuple[float, list[dict[str, Any]]]:
    """Consume every event with no decode and no writes; returns the rate and (outside the
    timing) the homecheckins documents the consumer would write, for the insert ceiling."""
    consumer = Consumer(
        kafka_config(
            settings,
            **{
                "group.id": f"bench_raw_{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            },
        )
    )
    consumer.subscribe([settings.checkin_topic])
    messages: list[Any] = []
    began = None
    try:
        deadline = time.monotonic() + 600
        while len(messages) < events and time.monotonic() < deadline:
            batch = consumer.consume(1000, 1.0)
            if batch and began is None:
                began = time.perf_counter()
            messages.extend(m for m in batch if m.error() is None)
        seconds = time.perf_counter() - (began or time.perf_counter())
    finally:
        consumer.close()
    stored_at = datetime.now(UTC)
    docs = []
    for m in messages:
        event = decode(m.value(), topic=m.topic(), partition=m.partition(), offset=m.offset())
        where = Coordinates(m.topic(), m.partition(), m.offset(), message_time(m.timestamp()))
        docs.append(homecheckin_document(event, where, stored_at))
    return rate(len(messages), seconds), docs


def raw_insert(settings: Settings, docs: list[dict[str, Any]], indexed: bool = False) -> float:
    """`insert_many` rate of `docs` into a fresh `homecheckins`, with the consumers' secondary
    indexes on it when `indexed` (the store maintains them on every insert)."""
    client = mongo_client(settings)
    db = client[f"bench_insert_{uuid.uuid4().hex[:8]}"]
    try:
        if indexed:
            create_indexes(db, {events.COLLECTION: events.INDEXES})
        began = time.perf_counter()
        for i in range(0, len(docs), INSERT_BATCH):
            db.homecheckins.insert_many(docs[i : i + INSERT_BATCH], ordered=False)
        return rate(len(docs), time.perf_counter() - began)
    finally:
        client.drop_database(db.name)
        client.close()


def steady_latency(settings: Settings, seconds: int = STEADY_SECONDS) -> dict[str, Any]:
    """Produce at STEADY_RATE for `seconds` with one consumer running; watch a sample of the
    events appear in homecheckins (find by _id, the store's fast path)."""
    client = mongo_client(settings)
    coll = client[settings.mongodb_database].homecheckins
    producer = CheckInProducer(settings, **{"linger.ms": 1})
    sent: list[tuple[str, float]] = []
    seen: dict[str, float] = {}
    done = threading.Event()

    def watch() -> None:
        index = 0
        while not (done.is_set() and index >= len(sent)):
            if index < len(sent):
                event_id, _at = sent[index]
                if coll.find_one({"_id": event_id}, {"_id": 1}) is not None:
                    seen[event_id] = time.time()
                    index += 1
                    continue
            time.sleep(WATCH_INTERVAL)  # gentle: the watcher shares the store with the consumer

    try:
        with consumers(settings, 1):
            warm = producer.publish(checkin(0, datetime(2026, 2, 1, tzinfo=UTC)))
            wait(lambda: coll.find_one({"_id": warm.event_id}) is not None, 120, "warm-up event")
            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            start = datetime(2026, 3, 1, tzinfo=UTC)
            total = STEADY_RATE * seconds
            began = time.perf_counter()
            for i in range(total):
                due = began + i / STEADY_RATE
                while (now := time.perf_counter()) < due:
                    time.sleep(min(0.002, due - now))
                at = time.time()
                event_id = producer.publish_async(checkin(i, start))
                if i % SAMPLE_EVERY == 0:
                    sent.append((event_id, at))
                producer.poll(0)
            achieved = rate(total, time.perf_counter() - began)
            producer.flush(30)
            done.set()
            watcher.join(300)
    finally:
        client.drop_database(settings.mongodb_database)
        client.close()
    latencies = [(seen[i] - at) * 1000 for i, at in sent if i in seen]
    if len(latencies) < len(sent):
        raise RuntimeError(f"only {len(latencies)} of {len(sent)} watched events appeared")
    return {
        "rate_events_per_s": STEADY_RATE,
        "achieved_rate_events_per_s": achieved,
        "seconds": seconds,
        "watched_events": len(latencies),
        "latency_ms": {
            "p50": round(percentile(latencies, 50), 1),
            "p95": round(percentile(latencies, 95), 1),
            "p99": round(percentile(latencies, 99), 1),
            "max": round(max(latencies), 1),
        },
    }


def run(settings: Settings, events: int | None = None) -> dict[str, Any]:
    events = events or int(os.environ.get("BENCH_PIPELINE_EVENTS", EVENTS))
    with bench_settings(settings, "pipeline") as own:
        produce_rate = produce(own, events)
        consume_rate, docs = raw_consume(own, events)
        insert_rate = raw_insert(own, docs)
        del docs
        runs = [pipeline_throughput(own, events, w) for w in (1, 2)]
    with bench_settings(settings, "latency") as own:
        latency = steady_latency(
            own, int(os.environ.get("BENCH_PIPELINE_STEADY_SECONDS", STEADY_SECONDS))
        )
    ceiling = min(consume_rate, insert_rate)
    return {
        "events": events,
        "data": f"{TECHNICIANS} technicians, {events // len(STATUSES)} orders of "
        f"{len(STATUSES)} statuses each",
        "partitions": settings.checkin_partitions,
        "produce_events_per_s": produce_rate,
        "ceiling_raw_consume_events_per_s": consume_rate,
        "ceiling_raw_insert_many_events_per_s": insert_rate,
        "lower_ceiling_events_per_s": ceiling,
        **{f"pipeline_workers_{r['workers']}_events_per_s": r["events_per_s"] for r in runs},
        **{
            f"pipeline_workers_{r['workers']}_fraction_of_ceiling": round(
                r["events_per_s"] / ceiling, 3
            )
            for r in runs
        },
        "steady_500_per_s": latency,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__)
    parser.add_argument("--events", type=int, default=None, help=f"default {EVENTS}")
    args = parser.parse_args(argv)
    print(json.dumps(run(get_settings(), args.events), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
