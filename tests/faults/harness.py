"""What the fault tests share: the fault stack, consumer processes, a steady producer stream that
records what Kafka acknowledged, a lag watcher, and the end-of-fault exactly-once check."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from confluent_kafka import Consumer, KafkaException, TopicPartition
from pymongo import MongoClient
from pymongo.database import Database

from checkins.clients import kafka_config
from checkins.event import CheckIn
from checkins.producer import CheckInProducer
from checkins.settings import Settings
from consumers import store
from monitor.maths import offset_lag
from readmodels import events
from readmodels.orders import HISTORY_LIMIT
from stack import manager
from stack.paths import ROOT, StackDir
from tests.conftest import unique
from tests.isolation import create_topics
from tests.waiting import wait_for

# Ports no other test uses (the shared stack: 9092/9093/27017; the lifecycle test: 19092/19093/
# 27117, 13000, 18501).
FAULT_PORTS = {"stack_kafka_port": 29092, "stack_kafka_controller_port": 29093}
FAULT_PORTS["stack_mongo_port"] = 27217
# A SIGKILLed member keeps its partitions until its session times out (librdkafka's default is
# 45 s); 6 s, the broker's minimum, keeps five kills inside the suite's time budget.
CONSUMER_KAFKA_ENV = {"KAFKA_SESSION_TIMEOUT_MS": "6000", "KAFKA_HEARTBEAT_INTERVAL_MS": "1000"}
# Few orders per technician: on FerretDB each upsert of `orders` scans that collection.
ORDERS_PER_STAFF = 2
STATUSES = ["onroute", "homecheckedin", "working", "completed", "cancelled"]


@dataclass
class FaultStack:
    """A Kafka + FerretDB of the faults' own; `stop`/`start` one service as `python -m stack
    down/up <name>` would."""

    settings: Settings
    dir: StackDir

    def stop(self, name: str) -> None:
        stopped = manager.down(self.settings, self.dir, [name])
        assert stopped == [name], f"{name} was not running on the fault stack"

    def start(self, name: str) -> None:
        manager.up(self.settings, self.dir, [name])


@contextmanager
def fault_stack(root: Path) -> Iterator[FaultStack]:
    settings = Settings(
        kafka_bootstrap_servers=None, mongodb_uri=None, stack_dir=str(root), **FAULT_PORTS
    )
    stack = FaultStack(settings, StackDir(root))
    try:
        manager.up(settings, stack.dir, ["kafka", "mongo"])
        yield stack
    finally:
        manager.down(settings, stack.dir)


@contextmanager
def own_topics(stack: FaultStack, name: str) -> Iterator[Settings]:
    """Settings with this fault's own topics (6 partitions), consumer group and database."""
    settings = stack.settings.model_copy(
        update={
            "checkin_topic": unique(f"{name}_checkins"),
            "checkin_dlq_topic": unique(f"{name}_dlq"),
            "status_topic": unique(f"{name}_status"),
            "consumer_group": unique(f"{name}_group"),
            "mongodb_database": unique(f"{name}_db"),
        }
    )
    create_topics(settings)
    # The read models exist before the consumers start: FerretDB 1.24 (SQLite) can hang when
    # several connections create the same collections at once.
    with database(settings) as db:
        store.ensure_indexes(db)
    yield settings


def child_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment for a project process (consumers, API, dashboard) on the fault stack: the
    local-stack ports, never KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "MONGODB_"))}
    env.update(
        {
            "STACK_DIR": str(settings.stack_dir),
            "STACK_KAFKA_PORT": str(settings.stack_kafka_port),
            "STACK_KAFKA_CONTROLLER_PORT": str(settings.stack_kafka_controller_port),
            "STACK_KAFKA_BROKERS": str(settings.stack_kafka_brokers),
            "STACK_MONGO_PORT": str(settings.stack_mongo_port),
            "MONGODB_DATABASE": settings.mongodb_database,
            "CHECKIN_TOPIC": settings.checkin_topic,
            "CHECKIN_DLQ_TOPIC": settings.checkin_dlq_topic,
            "STATUS_TOPIC": settings.status_topic,
            "CONSUMER_GROUP": settings.consumer_group,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


class Consumers:
    """`python -m consumers` processes in one group. Every process started is stopped by
    `close()` (SIGKILL if it is still running then)."""

    def __init__(self, settings: Settings, logs: Path, *args: str, **env: str):
        self.settings, self.logs, self.args = settings, logs, args
        self.env = child_env(settings, **CONSUMER_KAFKA_ENV, **env)
        self.procs: list[subprocess.Popen] = []
        self.expected_exits: set[int] = set()  # pids this test killed or stopped on purpose
        logs.mkdir(parents=True, exist_ok=True)

    def start(self, *args: str) -> subprocess.Popen:
        log_file = self.logs / f"consumer-{len(self.procs) + 1}.log"
        with open(log_file, "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "consumers", *self.args, *args],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        proc.log_file = log_file  # type: ignore[attr-defined]
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        self.expected_exits.add(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop(self, proc: subprocess.Popen, timeout: float = 60) -> int:
        """SIGTERM: finish the batch in hand, commit, leave the group."""
        self.expected_exits.add(proc.pid)
        proc.send_signal(signal.SIGTERM)
        return proc.wait(timeout)

    def running(self) -> list[subprocess.Popen]:
        return [p for p in self.procs if p.poll() is None]

    def died(self) -> list[str]:
        """Processes that exited without being told to, with their log's tail."""
        return [
            f"pid {p.pid} exited {p.returncode}:\n{tail(p.log_file)}"  # type: ignore[attr-defined]
            for p in self.procs
            if p.poll() is not None and p.pid not in self.expected_exits
        ]

    def log_text(self) -> str:
        return "\n".join(p.log_file.read_text(errors="replace") for p in self.procs)  # type: ignore[attr-defined]

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(30)


@contextmanager
def consumers(settings: Settings, logs: Path, *args: str, **env: str) -> Iterator[Consumers]:
    group = Consumers(settings, logs, *args, **env)
    try:
        yield group
    finally:
        group.close()


def tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


# The streams' clock: check-ins come in time order from here, STREAM_STEP apart, each up to
# STREAM_JITTER early or late (a little disorder, as from phones with drifting clocks). Dates
# spread over a whole year put nearly every event in a timeline page of its own and made the
# consumers ~10x slower than on real traffic.
STREAM_START = datetime(2025, 6, 1, tzinfo=UTC)
STREAM_STEP = timedelta(seconds=3)
STREAM_JITTER_S = 300


def make_checkins(rng: random.Random, count: int, staffs: int = 200) -> list[CheckIn]:
    """`count` valid check-ins: technicians visit orders around Bangkok, in time order."""
    checkins = []
    for i in range(count):
        staff = rng.randrange(staffs)
        at = STREAM_START + i * STREAM_STEP
        at += timedelta(seconds=rng.randint(-STREAM_JITTER_S, STREAM_JITTER_S))
        checkins.append(
            CheckIn.model_validate(
                {
                    "internetNo": f"88{rng.randrange(10**8):08d}",
                    "orderNo": f"order-{staff}-{rng.randrange(ORDERS_PER_STAFF)}",
                    "staffCode": f"tech{staff:03d}",
                    "jobStatus": rng.choice(STATUSES),
                    "checkinLatitude": round(13.6 + rng.random() * 0.3, 6),
                    "checkinLongitude": round(100.4 + rng.random() * 0.3, 6),
                    "checkinDate": at.strftime("%Y-%m-%d %H:%M:%S"),
                }
            )
        )
    return checkins


@dataclass
class Stream:
    """Publishes check-ins from a thread at `rate` per second (as fast as possible when 0) with
    the project's producer; `acked` holds the ids Kafka acknowledged."""

    settings: Settings
    checkins: list[CheckIn]
    rate: float = 0.0
    acked: set[str] = field(default_factory=set)
    refused: list[str] = field(default_factory=list)
    sent: int = 0
    error: BaseException | None = None

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, name="stream", daemon=True)
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def _delivered(self, event_id: str):
        def on_delivery(err, _msg) -> None:
            with self._lock:
                if err is None:
                    self.acked.add(event_id)
                else:
                    self.refused.append(f"{event_id}: {err}")

        return on_delivery

    def _run(self) -> None:
        try:
            # Long delivery timeout: a broker restart delays acknowledgements, it loses none.
            producer = CheckInProducer(self.settings, **{"delivery.timeout.ms": 300_000})
            started = time.monotonic()
            for i, checkin in enumerate(self.checkins):
                if self._stop.is_set():
                    break
                if self.rate:
                    due = started + i / self.rate
                    while time.monotonic() < due:
                        producer.poll(min(0.05, max(0.0, due - time.monotonic())))
                event_id = str(uuid.uuid4())
                producer.publish_async(
                    checkin, event_id=event_id, on_delivery=self._delivered(event_id)
                )
                self.sent = i + 1
                producer.poll(0)
            left = producer.flush(300)
            assert left == 0, f"{left} events still unacknowledged after 300 s"
        except BaseException as exc:  # noqa: BLE001 - re-raised by join()
            self.error = exc

    def start(self) -> Stream:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Send nothing more (what was sent is still flushed: `join` waits for it)."""
        self._stop.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"the stream did not finish within {timeout:.0f} s"
        if self.error is not None:
            raise self.error
        assert not self.refused, f"Kafka refused {len(self.refused)}: {self.refused[:3]}"

    def count_acked(self) -> int:
        with self._lock:
            return len(self.acked)


class LagWatch:
    """Samples the group's total lag every `interval` s from a thread (a broker that is down
    gives no sample); `peak` is the largest lag seen."""

    def __init__(self, settings: Settings, interval: float = 0.5):
        self.settings, self.interval = settings, interval
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lag-watch", daemon=True)

    def _run(self) -> None:
        # A Consumer that never subscribes, not AdminClient.list_consumer_group_offsets: in
        # librdkafka 2.16 the admin call segfaults the process when the broker answers
        # NOT_COORDINATOR (a fresh or restarting broker; librdkafka issue #5040).
        reader = Consumer(
            kafka_config(
                self.settings,
                **{
                    "group.id": self.settings.consumer_group,
                    "enable.auto.commit": False,
                    "socket.connection.setup.timeout.ms": 2000,
                    "log_level": 0,
                },
            )
        )
        try:
            while not self._stop.wait(self.interval):
                try:
                    lag = group_lag(reader, self.settings.checkin_topic)
                except KafkaException:  # broker down: no sample this time
                    continue
                self.samples.append((time.monotonic(), lag))
        finally:
            reader.close()

    def __enter__(self) -> LagWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join(30)

    @property
    def peak(self) -> int:
        return max((lag for _, lag in self.samples), default=0)

    def latest(self) -> int | None:
        return self.samples[-1][1] if self.samples else None

    def peak_between(self, start: float, end: float) -> int:
        return max((lag for t, lag in self.samples if start <= t <= end), default=0)


def group_lag(reader: Consumer, topic: str, timeout: float = 3.0) -> int:
    """Total lag of `reader`'s group on `topic`: end offsets minus committed offsets, over the
    partitions it committed (as the lag monitor and Kafka's own tool count it)."""
    partitions = reader.list_topics(topic, timeout=timeout).topics[topic].partitions
    tps = [TopicPartition(topic, p) for p in partitions]
    committed = {tp.partition: tp.offset for tp in reader.committed(tps, timeout=timeout)}
    ends, starts = {}, {}
    for tp in tps:
        starts[tp.partition], ends[tp.partition] = reader.get_watermark_offsets(
            tp, timeout=timeout, cached=False
        )
    lags = (offset_lag(committed[p], starts[p], ends[p]) for p in ends)
    return sum(lag for lag in lags if lag is not None)


def stored_count(db: Database) -> int:
    """What the dashboard shows as events stored: cheap enough to poll (no scan, no lock)."""
    return events.events_stored(db)


def wait_stored(db: Database, expected: int, timeout: float, what: str) -> None:
    wait_for(lambda: stored_count(db) >= expected, timeout, what, interval=1.0)


def assert_exactly_once(db: Database, acked: set[str]) -> dict[str, int]:
    """Stored events are exactly the acknowledged ones, and the read models count each once."""
    stored = [d["_id"] for d in db.homecheckins.find({}, {"_id": 1})]
    stored_ids = set(stored)
    lost = acked - stored_ids
    extra = stored_ids - acked
    duplicates = len(stored) - len(stored_ids)
    counted = sum(t["checkinCount"] for t in db.technicians.find({}, {"checkinCount": 1}))
    per_order = Counter(d["orderNo"] for d in db.homecheckins.find({}, {"orderNo": 1}))
    histories = {o["_id"]: [h["eventId"] for h in o["history"]] for o in db.orders.find()}
    # An order keeps its latest HISTORY_LIMIT entries, each event at most once.
    expected = {order: min(n, HISTORY_LIMIT) for order, n in per_order.items()}
    doubled = [order for order, ids in histories.items() if len(ids) != len(set(ids))]
    assert not lost, f"{len(lost)} acknowledged events are not stored, e.g. {sorted(lost)[:3]}"
    assert not extra, f"{len(extra)} stored events were never acknowledged: {sorted(extra)[:3]}"
    assert duplicates == 0, f"{duplicates} duplicate _ids in homecheckins"
    assert len(stored) == len(acked)
    assert counted == len(acked), f"technicians count {counted} check-ins for {len(acked)}"
    assert not doubled, f"an event twice in the history of orders {doubled[:3]}"
    assert {o: len(ids) for o, ids in histories.items()} == expected, "orders' histories"
    return {"acknowledged": len(acked), "stored": len(stored), "lost": 0, "duplicates": 0}


def wait_drained(db: Database, acked: set[str], timeout: float, what: str) -> float:
    """Wait until every acknowledged event is stored; returns the seconds it took."""
    started = time.monotonic()
    wait_stored(db, len(acked), timeout, what)
    return time.monotonic() - started


def assigned_count(log_text: str) -> int:
    """How many partition assignments the consumers logged (one per rebalance per member)."""
    return sum(1 for line in log_text.splitlines() if " assigned [" in line)


@contextmanager
def database(settings: Settings) -> Iterator[Database]:
    client = MongoClient(settings.mongo_uri, tz_aware=True, serverSelectionTimeoutMS=10_000)
    try:
        yield client[settings.mongodb_database]
    finally:
        client.close()
