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
from pydantic import SecretStr

from checkins.settings import LOCAL_HOST, Settings
from stack.paths import ROOT
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
