"""Run `python -m api` as a user would, on a free loopback port, with a test's own settings."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from confluent_kafka import Consumer, Message, TopicPartition
from pydantic import SecretStr

from checkins.clients import kafka_config
from checkins.settings import LOCAL_HOST, Settings
from stack.paths import ROOT
from tests.conftest import unique
from tests.isolation import own_topics_and_database
from tests.waiting import wait_for


@dataclass(frozen=True)
class RunningApi:
    base_url: str
    port: int
    log_file: Path

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOCAL_HOST, 0))
        return sock.getsockname()[1]


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process read these same settings."""
    env = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if value is not None:
            env[name.upper()] = str(value)
    env.setdefault("KAFKA_BOOTSTRAP_SERVERS", settings.bootstrap_servers)
    return env


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def running_api(settings: Settings, log_file: Path, **extra_env: str) -> Iterator[RunningApi]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "API_"))},
        **settings_env(settings),
        "API_HOST": LOCAL_HOST,
        "API_PORT": str(port),
        "PYTHONUNBUFFERED": "1",
        **extra_env,
    }
    base_url = f"http://{LOCAL_HOST}:{port}"
    with open(log_file, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "api"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        wait_for(
            lambda: proc.poll() is not None or _answers(f"{base_url}/healthz"),
            30,
            "the API to answer /healthz",
        )
        assert proc.poll() is None, f"the API exited early:\n{log_file.read_text()}"
        yield RunningApi(base_url, port, log_file)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextmanager
def own_topics(stack: Settings) -> Iterator[Settings]:
    """Like the `isolated` fixture, for a module's worth of tests sharing one API process."""
    with own_topics_and_database(stack, "api") as settings:
        yield settings


def messages_on_topic(settings: Settings) -> int:
    """How many messages the check-in topic holds (sum of high watermarks: nothing is deleted)."""
    consumer = Consumer(kafka_config(settings, **{"group.id": unique("api_peek")}))
    try:
        metadata = consumer.list_topics(settings.checkin_topic, timeout=10)
        total = 0
        for partition in metadata.topics[settings.checkin_topic].partitions:
            tp = TopicPartition(settings.checkin_topic, partition)
            _, high = consumer.get_watermark_offsets(tp, timeout=10, cached=False)
            total += high
        return total
    finally:
        consumer.close()


def message_at(settings: Settings, partition: int, offset: int) -> Message:
    """The message at exactly these coordinates of the check-in topic."""
    consumer = Consumer(
        kafka_config(settings, **{"group.id": unique("api_read"), "enable.auto.commit": False})
    )
    consumer.assign([TopicPartition(settings.checkin_topic, partition, offset)])
    try:

        def poll() -> Message | None:
            msg = consumer.poll(0.5)
            return msg if msg is not None and msg.error() is None else None

        return wait_for(poll, 30, f"the message at {partition}/{offset}")
    finally:
        consumer.close()


@contextmanager
def running_consumers(settings: Settings, log_file: Path) -> Iterator[subprocess.Popen]:
    """`python -m consumers` (one worker) on these settings' topic, group and database."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "MONGODB_"))},
        **settings_env(settings),
        "CONSUMER_WORKERS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    with open(log_file, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "consumers"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
