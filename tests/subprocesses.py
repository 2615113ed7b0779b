"""Run the project's own programs (streamlit, consumers, ...) as test subprocesses."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from checkins.settings import Settings
from stack.paths import ROOT
from stack.processes import stop


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(settings: Settings) -> dict[str, str]:
    names = ("mongodb_database", "checkin_topic", "checkin_dlq_topic", "status_topic")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.update({n.upper(): str(getattr(settings, n)) for n in (*names, "consumer_group")})
    return env


def spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def halt(proc: subprocess.Popen) -> None:
    stop(proc.pid, signature="", grace_seconds=10)
    proc.wait(timeout=10)
