"""A 3-broker Kafka cluster of the cluster tests' own (a temporary STACK_DIR, ports 19092-19097),
started by the stack's own code, and what the tests do to it: find a partition's leader, kill,
stop and start one node, wait for every replica to be back in sync."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka.admin import AdminClient
from pymongo.database import Database

from checkins.clients import kafka_config
from checkins.settings import Settings
from stack import broker, manager, processes, services
from stack.paths import StackDir
from tests.faults.harness import stored_count
from tests.waiting import wait_for

# The lifecycle test uses 19092/19093 too: the cluster is up only while tests/cluster/ runs.
CLUSTER = {"stack_kafka_port": 19092, "stack_kafka_controller_port": 19093}
CLUSTER["stack_kafka_brokers"] = 3


@dataclass
class Cluster:
    settings: Settings
    dir: StackDir

    @property
    def nodes(self) -> list[broker.Node]:
        return broker.nodes(self.settings)

    def node(self, node_id: int) -> broker.Node:
        return next(n for n in self.nodes if n.node_id == node_id)

    def metadata(self, timeout: float = 10.0):
        admin = AdminClient(kafka_config(self.settings, log_level=0))
        return admin.list_topics(timeout=timeout)

    def leader(self, topic: str, partition: int) -> broker.Node:
        return self.node(self.metadata().topics[topic].partitions[partition].leader)

    def pid(self, node: broker.Node) -> int | None:
        service = next(s for s in services.kafka(self.settings, self.dir) if s.name == node.name)
        return processes.running_pid(self.dir.pid_file(node.name), service.signature)

    def running(self) -> list[str]:
        return [n.name for n in self.nodes if self.pid(n) is not None]

    def kill(self, node: broker.Node) -> None:
        """SIGKILL: no controlled shutdown, the controller learns of it by missed heartbeats."""
        pid = self.pid(node)
        assert pid is not None, f"{node.name} is not running"
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: self.pid(node) is None, 10, f"{node.name} to die")
        with contextlib.suppress(ChildProcessError):  # started by this process: reap it
            os.waitpid(pid, 0)

    def stop(self, node: broker.Node) -> None:
        """SIGTERM, as `python -m stack down kafka-<i>` does: a controlled shutdown."""
        assert manager.down(self.settings, self.dir, [node.name]) == [node.name]

    def start(self, node: broker.Node) -> None:
        """As `python -m stack up kafka-<i>`: returns once it has joined and every partition
        has a leader again."""
        manager.up(self.settings, self.dir, [node.name])

    def start_missing(self) -> None:
        """Bring back any node a test left down (the next test wants all three)."""
        if len(self.running()) < len(self.nodes):
            manager.up(self.settings, self.dir, ["kafka"])

    def bootstrap_without(self, node: broker.Node) -> str:
        return ",".join(n.address for n in self.nodes if n != node)

    def out_of_sync(self, topics: Iterable[str]) -> list[str]:
        """Partitions of `topics` with a replica missing from the in-sync set."""
        metadata = self.metadata()
        return [
            f"{topic}[{p.id}] isr {sorted(p.isrs)} of {sorted(p.replicas)}"
            for topic in topics
            for p in metadata.topics[topic].partitions.values()
            if p.leader < 0 or sorted(p.isrs) != sorted(p.replicas)
        ]

    def wait_in_sync(self, topics: Iterable[str], timeout: float = 120.0) -> float:
        """Wait until every replica of `topics` is in sync again; returns the seconds it took."""
        topics, started = list(topics), time.monotonic()
        wait_for(lambda: not self.out_of_sync(topics), timeout, "every replica in sync", 0.25)
        return time.monotonic() - started


@contextmanager
def cluster_stack(root: Path, base: Settings) -> Iterator[Cluster]:
    """`base` (the shared store) with a 3-broker Kafka of its own under `root`; every node is
    stopped at the end, whatever a test left running."""
    settings = base.model_copy(
        update={"kafka_bootstrap_servers": None, "stack_dir": str(root), **CLUSTER}
    )
    cluster = Cluster(settings, StackDir(root))
    try:
        manager.up(settings, cluster.dir, ["kafka"])
        yield cluster
    finally:
        manager.down(settings, cluster.dir, ["kafka"])


def leaders_alive(cluster: Cluster, topics: Iterable[str]) -> bool:
    """Every partition of `topics` is led by a node that runs (after a node went down)."""
    alive = {n.node_id for n in cluster.nodes if cluster.pid(n) is not None}
    metadata = cluster.metadata()
    return all(p.leader in alive for t in topics for p in metadata.topics[t].partitions.values())


class StoredWatch:
    """Samples how many check-ins are stored, every 0.25 s, from a thread."""

    def __init__(self, db: Database):
        self.db, self.samples = db, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stored-watch", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self.samples.append((time.monotonic(), stored_count(self.db)))

    def __enter__(self) -> StoredWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join(10)

    def longest_pause(self, start: float, end: float) -> float:
        """The longest time between `start` and `end` in which the stored count did not grow."""
        grew = [
            t
            for (_, before), (t, after) in zip(self.samples, self.samples[1:], strict=False)
            if after > before and start <= t <= end
        ]
        edges = [start, *grew, end]
        return max(b - a for a, b in zip(edges, edges[1:], strict=False))
