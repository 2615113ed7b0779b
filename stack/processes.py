"""Detached processes tracked by pid files: start, check, stop gracefully."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def is_alive(pid: int, signature: str) -> bool:
    """True when `pid` runs and its command line holds `signature` (guards against pid reuse)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state != "Z" and signature in cmdline


def running_pid(pid_file: Path, signature: str) -> int | None:
    pid = read_pid(pid_file)
    return pid if pid is not None and is_alive(pid, signature) else None


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def spawn(
    command: list[str], *, pid_file: Path, log_file: Path, cwd: Path, env: dict[str, str]
) -> subprocess.Popen:
    """Start `command` in its own session (so Ctrl-C in a terminal does not reach it twice)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pid_file.write_text(f"{proc.pid}\n")
    return proc


def stop(pid: int, signature: str, grace_seconds: float = 20.0) -> bool:
    """SIGTERM, wait up to `grace_seconds`, then SIGKILL. Returns True if it had to kill."""
    if not is_alive(pid, signature):
        return False
    _signal(pid, signal.SIGTERM)
    if wait_until(lambda: not is_alive(pid, signature), grace_seconds):
        _reap(pid)
        return False
    _signal(pid, signal.SIGKILL)
    wait_until(lambda: not is_alive(pid, signature), 5.0)
    _reap(pid)
    return True


def wait_until(condition, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def log_tail(log_file: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log_file.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log written)"


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _reap(pid: int, timeout: float = 5.0) -> None:
    """Collect the exit status when the process is our child (avoids zombies in `run`). A
    process whose command line is gone may still be exiting: wait a moment for it."""

    def reaped() -> bool:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not our child, or collected already
            return True
        return done == pid

    wait_until(reaped, timeout, interval=0.02)
