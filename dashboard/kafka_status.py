"""Consumer lag and DLQ size from Kafka's offsets, and broker reachability.

AdminClient `list_topics` and `list_offsets`; committed offsets through
`kafka_offsets.committed_offsets` (a Consumer that never subscribes), never AdminClient
`list_consumer_group_offsets`, which can segfault librdkafka 2.16 after a broker restart.
"""

from __future__ import annotations

from collections.abc import Mapping

from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from dashboard import kafka_offsets

TIMEOUT_S = 3.0


def partition_lag(
    committed: Mapping[int, int],
    latest: Mapping[int, int],
    earliest: Mapping[int, int] | None = None,
) -> dict[int, int]:
    """Per partition: end offset minus the group's committed offset. A partition the group has
    never committed (no offset, or a negative one) lags by everything still in it."""
    earliest = earliest or {}
    lag = {}
    for p, end in latest.items():
        done = committed.get(p, -1)
        start = done if done >= 0 else earliest.get(p, 0)
        lag[p] = max(0, end - start)
    return lag


def total_lag(
    committed: Mapping[int, int],
    latest: Mapping[int, int],
    earliest: Mapping[int, int] | None = None,
) -> int:
    return sum(partition_lag(committed, latest, earliest).values())


def partitions(admin: AdminClient, topic: str, timeout: float = TIMEOUT_S) -> list[int]:
    meta = admin.list_topics(topic, timeout=timeout).topics.get(topic)
    if meta is None or meta.error is not None:
        return []
    return sorted(meta.partitions)


def offsets(admin: AdminClient, topic: str, spec: OffsetSpec, timeout: float = TIMEOUT_S):
    request = {TopicPartition(topic, p): spec for p in partitions(admin, topic, timeout)}
    if not request:
        return {}
    futures = admin.list_offsets(request, request_timeout=timeout)
    return {tp.partition: f.result(timeout=timeout).offset for tp, f in futures.items()}


def committed_offsets(
    admin: AdminClient, group: str, topic: str, timeout: float = TIMEOUT_S
) -> dict[int, int]:
    """partition -> the group's committed offset, for the partitions it has committed.
    `admin` must be a `kafka_offsets.KafkaAdmin` (its configuration reaches the group)."""
    wanted = [(topic, p) for p in partitions(admin, topic, timeout)]
    config = kafka_offsets.config_of(admin)
    found = kafka_offsets.committed_offsets(config, group, wanted, timeout)
    return {p: offset for (_, p), offset in found.items() if offset is not None}


def consumer_lag(admin: AdminClient, group: str, topic: str) -> int:
    """Total lag of `group` on `topic` (every partition)."""
    latest = offsets(admin, topic, OffsetSpec.latest())
    earliest = offsets(admin, topic, OffsetSpec.earliest())
    return total_lag(committed_offsets(admin, group, topic), latest, earliest)


def topic_size(admin: AdminClient, topic: str) -> int:
    """Messages currently held: latest minus earliest offset, summed over partitions."""
    latest = offsets(admin, topic, OffsetSpec.latest())
    earliest = offsets(admin, topic, OffsetSpec.earliest())
    return sum(max(0, end - earliest.get(p, 0)) for p, end in latest.items())


def reachable(admin: AdminClient, timeout: float = TIMEOUT_S) -> bool:
    try:
        return bool(admin.list_topics(timeout=timeout).brokers)
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False
