"""The Kafka edge of the lag monitor: a few Kafka calls per refresh, turned into values.

Per refresh: AdminClient `describe_consumer_groups` (state, assignor, members and what they
own) and `list_offsets` twice (log start, log end) for all partitions at once; committed
offsets come from `committed_offsets`, a short-lived Consumer that never subscribes (not
AdminClient `list_consumer_group_offsets`: in librdkafka 2.16 it can segfault the process when
the broker is not ready to answer for the group, e.g. right after a restart; librdkafka issue
#5040). Timestamps of the oldest unread messages need a fetch, done by `MessageTimes` with one
long-lived, never-committing consumer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from confluent_kafka import (
    OFFSET_INVALID,
    Consumer,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec

from checkins import clients
from checkins.clients import KafkaAdmin
from checkins.settings import Settings
from checkins.wire import coordinates, message_seconds
from monitor.maths import offset_lag

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
    member_id: str | None = None  # changes each time a member joins again


@dataclass(frozen=True)
class GroupSnapshot:
    group: str
    at: float  # epoch seconds, when the offsets were read
    state: str  # STABLE, EMPTY, PREPARING_REBALANCING, DEAD, ...
    members: int
    assignor: str
    partitions: tuple[PartitionOffsets, ...] = field(default_factory=tuple)


def admin_client(settings: Settings, **overrides: object) -> KafkaAdmin:
    return clients.admin_client(settings, **{"client.id": "lag-monitor", **overrides})


def config_of(admin: AdminClient) -> dict[str, object]:
    config = getattr(admin, "config", None)
    if config is None:
        raise TypeError("committed offsets need a KafkaAdmin (admin_client), not an AdminClient")
    return config


def committed_offsets(
    config: Mapping[str, object],
    group: str,
    partitions: Iterable[tuple[str, int]],
    timeout: float = TIMEOUT,
) -> dict[tuple[str, int], int | None]:
    """{(topic, partition): the group's committed offset, None if it has none} for `partitions`.

    `config` is the librdkafka configuration (`kafka_config(settings)` or `config_of(admin)`).
    Read by a Consumer that never subscribes: it only sends an OffsetFetch to the coordinator,
    so it never joins the group (no rebalance of the group's members), and with auto-commit off
    closing it commits nothing. Raises `LagReadError` when Kafka does not answer.
    """
    wanted = [TopicPartition(t, p) for t, p in partitions]
    if not wanted:
        return {}
    reader_config = {
        **config,
        "group.id": group,
        "client.id": "lag-monitor-offsets",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
    }
    reader_config.pop("group.instance.id", None)  # a static member id belongs to real members
    try:
        reader = Consumer(reader_config)
    except KafkaException as exc:
        raise LagReadError(f"could not read the offsets of group {group!r}: {_why(exc)}") from None
    try:
        result = reader.committed(wanted, timeout=timeout)
    except KafkaException as exc:
        raise LagReadError(f"could not read the offsets of group {group!r}: {_why(exc)}") from None
    finally:
        reader.close()
    return {(tp.topic, tp.partition): _offset(tp) for tp in result}


def _offset(tp: TopicPartition) -> int | None:
    real = tp.error is None and tp.offset not in _NO_OFFSET and tp.offset >= 0
    return tp.offset if real else None


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
    metadata = _metadata(admin, timeout)
    partitions = [(t, p) for t in sorted(wanted) for p in _safe_partitions(metadata, t)]
    config = config_of(admin)
    for group in groups:
        try:
            committed = committed_offsets(config, group, partitions, timeout)
        except LagReadError:
            continue  # a group deleted meanwhile
        if any(offset is not None for offset in committed.values()):
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


def _safe_partitions(metadata, topic: str) -> list[int]:
    try:
        return _partitions_of(metadata, topic)
    except LagReadError:
        return []


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
    owners: dict[tuple[str, int], tuple[str, str, str]] = {}
    if description is not None:
        for member in description.members:
            for tp in member.assignment.topic_partitions if member.assignment else []:
                owner = (member.client_id, member.host, member.member_id)
                owners[(tp.topic, tp.partition)] = owner
    metadata = _metadata(admin, timeout)
    # Committed offsets are read per partition: without `topics`, every topic's (but Kafka's
    # own "__" topics) is asked, and those with an offset are the group's.
    asked = list(topics) if topics else sorted(t for t in metadata.topics if not t.startswith("__"))
    candidates = [(t, p) for t in asked for p in _safe_partitions(metadata, t)]
    committed = committed_offsets(config_of(admin), group, candidates, timeout)
    known = {t for (t, _), offset in committed.items() if offset is not None}
    wanted = list(topics) if topics else sorted(known | {t for t, _ in owners})
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
        client_id, host, member_id = owners.get(key, (None, None, None))
        rows.append(
            PartitionOffsets(
                topic=tp.topic,
                partition=tp.partition,
                start=starts[key],
                end=ends[key],
                committed=committed.get(key),
                client_id=client_id,
                host=host,
                member_id=member_id,
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
        self._consumer = clients.consumer(
            settings,
            **{
                "group.id": "lag-monitor-reader",
                "client.id": "lag-monitor-reader",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "enable.partition.eof": False,
                "max.partition.fetch.bytes": 65536,
                "fetch.wait.max.ms": 10,  # answer now; the broker would wait 500 ms for more
                **overrides,
            },
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
                    if msg.error() is not None:
                        continue
                    where = coordinates(msg)
                    key = (where.topic, where.partition)
                    at = message_seconds(msg.timestamp())
                    if at is not None and key not in found:
                        found[key] = at
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


def group_lag(admin: AdminClient, group: str, topic: str, timeout: float = TIMEOUT) -> int:
    """The group's total lag on `topic`, as the lag page, the CLI and Kafka's own tool count it:
    partitions the group never committed add nothing."""
    snap = snapshot(admin, group, [topic], timeout)
    lags = (offset_lag(p.committed, p.start, p.end) for p in snap.partitions)
    return sum(lag for lag in lags if lag is not None)


def topic_size(admin: AdminClient, topic: str, timeout: float = TIMEOUT) -> int:
    """Messages the topic holds now: log end minus log start, summed over its partitions."""
    return sum(end - start for start, end in topic_offsets(admin, topic, timeout).values())


def reachable(admin: AdminClient, timeout: float = 3.0) -> bool:
    try:
        return bool(_metadata(admin, timeout).brokers)
    except LagReadError:
        return False
