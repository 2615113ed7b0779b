"""up / down / status over the services, with pid files, logs and readiness deadlines."""

from __future__ import annotations

import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from checkins.settings import LOCAL_HOST, Settings
from stack import broker, processes
from stack.errors import StackError
from stack.paths import ROOT, StackDir
from stack.services import Service, all_services, consumers, kafka


@dataclass
class ServiceState:
    name: str
    state: str  # up / down / external / stale
    address: str
    pid: int | None
    log: str


CLUSTER_TIMEOUT = 90.0


def select(services: list[Service], names: list[str] | None) -> list[Service]:
    """The services named; a group's name (\"kafka\" on a cluster) stands for all its nodes."""
    if not names:
        return services
    known = {s.name for s in services} | {s.group for s in services if s.group}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise StackError(f"unknown service {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return [s for s in services if s.name in names or (s.group and s.group in names)]


def check_layout(settings: Settings, stack: StackDir) -> None:
    if not settings.kafka_is_external:
        problem = broker.layout_problem(settings, stack)
        if problem:
            raise StackError(problem)


def up(settings: Settings, stack: StackDir, names: list[str] | None = None) -> list[Service]:
    """Start what is selected and not running; returns the services this call started."""
    check_layout(settings, stack)
    started: list[Service] = []
    selected = select(all_services(settings, stack), names)
    batch: list[tuple[Service, subprocess.Popen | None]] = []
    for i, service in enumerate(selected):
        running = processes.running_pid(stack.pid_file(service.name), service.signature)
        if service.external or running:
            batch.append((service, None))
        else:
            batch.append((service, _spawn(service, stack, batch)))
            started.append(service)
        following = selected[i + 1] if i + 1 < len(selected) else None
        if service.group and following is not None and following.group == service.group:
            continue  # start the whole group before waiting for any of it
        _wait_batch(batch, stack)
        batch = []
        if service.group == "kafka":
            broker.ensure_topics(settings)
            if not service.external:
                _wait_cluster(settings)
    return started


def _spawn(
    service: Service, stack: StackDir, batch: list[tuple[Service, subprocess.Popen | None]]
) -> subprocess.Popen:
    try:
        return _launch(service, stack)
    except StackError:
        _stop_spawned(batch, stack)
        raise


def _wait_batch(batch: list[tuple[Service, subprocess.Popen | None]], stack: StackDir) -> None:
    try:
        for service, proc in batch:
            _wait_ready(service, proc, stack)
    except StackError:
        _stop_spawned(batch, stack)
        raise


def _stop_spawned(batch: list[tuple[Service, subprocess.Popen | None]], stack: StackDir) -> None:
    """A group member failed: stop the others this call started, leave nothing half-up."""
    for service, proc in batch:
        if proc is not None and proc.poll() is None:
            processes.stop(proc.pid, service.signature, grace_seconds=5)
            stack.pid_file(service.name).unlink(missing_ok=True)


def _wait_cluster(settings: Settings) -> None:
    """Every node joined, every partition led (a node answers before all leaders are elected)."""
    deadline = time.monotonic() + CLUSTER_TIMEOUT
    while (problem := broker.cluster_problem(settings)) is not None:
        if time.monotonic() > deadline:
            raise StackError(
                f"the Kafka cluster is not ready after {CLUSTER_TIMEOUT:.0f} s: {problem}"
            )
        time.sleep(0.25)


def _launch(service: Service, stack: StackDir) -> subprocess.Popen:
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
    return processes.spawn(
        service.command(),
        pid_file=stack.pid_file(service.name),
        log_file=log_file,
        cwd=ROOT,
        env=env,
    )


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
    if not names:  # also what an `up` with other settings left: more workers, other brokers
        services = _with_leftovers(settings, stack, services)
    # A group's members stop together: a cluster's last node, left alone, would wait out its
    # whole grace period for a controller quorum that is gone.
    for group in _groups(list(reversed(services))):
        with ThreadPoolExecutor(max_workers=len(group)) as pool:
            results = list(pool.map(lambda s: _stop_one(s, stack), group))
        stopped += [s.name for s, done in zip(group, results, strict=True) if done]
    return stopped


def _groups(services: list[Service]) -> list[list[Service]]:
    """Consecutive services of one group together, every other service alone."""
    out: list[list[Service]] = []
    for service in services:
        if out and service.group and out[-1][0].group == service.group:
            out[-1].append(service)
        else:
            out.append([service])
    return out


def _stop_one(service: Service, stack: StackDir) -> bool:
    pid_file = stack.pid_file(service.name)
    pid = processes.read_pid(pid_file)
    alive = pid is not None and processes.is_alive(pid, service.signature)
    if pid is not None and alive:
        processes.stop(pid, service.signature)
    pid_file.unlink(missing_ok=True)
    return alive


def _with_leftovers(settings: Settings, stack: StackDir, known: list[Service]) -> list[Service]:
    """`known` plus services whose pid files an `up` with another STACK_KAFKA_BROKERS or
    CONSUMER_WORKERS left behind, each in its place (brokers first, consumers after the store)."""
    names = {s.name for s in known}
    extra = {p.stem for p in stack.root.glob("*.pid")} - names
    workers = max((_index(n) for n in extra if n.startswith("consumers-")), default=0)
    brokers = broker.brokers_on_disk(stack)
    wider = settings.model_copy(
        update={"consumer_workers": max(workers, 1), "stack_kafka_brokers": brokers}
    )
    extra_kafka = [s for s in kafka(wider, stack) if s.name in extra and not s.external]
    extra_workers = [s for s in consumers(wider, stack) if s.name in extra] if workers else []
    kafka_end = sum(1 for s in known if s.group == "kafka")
    store_end = kafka_end + sum(1 for s in known if s.name == "mongo")
    return [
        *extra_kafka,
        *known[:store_end],
        *extra_workers,
        *known[store_end:],
    ]


def _index(name: str) -> int:
    tail = name.rsplit("-", 1)[1]
    return int(tail) if tail.isdigit() else 0


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


def kafka_notes(settings: Settings, stack: StackDir) -> list[str]:
    """For `status`: a stack dir of another size than asked, and how a local cluster stands."""
    if settings.kafka_is_external:
        return []
    problem = broker.layout_problem(settings, stack)
    if problem:
        return [problem]
    if settings.stack_kafka_brokers == 1:
        return []
    running = [
        s
        for s in kafka(settings, stack)
        if processes.running_pid(stack.pid_file(s.name), s.signature)
    ]
    if not running:
        return []
    trouble = broker.cluster_problem(settings)
    count = settings.stack_kafka_brokers
    return [
        f"kafka cluster: {trouble}"
        if trouble
        else f"kafka cluster: all {count} brokers joined, every partition has a leader"
    ]
