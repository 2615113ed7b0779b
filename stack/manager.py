"""up / down / status over the services, with pid files, logs and readiness deadlines."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass

from checkins.settings import LOCAL_HOST, Settings
from stack import broker, processes
from stack.errors import StackError
from stack.paths import ROOT, StackDir
from stack.services import Service, all_services, consumers


@dataclass
class ServiceState:
    name: str
    state: str  # up / down / external / stale
    address: str
    pid: int | None
    log: str


def select(services: list[Service], names: list[str] | None) -> list[Service]:
    if not names:
        return services
    known = {s.name for s in services}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise StackError(f"unknown service {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return [s for s in services if s.name in names]


def up(settings: Settings, stack: StackDir, names: list[str] | None = None) -> list[Service]:
    """Start what is selected and not running; returns the services this call started."""
    started: list[Service] = []
    for service in select(all_services(settings, stack), names):
        running = processes.running_pid(stack.pid_file(service.name), service.signature)
        if service.external or running:
            _wait_ready(service, None, stack)
        else:
            _start(service, stack)
            started.append(service)
        if service.name == "kafka":
            broker.ensure_topics(settings)
    return started


def _start(service: Service, stack: StackDir) -> None:
    for port in service.ports:
        if processes.port_open(LOCAL_HOST, port):
            raise StackError(
                f"port {port} is already in use by another process; not starting {service.name}. "
                "Stop that process, or point the project at it (see README, Settings)."
            )
    service.install()
    log_file = stack.log_file(service.name)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    for one_off in service.prepare():
        result = subprocess.run(one_off, cwd=ROOT, capture_output=True, text=True)
        with open(log_file, "a") as log:
            log.write(result.stdout + result.stderr)
        if result.returncode != 0:
            raise StackError(
                _failure(service, stack, f"its set-up step exited {result.returncode}")
            )
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **service.env}
    proc = processes.spawn(
        service.command(),
        pid_file=stack.pid_file(service.name),
        log_file=log_file,
        cwd=ROOT,
        env=env,
    )
    _wait_ready(service, proc, stack)


def _wait_ready(service: Service, proc: subprocess.Popen | None, stack: StackDir) -> None:
    deadline = time.monotonic() + service.start_timeout
    while not service.ready():
        if proc is not None and proc.poll() is not None:
            stack.pid_file(service.name).unlink(missing_ok=True)
            raise StackError(_failure(service, stack, f"it exited with code {proc.returncode}"))
        if time.monotonic() > deadline:
            if proc is not None:
                processes.stop(proc.pid, service.signature, grace_seconds=5)
                stack.pid_file(service.name).unlink(missing_ok=True)
            raise StackError(
                _failure(service, stack, f"it did not answer within {service.start_timeout:.0f} s")
            )
        time.sleep(0.25)


def _failure(service: Service, stack: StackDir, what: str) -> str:
    if service.external:
        return f"{service.name} at {service.address} is not answering ({what})."
    log = stack.log_file(service.name)
    return (
        f"{service.name} failed to start: {what}. Last lines of {log}:\n{processes.log_tail(log)}"
    )


def down(settings: Settings, stack: StackDir, names: list[str] | None = None) -> list[str]:
    """Stop what this stack started (pid files), newest first; returns the names stopped."""
    stopped = []
    services = select(all_services(settings, stack), names)
    if not names:  # also workers left from an `up` with a larger CONSUMER_WORKERS
        services[2:2] = _leftover_consumers(settings, stack, services)
    for service in reversed(services):
        pid_file = stack.pid_file(service.name)
        pid = processes.read_pid(pid_file)
        if pid is not None and processes.is_alive(pid, service.signature):
            processes.stop(pid, service.signature)
            stopped.append(service.name)
        pid_file.unlink(missing_ok=True)
    return stopped


def _leftover_consumers(settings: Settings, stack: StackDir, known: list[Service]) -> list[Service]:
    names = {s.name for s in known}
    extra = [p.stem for p in stack.root.glob("consumers-*.pid") if p.stem not in names]
    highest = max(
        (int(n.rsplit("-", 1)[1]) for n in extra if n.rsplit("-", 1)[1].isdigit()), default=0
    )
    wider = settings.model_copy(update={"consumer_workers": highest})
    return [s for s in consumers(wider, stack) if s.name in extra]


def status(settings: Settings, stack: StackDir) -> list[ServiceState]:
    states = []
    for service in all_services(settings, stack):
        log = str(stack.log_file(service.name))
        if service.external:
            state = "up" if service.ready() else "down"
            states.append(
                ServiceState(service.name, f"{state} (external)", service.address, None, "-")
            )
            continue
        pid = processes.running_pid(stack.pid_file(service.name), service.signature)
        state = "down" if pid is None else "up" if service.ready() else "starting/not answering"
        states.append(ServiceState(service.name, state, service.address, pid, log))
    return states
