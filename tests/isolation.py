"""Per-test topics, consumer group and database, so tests never see each other's events."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from confluent_kafka.admin import AdminClient, NewTopic
from pymongo import MongoClient

from checkins.clients import kafka_config
from checkins.settings import Settings


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def isolated_settings(base: Settings, prefix: str = "") -> Settings:
    """`base` with unique names for the three topics, the group and the database."""
    p = f"{prefix}_" if prefix else ""
    return base.model_copy(
        update={
            "checkin_topic": unique(f"{p}checkins"),
            "checkin_dlq_topic": unique(f"{p}checkins_dlq"),
            "status_topic": unique(f"{p}status"),
            "consumer_group": unique(f"{p}group"),
            "mongodb_database": unique(f"{p}db"),
        }
    )


def create_topics(settings: Settings) -> list[str]:
    """The check-in topic (settings' partitions), its DLQ and the status topic."""
    admin = AdminClient(kafka_config(settings))
    topics = [
        NewTopic(settings.checkin_topic, num_partitions=settings.checkin_partitions),
        NewTopic(settings.checkin_dlq_topic, num_partitions=1),
        NewTopic(settings.status_topic, num_partitions=1),
    ]
    for future in admin.create_topics(topics, operation_timeout=30).values():
        future.result(timeout=30)
    return [t.topic for t in topics]


@contextmanager
def own_topics_and_database(
    base: Settings, prefix: str = "", mongo: MongoClient | None = None
) -> Iterator[Settings]:
    """Isolated settings with their topics created; topics deleted (and the database dropped,
    given a client) afterwards."""
    settings = isolated_settings(base, prefix)
    topics = create_topics(settings)
    try:
        yield settings
    finally:
        AdminClient(kafka_config(settings)).delete_topics(topics, operation_timeout=30)
        if mongo is not None:
            mongo.drop_database(settings.mongodb_database)
