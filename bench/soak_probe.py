"""What the soak reads from the running stack: each service's memory and CPU (psutil, by the
stack's pid files), the store's and Kafka's files on disk, the consumer group's lag."""

from __future__ import annotations

import contextlib
from pathlib import Path

import psutil
from confluent_kafka import TopicPartition

from bench.soak_figures import mb
from checkins.clients import consumer
from checkins.settings import Settings
from stack.paths import StackDir


class ProcessMeter:
    """Resident memory (MB) and CPU (% of one core since the previous reading) per service; a
    service counts its child processes too; `read(extra=...)` adds processes found otherwise."""

    def __init__(self, stack: StackDir, services: list[str]) -> None:
        self.stack = stack
        self.services = services
        self._procs: dict[str, psutil.Process] = {}
        self._cpu_objects: dict[int, psutil.Process] = {}

    def _process(self, service: str) -> psutil.Process | None:
        try:
            pid = int(self.stack.pid_file(service).read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        known = self._procs.get(service)
        if known is not None and known.pid == pid and known.is_running():
            return known
        with contextlib.suppress(psutil.Error):
            self._procs[service] = psutil.Process(pid)
            return self._procs[service]
        return None

    def read(self, extra: dict[str, list[psutil.Process]] | None = None):
        rss: dict[str, float] = {}
        cpu: dict[str, float] = {}
        groups = {s: [p] for s in self.services if (p := self._process(s)) is not None}
        groups.update(extra or {})
        for service, roots in groups.items():
            members = []
            for root in roots:
                with contextlib.suppress(psutil.Error):
                    members += [root, *root.children(recursive=True)]
            total_rss, total_cpu = 0, 0.0
            for proc in members:
                with contextlib.suppress(psutil.Error):
                    total_rss += proc.memory_info().rss
                    total_cpu += self._cpu_since_last(proc)
            if members:
                rss[service] = mb(total_rss)
                cpu[service] = round(total_cpu, 1)
        return rss, cpu

    def _cpu_since_last(self, proc: psutil.Process) -> float:
        """psutil's cpu_percent keeps its own previous reading per Process object: keep one."""
        known = self._cpu_objects.get(proc.pid)
        if known is None:
            self._cpu_objects[proc.pid] = proc
            proc.cpu_percent(None)  # the first call only sets the reference
            return 0.0
        return known.cpu_percent(None)


def chromium_processes() -> list[psutil.Process]:
    """The headless Chromium Playwright started for this process (its driver's children)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "chrom" in child.name().lower():
                found.append(child)
    # Roots only: ProcessMeter adds each root's children itself.
    pids = {p.pid for p in found}
    return [p for p in found if _parent_pid(p) not in pids]


def _parent_pid(proc: psutil.Process) -> int | None:
    try:
        return proc.ppid()
    except psutil.Error:
        return None


def store_files(stack: StackDir) -> tuple[int, int]:
    """Bytes of the local store's SQLite databases and of their write-ahead logs."""
    data = stack.data("mongo")
    databases = sum(_size(f) for f in data.glob("*.sqlite"))
    wals = sum(_size(f) for f in data.glob("*.sqlite-wal"))
    return databases, wals


def kafka_log_bytes(stack: StackDir) -> int:
    """Bytes Kafka's log dir takes on disk: allocated blocks, since Kafka preallocates each
    segment's index files (10 MB, sparse) and their apparent size says nothing."""
    total = 0
    for f in (stack.data("kafka") / "logs").rglob("*"):
        with contextlib.suppress(FileNotFoundError):
            st = f.stat()
            if f.is_file():
                total += st.st_blocks * 512
    return total


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


class LagReader:
    """The group's total lag on the check-in topic: log-end minus committed offsets, read by a
    consumer that never subscribes (so it never joins or disturbs the group)."""

    def __init__(self, settings: Settings) -> None:
        self.topic = settings.checkin_topic
        self.consumer = consumer(
            settings,
            **{
                "group.id": settings.consumer_group,
                "enable.auto.commit": False,
                "client.id": "soak-lag-reader",
            },
        )

    def total(self) -> int:
        metadata = self.consumer.list_topics(self.topic, timeout=10)
        partitions = [TopicPartition(self.topic, p) for p in metadata.topics[self.topic].partitions]
        committed = self.consumer.committed(partitions, timeout=10)
        lag = 0
        for tp in committed:
            low, high = self.consumer.get_watermark_offsets(
                TopicPartition(self.topic, tp.partition), timeout=10
            )
            lag += high - (tp.offset if tp.offset >= 0 else low)
        return lag

    def close(self) -> None:
        self.consumer.close()
