"""`python -m stack` as a user runs it (what `make up/status/down` call), on a stack of its own:
its own state folder and ports, so the shared test stack is never touched."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from stack.paths import ROOT
from stack.processes import is_alive, port_open
from tests.waiting import wait_for

PORTS = {"STACK_KAFKA_PORT": 19092, "STACK_KAFKA_CONTROLLER_PORT": 19093, "STACK_MONGO_PORT": 27117}


def _env(stack_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in {"KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URI"}
    }
    env.update({k: str(v) for k, v in PORTS.items()})
    env.update({"STACK_DIR": str(stack_dir), "API_PORT": "13000", "DASHBOARD_PORT": "18501"})
    env.update(extra)
    return env


def _stack(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stack", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _pids(stack_dir: Path) -> dict[str, int]:
    return {p.stem: int(p.read_text()) for p in stack_dir.glob("*.pid")}


def _alive(pid: int) -> bool:
    return is_alive(pid, "")


@pytest.mark.timeout(600)
def test_up_status_down_leaves_nothing_behind(tmp_path):
    env = _env(tmp_path, CONSUMER_WORKERS="2")
    try:
        up = _stack(env, "up")
        assert up.returncode == 0, up.stderr
        pids = _pids(tmp_path)
        assert set(pids) == {
            "kafka",
            "mongo",
            "consumers-1",
            "consumers-2",
            "lag-sampler",
            "api",
            "dashboard",
        }
        assert all(_alive(pid) for pid in pids.values())

        status = _stack(env, "status")
        assert status.returncode == 0
        for name, pid in pids.items():
            line = next(line for line in status.stdout.splitlines() if line.startswith(name + " "))
            assert " up " in line and str(pid) in line and str(tmp_path / "logs") in line

        # One service crashes: `up` starts only that one again.
        os.kill(pids["mongo"], signal.SIGKILL)
        wait_for(lambda: not _alive(pids["mongo"]), 10, "mongo to die")
        again = _stack(env, "up")
        assert again.returncode == 0, again.stderr
        repids = _pids(tmp_path)
        assert repids["kafka"] == pids["kafka"]
        assert repids["mongo"] != pids["mongo"]
        pids = repids
    finally:
        # Fewer workers configured now than were started: `down` still stops them all.
        down = _stack({**env, "CONSUMER_WORKERS": "1"}, "down")
    assert down.returncode == 0, down.stderr
    assert not any(_alive(pid) for pid in pids.values())
    assert not list(tmp_path.glob("*.pid"))
    assert not any(port_open("127.0.0.1", port) for port in [*PORTS.values(), 13000, 18501])
    assert "down" in _stack(env, "status").stdout


def test_a_port_taken_by_someone_else_is_named_and_left_alone(tmp_path):
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        result = _stack(_env(tmp_path, STACK_MONGO_PORT=str(port)), "up", "mongo")
        assert result.returncode == 1
        assert f"port {port}" in result.stderr and "mongo" in result.stderr
        assert not (tmp_path / "mongo.pid").exists()
        # The other process's socket still accepts connections.
        assert port_open("127.0.0.1", port)


def test_missing_java_is_named_with_the_alternative(tmp_path):
    bare_path = str(Path(sys.executable).parent)  # python only: no java, mvn or go
    result = _stack(
        _env(
            tmp_path, PATH=bare_path, STACK_KAFKA_PORT="19192", STACK_KAFKA_CONTROLLER_PORT="19193"
        ),
        "up",
        "kafka",
    )
    assert result.returncode == 1
    assert "java is not installed" in result.stderr
    assert "KAFKA_BOOTSTRAP_SERVERS" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_external_kafka_and_store_are_used_and_nothing_starts(tmp_path, stack):
    env = _env(
        tmp_path, KAFKA_BOOTSTRAP_SERVERS=stack.bootstrap_servers, MONGODB_URI=stack.mongo_uri
    )
    result = _stack(env, "up", "kafka", "mongo")
    assert result.returncode == 0, result.stderr
    assert not list(tmp_path.glob("*.pid"))
    assert "external" in _stack(env, "status").stdout
