"""The API and the dashboard as processes on the fault stack, and a headless Chromium."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from checkins.settings import LOCAL_HOST, Settings
from stack.paths import ROOT
from stack.processes import stop
from stack.services import dashboard_command, http_answers
from tests.faults.harness import child_env, tail
from tests.waiting import wait_for


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOCAL_HOST, 0))
        return sock.getsockname()[1]


@contextmanager
def process(
    command: list[str], env: dict[str, str], log: Path, health: str
) -> Iterator[subprocess.Popen]:
    """Start `command`, wait until `health` answers 200, stop it (SIGTERM, then SIGKILL)."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for(lambda: proc.poll() is not None or http_answers(health), 60, f"{health} to answer")
        assert proc.poll() is None, f"{command[2]} exited early:\n{tail(log)}"
        yield proc
    finally:
        stop(proc.pid, signature="", grace_seconds=15)
        proc.wait(timeout=10)


@contextmanager
def api(settings: Settings, logs: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    env = child_env(settings, API_HOST=LOCAL_HOST, API_PORT=str(port))
    url = f"http://{LOCAL_HOST}:{port}"
    command = [sys.executable, "-m", "api"]
    with process(command, env, logs / "api.log", f"{url}/healthz") as proc:
        yield url, proc


@contextmanager
def dashboard(settings: Settings, logs: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    command = dashboard_command(port)
    url = f"http://{LOCAL_HOST}:{port}"
    env = child_env(settings)
    with process(command, env, logs / "dashboard.log", f"{url}/_stcore/health") as proc:
        yield url, proc
