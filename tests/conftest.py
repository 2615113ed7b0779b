"""Shared fixtures. Folder decides the marker: unit/ needs nothing; integration/, e2e/, faults/
and monitoring/ need the real stack, which `stack` starts once per test session (or reuses
when it already answers) and stops afterwards if it started it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo import MongoClient

from checkins.settings import Settings
from stack import broker, manager, store
from stack.paths import StackDir
from tests.isolation import own_topics_and_database, unique  # noqa: F401 - unique is re-exported

_MARKERS = {
    "integration": "integration",
    "e2e": "e2e",
    "faults": "faults",
    "monitoring": "monitoring",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = Path(str(item.fspath)).parent.name
        if folder in _MARKERS:
            item.add_marker(getattr(pytest.mark, _MARKERS[folder]))


@pytest.fixture(scope="session")
def stack() -> Iterator[Settings]:
    """The local stack's Kafka and store, answering; settings point at them."""
    settings = Settings()
    if broker.answers(settings) and store.answers(settings):  # a stack someone else runs
        yield settings
        return
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
    with own_topics_and_database(stack, mongo=mongo) as settings:
        yield settings


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """AppTest runs pages in this process, and `st.cache_resource` keeps their Kafka clients for
    the process's life: drop them now, or they log connection errors after the stack is gone."""
    import gc

    import streamlit as st

    st.cache_resource.clear()
    gc.collect()
