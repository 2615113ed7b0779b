"""Shared fixtures. Folder decides the marker: unit/ needs nothing; integration/, e2e/ and
faults/ need the real stack, which `stack` starts once per test session (or reuses when it
already answers) and stops afterwards if it started it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic
from pymongo import MongoClient

from checkins.settings import Settings
from stack import manager
from stack.paths import StackDir

_MARKERS = {"integration": "integration", "e2e": "e2e", "faults": "faults"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = Path(str(item.fspath)).parent.name
        if folder in _MARKERS:
            item.add_marker(getattr(pytest.mark, _MARKERS[folder]))


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def stack() -> Iterator[Settings]:
    """The local stack's Kafka and store, answering; settings point at them."""
    settings = Settings()
    stack_dir = StackDir.from_setting(settings.stack_dir)
    started = manager.up(settings, stack_dir, ["kafka", "mongo"])
    yield settings
    if started:
        manager.down(settings, stack_dir, [s.name for s in started])


@pytest.fixture(scope="session")
def mongo(stack: Settings) -> Iterator[MongoClient]:
    client = MongoClient(stack.mongo_uri, serverSelectionTimeoutMS=10_000, tz_aware=True)
    yield client
    client.close()


@pytest.fixture
def isolated(stack: Settings, mongo: MongoClient) -> Iterator[Settings]:
    """Settings with this test's own topics (6 partitions), consumer group and database."""
    settings = stack.model_copy(
        update={
            "checkin_topic": unique("checkins"),
            "checkin_dlq_topic": unique("checkins_dlq"),
            "status_topic": unique("status"),
            "consumer_group": unique("group"),
            "mongodb_database": unique("db"),
        }
    )
    admin = AdminClient(settings.kafka_config())
    topics = [
        NewTopic(settings.checkin_topic, num_partitions=settings.checkin_partitions),
        NewTopic(settings.checkin_dlq_topic, num_partitions=1),
        NewTopic(settings.status_topic, num_partitions=1),
    ]
    for future in admin.create_topics(topics, operation_timeout=30).values():
        future.result(timeout=30)
    yield settings
    admin.delete_topics([t.topic for t in topics], operation_timeout=30)
    mongo.drop_database(settings.mongodb_database)
