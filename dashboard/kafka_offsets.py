"""The Kafka edge of the lag monitor: a few AdminClient calls per refresh, turned into values.

Per refresh: `describe_consumer_groups` (state, assignor, members and what they own),
`list_consumer_group_offsets` (committed offsets), `list_offsets` twice (log start, log end)
for all partitions at once. Timestamps of the oldest unread messages need a fetch, done by
`MessageTimes` with one long-lived, never-committing consumer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from confluent_kafka import (
    OFFSET_INVALID,
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec

from checkins.settings import Settings

TIMEOUT = 10.0
# librdkafka's special offsets are negative; only real offsets are offsets.
_NO_OFFSET = {OFFSET_INVALID, -1}
# What an unanswered admin call raises: Kafka's own error, or the future's deadline passing.
_FAILED = (KafkaException, TimeoutError)


def _why(exc: BaseException) -> str:
    if isinstance(exc, KafkaException) and exc.args:
        error = exc.args[0]
        return error.str() if hasattr(error, "str") else str(error)
    return f"no answer within {TIMEOUT:.0f} s"


class LagReadError(Exception):
    """Kafka did not answer a lag query; the message says which and never holds settings."""


@dataclass(frozen=True)
class PartitionOffsets:
    topic: str
    partition: int
    start: int
    end: int
    committed: int | None
    client_id: str | None = None  # the member that owns it now, if any
    host: str | None = None


@dataclass(frozen=True)
class GroupSnapshot:
    group: str
    at: float  # epoch seconds, when the offsets were read
    state: str  # STABLE, EMPTY, PREPARING_REBALANCING, DEAD, ...
    members: int
    assignor: str
    partitions: tuple[PartitionOffsets, ...] = field(default_factory=tuple)


def admin_client(settings: Settings, **overrides: object) -> AdminClient:
    return AdminClient(settings.kafka_config(**{"client.id": "lag-monitor", **overrides}))


def list_groups(admin: AdminClient, timeout: float = TIMEOUT) -> list[str]:
    try:
        result = admin.list_consumer_groups(request_timeout=timeout).result(timeout=timeout)
    except _FAILED as exc:
        raise LagReadError(f"could not list consumer groups: {_why(exc)}") from None
    return sorted(g.group_id for g in result.valid)


def groups_on_topics(
    admin: AdminClient, topics: Iterable[str], timeout: float = TIMEOUT, limit: int = 500
) -> list[str]:
    """Groups that committed offsets on, or have members assigned to, any of `topics`."""
    wanted = set(topics)
    groups = list_groups(admin, timeout)[:limit]
    if not groups:
        return []
    found: set[str] = set()
    futures = {
        g: admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(g)], request_timeout=timeout
        )[g]
        for g in groups
    }
    for group, future in futures.items():
        try:
            result = future.result(timeout=timeout)
        except _FAILED:
            continue  # a group deleted meanwhile
        if any(tp.topic in wanted for tp in result.topic_partitions or []):
            found.add(group)
    for description in _describe(admin, groups, timeout).values():
        for member in description.members:
            assigned = member.assignment.topic_partitions if member.assignment else []
            if any(tp.topic in wanted for tp in assigned):
                found.add(description.group_id)
    return sorted(found)


def topic_partitions(admin: AdminClient, topic: str, timeout: float = TIMEOUT) -> list[int]:
    return _partitions_of(_metadata(admin, timeout), topic)


def _metadata(admin: AdminClient, timeout: float):
    try:
        # All topics, not list_topics(topic=...): asking for one by name makes a broker with
        # auto.create.topics.enable create it, and a lag query must not create topics.
        return admin.list_topics(timeout=timeout)
    except _FAILED as exc:
        raise LagReadError(f"could not read the topics: {_why(exc)}") from None


def _partitions_of(metadata, topic: str) -> list[int]:
    meta = metadata.topics.get(topic)
    if meta is None or meta.error is not None:
        raise LagReadError(f"topic {topic!r} does not exist")
    return sorted(meta.partitions)


def snapshot(
    admin: AdminClient,
    group: str,
    topics: Sequence[str] | None = None,
    timeout: float = TIMEOUT,
) -> GroupSnapshot:
    """One group's offsets and members, for `topics` (default: every topic it touches)."""
    description = _describe(admin, [group], timeout).get(group)
    owners: dict[tuple[str, int], tuple[str, str]] = {}
    if description is not None:
        for member in description.members:
            for tp in member.assignment.topic_partitions if member.assignment else []:
                owners[(tp.topic, tp.partition)] = (member.client_id, member.host)
    committed = _committed(admin, group, timeout)
    wanted = list(topics) if topics else sorted({t for t, _ in committed} | {t for t, _ in owners})
    metadata = _metadata(admin, timeout) if wanted else None
    partitions = []
    for topic in wanted:
        try:
            partitions += [TopicPartition(topic, p) for p in _partitions_of(metadata, topic)]
        except LagReadError:
            if topics:
                raise  # asked for by name: say it is missing
            # else: offsets left behind by a deleted topic; nothing to show for it
    at = time.time()
    starts = _list_offsets(admin, partitions, OffsetSpec.earliest(), timeout)
    ends = _list_offsets(admin, partitions, OffsetSpec.latest(), timeout)
    rows = []
    for tp in partitions:
        key = (tp.topic, tp.partition)
        client_id, host = owners.get(key, (None, None))
        rows.append(
            PartitionOffsets(
                topic=tp.topic,
                partition=tp.partition,
                start=starts[key],
                end=ends[key],
                committed=committed.get(key),
                client_id=client_id,
                host=host,
            )
        )
    if description is None:
        state, members, assignor = "DEAD", 0, ""
    else:
        state = description.state.name if description.state is not None else "UNKNOWN"
        members, assignor = len(description.members), description.partition_assignor or ""
    return GroupSnapshot(group, at, state, members, assignor, tuple(rows))


def _describe(admin: AdminClient, groups: list[str], timeout: float) -> dict:
    if not groups:
        return {}
    out = {}
    for group, future in admin.describe_consumer_groups(groups, request_timeout=timeout).items():
        try:
            out[group] = future.result(timeout=timeout)
        except _FAILED as exc:
            raise LagReadError(f"could not describe group {group!r}: {_why(exc)}") from None
    return out


def _committed(admin: AdminClient, group: str, timeout: float) -> dict[tuple[str, int], int]:
    request = [ConsumerGroupTopicPartitions(group)]
    try:
        result = admin.list_consumer_group_offsets(request, request_timeout=timeout)[group].result(
            timeout=timeout
        )
    except _FAILED as exc:
        raise LagReadError(f"could not read the offsets of group {group!r}: {_why(exc)}") from None
    return {
        (tp.topic, tp.partition): tp.offset
        for tp in result.topic_partitions or []
        if tp.error is None and tp.offset not in _NO_OFFSET and tp.offset >= 0
    }


def _list_offsets(
    admin: AdminClient, partitions: list[TopicPartition], spec: OffsetSpec, timeout: float
) -> dict[tuple[str, int], int]:
    if not partitions:
        return {}
    futures = admin.list_offsets({tp: spec for tp in partitions}, request_timeout=timeout)
    out = {}
    for tp, future in futures.items():
        try:
            out[(tp.topic, tp.partition)] = future.result(timeout=timeout).offset
        except _FAILED as exc:
            raise LagReadError(
                f"could not read the offsets of {tp.topic}[{tp.partition}]: {_why(exc)}"
            ) from None
    return out


class MessageTimes:
    """Reads the timestamps of the messages at given offsets (the oldest unread ones).

    One consumer for the life of the process: it only `assign`s, never subscribes or commits,
    so it joins no group and moves nobody's offsets.
    """

    def __init__(self, settings: Settings, **overrides: object):
        self._lock = threading.Lock()
        self._consumer = Consumer(
            settings.kafka_config(
                **{
                    "group.id": "lag-monitor-reader",
                    "client.id": "lag-monitor-reader",
                    "enable.auto.commit": False,
                    "enable.auto.offset.store": False,
                    "enable.partition.eof": False,
                    "max.partition.fetch.bytes": 65536,
                    "fetch.wait.max.ms": 10,  # answer now; the broker would wait 500 ms for more
                    **overrides,
                }
            )
        )

    def at(
        self, offsets: dict[tuple[str, int], int], timeout: float = 3.0
    ) -> dict[tuple[str, int], float]:
        """{(topic, partition): offset} -> {(topic, partition): epoch seconds}, what arrived."""
        if not offsets:
            return {}
        # One consumer, shared by every page session (threads): one assignment at a time.
        with self._lock:
            return self._read(offsets, timeout)

    def _read(
        self, offsets: dict[tuple[str, int], int], timeout: float
    ) -> dict[tuple[str, int], float]:
        self._consumer.assign([TopicPartition(t, p, o) for (t, p), o in offsets.items()])
        found: dict[tuple[str, int], float] = {}
        deadline = time.monotonic() + timeout
        try:
            while len(found) < len(offsets) and time.monotonic() < deadline:
                for msg in self._consumer.consume(num_messages=500, timeout=0.2):
                    key = (msg.topic(), msg.partition())
                    if msg.error() is not None or key in found:
                        continue
                    kind, millis = msg.timestamp()
                    if kind != 0 and millis >= 0:  # 0 = TIMESTAMP_NOT_AVAILABLE
                        found[key] = millis / 1000.0
        finally:
            self._consumer.unassign()
        return found

    def close(self) -> None:
        self._consumer.close()


def topic_offsets(
    admin: AdminClient, topic: str, timeout: float = TIMEOUT
) -> dict[int, tuple[int, int]]:
    """partition -> (log start, log end) for every partition of `topic`."""
    partitions = [TopicPartition(topic, p) for p in topic_partitions(admin, topic, timeout)]
    starts = _list_offsets(admin, partitions, OffsetSpec.earliest(), timeout)
    ends = _list_offsets(admin, partitions, OffsetSpec.latest(), timeout)
    return {p: (starts[(t, p)], ends[(t, p)]) for (t, p) in ends}


def list_topic_names(admin: AdminClient, timeout: float = TIMEOUT) -> list[str]:
    try:
        metadata = admin.list_topics(timeout=timeout)
    except _FAILED as exc:
        raise LagReadError(f"could not list topics: {_why(exc)}") from None
    return sorted(t for t in metadata.topics if not t.startswith("__"))
