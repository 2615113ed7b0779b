"""Is Kafka reachable, and does it hold the check-in topic? (for `GET /readyz`)"""

from __future__ import annotations

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient


def kafka_ready(admin: AdminClient, topic: str, timeout: float) -> tuple[bool, str]:
    """(ready, why) from one metadata request; blocking, so call it off the event loop."""
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        return False, f"Kafka is not reachable: {exc.args[0].str() if exc.args else exc}"
    found = metadata.topics.get(topic)
    if found is None:
        return False, f"Kafka has no topic {topic!r}"
    if found.error is not None:
        return False, f"topic {topic!r} is not usable: {found.error.str()}"
    return True, f"topic {topic!r} has {len(found.partitions)} partitions"
