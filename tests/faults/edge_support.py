"""What the "bad input at the edges" fault tests share: processes run as users run them (each
stopped by the test that started it) and topic end offsets; the browser parts are in
tests/browser.py."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from checkins.clients import kafka_config
from checkins.settings import Settings
from tests.conftest import unique
from tests.integration.api_server import settings_env
from tests.subprocesses import halt, spawn

# Variables a child must not inherit from the test runner: the test decides them.
_OWN_PREFIXES = ("KAFKA_", "MONGODB_", "API_", "DEMO_", "CONSUMER_", "CHECKIN_", "STATUS_")


def child_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that makes a child read `settings`, plus `extra` (which wins)."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_OWN_PREFIXES)}
    env.update(settings_env(settings))
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


@contextmanager
def running(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """`python <args>` in the project, output into `log`, stopped on the way out."""
    proc = spawn([sys.executable, *args], env, log)
    try:
        yield proc
    finally:
        halt(proc)


def end_offsets(settings: Settings, topic: str) -> dict[int, int]:
    """partition -> log end offset, read from the broker now."""
    consumer = Consumer(kafka_config(settings, **{"group.id": unique("edge_peek")}))
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)[1]
            for p in metadata.topics[topic].partitions
        }
    finally:
        consumer.close()
