"""What the stack runs, in start order. Each later part of the project adds itself here."""

from __future__ import annotations

import sys
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

from checkins.settings import LOCAL_HOST, Settings
from stack import broker, install, processes, store
from stack.paths import StackDir


@dataclass(frozen=True)
class Service:
    name: str  # also the pid and log file's name
    address: str
    signature: str  # a part of its command line, to tell it from a reused pid
    command: Callable[[], list[str]]
    ready: Callable[[], bool]
    ports: tuple[int, ...] = ()
    external: bool = False
    install: Callable[[], object] = lambda: None
    prepare: Callable[[], list[list[str]]] = lambda: []
    start_timeout: float = 60.0
    env: dict[str, str] = field(default_factory=dict)


def kafka(settings: Settings, stack: StackDir) -> Service:
    libs = install.KAFKA_LIBS
    return Service(
        name="kafka",
        address=settings.bootstrap_servers,
        signature=str(stack.data("kafka") / "server.properties"),
        command=lambda: broker.command(stack, libs),
        ready=lambda: broker.answers(settings),
        ports=(settings.stack_kafka_port, settings.stack_kafka_controller_port),
        external=settings.kafka_is_external,
        install=install.ensure_kafka_jars,
        prepare=lambda: broker.prepare(settings, stack, libs),
        start_timeout=90.0,
    )


def mongo(settings: Settings, stack: StackDir) -> Service:
    address = "external (MONGODB_URI)" if settings.mongo_is_external else settings.mongo_uri
    return Service(
        name="mongo",
        address=address,
        signature=str(stack.data("mongo")),
        command=lambda: store.command(settings, stack, install.FERRETDB_BIN),
        ready=lambda: store.answers(settings),
        ports=(settings.stack_mongo_port,),
        external=settings.mongo_is_external,
        install=install.ensure_ferretdb_binary,
    )


def python_module(*args: str) -> list[str]:
    return [sys.executable, "-m", *args]


def consumers(settings: Settings, stack: StackDir) -> list[Service]:
    """CONSUMER_WORKERS processes in one group, each its own service (consumers-1.pid, ...).
    Ready once the process has joined the group: it writes its pid to a ready file when
    partitions are assigned, and removes it when it closes."""
    return [_consumer(settings, stack, i) for i in range(1, settings.consumer_workers + 1)]


def _consumer(settings: Settings, stack: StackDir, index: int) -> Service:
    name = f"consumers-{index}"
    ready_file = stack.root / f"{name}.ready"

    def ready() -> bool:
        pid = processes.running_pid(stack.pid_file(name), str(ready_file))
        return pid is not None and processes.read_pid(ready_file) == pid

    return Service(
        name=name,
        address=f"group {settings.consumer_group} on {settings.checkin_topic}",
        signature=str(ready_file),
        command=lambda: python_module(
            "consumers", "--workers", "1", "--ready-file", str(ready_file)
        ),
        ready=ready,
        start_timeout=60.0,
    )


def lag_sampler(settings: Settings, stack: StackDir) -> Service:
    """Samples consumer-group offsets into MongoDB so the lag page has history when opened."""
    signature = "monitor.sampler"
    return Service(
        name="lag-sampler",
        address=f"MongoDB {settings.mongodb_database}.lag_samples",
        signature=signature,
        command=lambda: python_module("monitor.sampler"),
        # No port: ready means it is still running once started.
        ready=lambda: processes.running_pid(stack.pid_file("lag-sampler"), signature) is not None,
        start_timeout=15.0,
    )


def http_answers(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except (OSError, ValueError):
        return False


def api(settings: Settings, stack: StackDir) -> Service:
    address = local_address(settings.api_port)
    return Service(
        name="api",
        address=address,
        signature="-m api",
        command=lambda: python_module("api"),
        ready=lambda: http_answers(f"{address}/healthz"),
        ports=(settings.api_port,),
        start_timeout=30.0,
    )


DASHBOARD_ENTRY = "dashboard/app.py"  # relative to the project root, where it runs


def dashboard_command(port: int) -> list[str]:
    """How the dashboard is served: by the stack, and by the tests that drive it in a browser."""
    return python_module(
        "streamlit", "run", DASHBOARD_ENTRY,
        "--server.address", LOCAL_HOST,
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
    )  # fmt: skip


def dashboard(settings: Settings, stack: StackDir) -> Service:
    address = local_address(settings.dashboard_port)
    return Service(
        name="dashboard",
        address=address,
        signature=DASHBOARD_ENTRY,
        command=lambda: dashboard_command(settings.dashboard_port),
        ready=lambda: http_answers(f"{address}/_stcore/health"),
        ports=(settings.dashboard_port,),
        start_timeout=60.0,
    )


def all_services(settings: Settings, stack: StackDir) -> list[Service]:
    return [
        kafka(settings, stack),
        mongo(settings, stack),
        *consumers(settings, stack),
        lag_sampler(settings, stack),
        api(settings, stack),
        dashboard(settings, stack),
    ]


def local_address(port: int) -> str:
    return f"http://{LOCAL_HOST}:{port}"
