"""Every group's commits, read from Kafka's `__consumer_offsets`, as Burrow reads them.

An OffsetFetch gives only the last committed offset; Burrow's rules need each commit and its
time (a consumer that keeps committing one offset is STALL, one that stopped committing is
STOP). The coordinator writes one record per committed partition to `__consumer_offsets`:

    key    int16 version (0, 1: an offset commit; 2 and up: other group records),
           string group, string topic, int32 partition
    value  int16 version, int64 offset, [v3+: int32 leader epoch], metadata string,
           int64 commit timestamp (ms, the broker's clock), [v1: int64 expire timestamp];
           v4+ is "flexible" (compact strings, tagged fields after); no value: offset deleted

`CommitLog` replays the topic from its start (compaction keeps at least each partition's last
commit) with one consumer that only `assign`s (joins no group, commits nothing) and then tails
it: each `refresh` reads what was written since. It keeps the last `INTERVALS` commits per
(group, topic, partition). Given `groups`, it reads only the partitions that hold them (a group's
records are in partition abs(Java hashCode of its name) % partitions, as the coordinator puts
them), so a one-shot CLI reads one partition, not the whole topic.
"""

from __future__ import annotations

import struct
import threading
import time
from collections import deque
from collections.abc import Iterable

from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, TopicPartition

from checkins import clients
from checkins.settings import Settings
from monitor.burrow import INTERVALS, Commit

TOPIC = "__consumer_offsets"
Key = tuple[str, str, int]  # group, topic, partition


def _string(data: bytes, at: int) -> tuple[str | None, int]:
    (length,) = struct.unpack_from(">h", data, at)
    at += 2
    if length < 0:
        return None, at
    return data[at : at + length].decode("utf-8", "replace"), at + length


def _uvarint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def parse_key(data: bytes | None) -> Key | None:
    """(group, topic, partition) of an offset-commit key; None for other records."""
    if not data or len(data) < 2:
        return None
    (version,) = struct.unpack_from(">h", data, 0)
    if version not in (0, 1):
        return None
    group, at = _string(data, 2)
    topic, at = _string(data, at)
    (partition,) = struct.unpack_from(">i", data, at)
    if group is None or topic is None:
        return None
    return group, topic, partition


def parse_value(data: bytes | None) -> tuple[int, float] | None:
    """(offset, commit time in epoch seconds) of an offset-commit value; None for a tombstone."""
    if data is None:
        return None
    (version,) = struct.unpack_from(">h", data, 0)
    (offset,) = struct.unpack_from(">q", data, 2)
    at = 10
    if version >= 3:
        at += 4  # leader epoch
    if version >= 4:
        length, at = _uvarint(data, at)  # compact string: length + 1
        at += max(0, length - 1)
    else:
        (length,) = struct.unpack_from(">h", data, at)
        at += 2 + max(0, length)
    (commit_ms,) = struct.unpack_from(">q", data, at)
    return offset, commit_ms / 1000.0


def java_hash(text: str) -> int:
    """Java's String.hashCode (over UTF-16 code units, 32-bit signed)."""
    raw = text.encode("utf-16-be")
    h = 0
    for i in range(0, len(raw), 2):
        h = (31 * h + int.from_bytes(raw[i : i + 2], "big")) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def partition_of(group: str, partitions: int) -> int:
    """The `__consumer_offsets` partition of `group` (Kafka's Utils.abs(hashCode) % count)."""
    h = java_hash(group)
    return (0 if h == -(1 << 31) else abs(h)) % partitions


class CommitLog:
    """The commits of every group (or of `groups`), kept up to date by `refresh`. Thread-safe."""

    def __init__(
        self, settings: Settings, groups: Iterable[str] | None = None, **overrides: object
    ):
        self._groups = None if groups is None else set(groups)
        self._lock = threading.Lock()
        self._commits: dict[str, dict[tuple[str, int], deque[Commit]]] = {}
        self._assigned = False
        self._behind: set[int] = set()  # partitions not read to their end yet
        self._consumer = clients.consumer(
            settings,
            **{
                "group.id": "lag-monitor-commits",
                "client.id": "lag-monitor-commits",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "enable.partition.eof": True,
                "fetch.wait.max.ms": 10,
                **overrides,
            },
        )

    def refresh(self, timeout: float = 5.0) -> bool:
        """Read what was committed since the last call; True if it reached the end in time.

        A partition is read until its end-of-partition event; one that was at its end is read
        again as soon as a record arrives on it (the consumer fetches in the background).
        """
        with self._lock:
            if not self._assigned:
                self._assign(timeout)
            deadline = time.monotonic() + timeout
            first = True
            while first or (self._behind and time.monotonic() < deadline):
                first = False
                for msg in self._consumer.consume(num_messages=1000, timeout=0.1):
                    error, partition = msg.error(), msg.partition()
                    if partition is None:
                        continue  # a client-level error, about no partition
                    if error is None:
                        self._behind.add(partition)
                        self._add(msg.key(), msg.value())
                    elif error.code() == KafkaError._PARTITION_EOF:
                        self._behind.discard(partition)
            return not self._behind

    def _assign(self, timeout: float) -> None:
        try:
            # All topics: asking for one by name may make the broker create it.
            metadata = self._consumer.list_topics(timeout=timeout)
        except KafkaException:
            return
        meta = metadata.topics.get(TOPIC)
        if meta is None or meta.error is not None:
            return  # no group has committed on this cluster yet
        wanted = set(meta.partitions)
        if self._groups is not None:
            wanted = {partition_of(g, len(meta.partitions)) for g in self._groups}
        self._consumer.assign([TopicPartition(TOPIC, p, OFFSET_BEGINNING) for p in wanted])
        self._assigned = True
        self._behind = wanted

    def _add(self, raw_key: bytes | None, raw_value: bytes | None) -> None:
        try:
            key = parse_key(raw_key)
            if key is None:
                return
            value = parse_value(raw_value)
        except (struct.error, IndexError):
            return  # a record of a format this reader does not know
        group, topic, partition = key
        if self._groups is not None and group not in self._groups:
            return
        mine = self._commits.setdefault(group, {})
        if value is None:
            mine.pop((topic, partition), None)  # offset deleted (expired, or the group deleted)
            return
        offset, at = value
        mine.setdefault((topic, partition), deque(maxlen=INTERVALS)).append(Commit(at, offset))

    def of(
        self, group: str, partitions: Iterable[tuple[str, int]] | None = None
    ) -> dict[tuple[str, int], list[Commit]]:
        """{(topic, partition): the group's last commits, oldest first} (as last refreshed)."""
        with self._lock:
            found = {key: list(c) for key, c in self._commits.get(group, {}).items()}
        if partitions is None:
            return found
        return {key: found[key] for key in partitions if key in found}

    def close(self) -> None:
        self._consumer.close()
