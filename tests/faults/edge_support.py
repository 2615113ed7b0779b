"""What the "bad input at the edges" fault tests share: processes run as users run them (each
stopped by the test that started it), topic end offsets, a Streamlit server and Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition
from playwright.sync_api import Page, sync_playwright

from checkins.clients import kafka_config
from checkins.settings import Settings
from stack.paths import ROOT
from stack.services import dashboard_command, http_answers
from tests.browser import launch_chromium
from tests.conftest import unique
from tests.integration.api_server import free_port, settings_env
from tests.waiting import wait_for

# Variables a child must not inherit from the test runner: the test decides them.
_OWN_PREFIXES = ("KAFKA_", "MONGODB_", "API_", "DEMO_", "CONSUMER_", "CHECKIN_", "STATUS_")


def child_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that makes a child read `settings`, plus `extra` (which wins)."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_OWN_PREFIXES)}
    env.update(settings_env(settings))
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """`python <args>` in the project, stdout and stderr into `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def halt(proc: subprocess.Popen, grace: float = 20) -> None:
    """SIGTERM, then SIGKILL if it does not exit within `grace` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextmanager
def running(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    proc = spawn(args, env, log)
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


@contextmanager
def streamlit_app(env: dict[str, str], log: Path) -> Iterator[str]:
    """The dashboard (`dashboard_command`) on a free loopback port; yields its URL."""
    port = free_port()
    args = dashboard_command(port)[1:]  # `running` adds the interpreter
    url = f"http://127.0.0.1:{port}"
    with running(args, env, log) as proc:
        wait_for(
            lambda: proc.poll() is not None or http_answers(f"{url}/_stcore/health"),
            60,
            "streamlit to answer /_stcore/health",
        )
        assert proc.poll() is None, log.read_text()
        yield url


@contextmanager
def chromium_page() -> Iterator[Page]:
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1000})
        finally:
            browser.close()


def settled(page: Page) -> None:
    """The script has finished its run (the app's own state attribute)."""
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=60_000)
