"""`make bench` section `soak` (issue 17): the whole local stack for BENCH_SOAK_S seconds (default
1,800) as a user runs it, in a stack dir and on ports of its own (Kafka 29092/29093, store 37017,
API 3100, dashboard 8601), so the shared stack is never touched:

- `python -m stack up` with CONSUMER_WORKERS=3 (BENCH_SOAK_WORKERS): Kafka, FerretDB, the
  consumers, the lag sampler, the API, the dashboard;
- the simulator at BENCH_SOAK_RATE check-ins/s (default 200) less the API's share
  (BENCH_SOAK_API_SHARE, default 0.1), which this process POSTs to the API at a steady pace;
- the dashboard's map, overview and lag pages open in headless Chromium, live refresh on.

Every BENCH_SOAK_WINDOW_S (60) it records per service resident memory and CPU, the store's
database and WAL sizes (the WAL also every 5 s, for its maximum), Kafka's log size, the consumer
lag, produce-to-visible latency of the API's check-ins (each watched by `_id`) and the pages'
refresh and reload times. At the end it waits for the lag to drain and counts what was
acknowledged but not stored. Plots go to bench-results/soak-*.png, the windows and the table
to bench-results/soak.json and soak.md. Everything it started is stopped, also on Ctrl-C.

    BENCH_SOAK_S=120 BENCH_SOAK_RATE=50 python -m bench soak
"""

from __future__ import annotations

import heapq
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import soak_figures as sf
from bench.soak_browser import DashboardUser, window_figures
from bench.soak_plots import draw
from bench.soak_probe import (
    LagReader,
    ProcessMeter,
    chromium_processes,
    kafka_log_bytes,
    store_files,
)
from checkins.clients import mongo_client
from checkins.settings import LOCAL_HOST, Settings
from readmodels import events
from stack.paths import ROOT, StackDir

RESULTS = ROOT / "bench-results"
PORTS = {
    "STACK_KAFKA_PORT": 29092,
    "STACK_KAFKA_CONTROLLER_PORT": 29093,
    "STACK_MONGO_PORT": 37017,
    "API_PORT": 3100,
    "DASHBOARD_PORT": 8601,
}
WAL_EVERY = 5.0  # s between looks at the WAL within a window
DRAIN_TIMEOUT = 600.0  # s for the consumers to catch up at the end
MACHINE_NOTE = (
    "2 cores shared with other sessions' builds, tests and benchmarks: CPU and latency "
    "figures carry their noise"
)


@dataclass(frozen=True)
class Knobs:
    seconds: float
    rate: float  # check-ins/s, the API's share included
    api_share: float
    window_s: float
    workers: int


def knobs() -> Knobs:
    env = os.environ
    return Knobs(
        seconds=float(env.get("BENCH_SOAK_S", 1800)),
        rate=float(env.get("BENCH_SOAK_RATE", 200)),
        api_share=float(env.get("BENCH_SOAK_API_SHARE", 0.1)),
        window_s=float(env.get("BENCH_SOAK_WINDOW_S", 60)),
        workers=int(env.get("BENCH_SOAK_WORKERS", 3)),
    )


def soak_env(stack_dir: Path, workers: int) -> dict[str, str]:
    """The environment of every process of the soak's stack: the local stack (no external
    Kafka or MongoDB), its own dir and ports."""
    external = {"KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URI"}
    env = {k: v for k, v in os.environ.items() if k not in external}
    env.update({k: str(v) for k, v in PORTS.items()})
    env.update(
        {"STACK_DIR": str(stack_dir), "CONSUMER_WORKERS": str(workers), "PYTHONUNBUFFERED": "1"}
    )
    return env


def soak_settings(stack_dir: Path, workers: int) -> Settings:
    return Settings(
        stack_dir=str(stack_dir),
        stack_kafka_port=PORTS["STACK_KAFKA_PORT"],
        stack_kafka_controller_port=PORTS["STACK_KAFKA_CONTROLLER_PORT"],
        stack_mongo_port=PORTS["STACK_MONGO_PORT"],
        api_port=PORTS["API_PORT"],
        dashboard_port=PORTS["DASHBOARD_PORT"],
        consumer_workers=workers,
    ).model_copy(update={"kafka_bootstrap_servers": None, "mongodb_uri": None})


def stack_command(action: str, env: dict[str, str], timeout: float) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stack", action],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    print(result.stdout, file=sys.stderr, flush=True)
    if result.returncode != 0:
        raise RuntimeError(f"python -m stack {action} failed:\n{result.stderr[-3000:]}")


# -- the API's share of check-ins, each watched until it is visible ----------------------
class ApiLoad(threading.Thread):
    """POSTs check-ins to the API at `rate`/s on a monotonic schedule; hands each acknowledged
    event id, with the time its POST began, to `watch`."""

    def __init__(self, url: str, rate: float, seconds: float, watch: deque) -> None:
        super().__init__(name="soak-api-load", daemon=True)
        self.url, self.rate, self.seconds, self.watch = url, rate, seconds, watch
        self.stop = threading.Event()
        self.acked = 0
        self.failed = 0
        self.last_error: str | None = None

    def run(self) -> None:
        if self.rate <= 0:
            return
        statuses = ("assigned", "on_the_way", "homecheckedin", "working", "completed")
        began = time.monotonic()
        total = int(self.rate * self.seconds)
        with httpx.Client(timeout=15) as client:
            for i in range(total):
                due = began + i / self.rate
                if self.stop.wait(max(0.0, due - time.monotonic())):
                    return
                body = {
                    "internetNo": str(8860000000 + i // 5),
                    "orderNo": f"soak_api_order_{i // 5:07d}",
                    "staffCode": f"soak_api_{(i // 5) % 40:03d}",  # an order keeps its technician
                    "jobStatus": statuses[i % len(statuses)],
                    "checkinLatitude": 13.70 + (i % 97) / 1000,
                    "checkinLongitude": 100.50 + (i % 89) / 1000,
                    "checkinDate": datetime.now(UTC).isoformat(),
                }
                sent = time.monotonic()
                try:
                    response = client.post(f"{self.url}/api/SOA/home/checkin", json=body)
                except httpx.HTTPError as exc:
                    self.failed += 1
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    continue
                if response.status_code == 200:
                    self.acked += 1
                    self.watch.append((response.json()["_id"], sent))
                else:
                    self.failed += 1
                    self.last_error = f"HTTP {response.status_code}: {response.text[:200]}"


class VisibilityWatch(threading.Thread):
    """Looks each pending event up by `_id` (an index search on the local store) until it is
    stored; its produce-to-visible time goes into the current window's list.

    An event is looked at again after a tenth of its age so far (50 ms to 1 s): the figure is
    within about 10 % and the lookups stay a few per event. Looking at every pending event
    every 50 ms had made this probe one of the store's busiest clients once a backlog built
    up, slowing the pipeline it measures."""

    def __init__(self, settings: Settings, pending: deque) -> None:
        super().__init__(name="soak-visibility", daemon=True)
        self.pending = pending
        self.client = mongo_client(settings, serverSelectionTimeoutMS=10_000)
        self.homecheckins = self.client[settings.mongodb_database][events.COLLECTION]
        self.lock = threading.Lock()
        self.window: list[float] = []
        self.seen = 0
        self.lookups = 0
        self.stop = threading.Event()
        self.error: str | None = None

    def take_window(self) -> list[float]:
        with self.lock:
            taken, self.window = self.window, []
        return taken

    def run(self) -> None:
        waiting: list[tuple[float, str, float]] = []  # (next look, event id, sent)
        while not self.stop.is_set():
            while self.pending:
                event_id, sent = self.pending.popleft()
                heapq.heappush(waiting, (sent, event_id, sent))
            now = time.monotonic()
            while waiting and waiting[0][0] <= now and not self.stop.is_set():
                _, event_id, sent = heapq.heappop(waiting)
                self.lookups += 1
                try:
                    found = self.homecheckins.find_one({"_id": event_id}, {"_id": 1})
                except Exception as exc:  # noqa: BLE001 - the store may stall under load
                    self.error = f"{type(exc).__name__}: {exc}"
                    found = None
                now = time.monotonic()
                if found is None:
                    again = min(1.0, max(0.05, (now - sent) / 10))
                    heapq.heappush(waiting, (now + again, event_id, sent))
                else:
                    with self.lock:
                        self.window.append(now - sent)
                    self.seen += 1
            self.stop.wait(0.02)
        self.unseen = [e for _, e, _ in waiting] + [e for e, _ in self.pending]

    def close(self) -> None:
        self.client.close()


# -- the run --------------------------------------------------------------------------------
def run(settings: Settings | None = None) -> dict[str, Any]:  # noqa: ARG001 - its own settings
    k = knobs()
    stack_dir = Path(tempfile.mkdtemp(prefix="checkin-soak-"))
    env = soak_env(stack_dir, k.workers)
    own = soak_settings(stack_dir, k.workers)
    stack = StackDir(stack_dir)
    services = [
        "kafka",
        "mongo",
        *[f"consumers-{i}" for i in range(1, k.workers + 1)],
        "lag-sampler",
        "api",
        "dashboard",
    ]
    previous_term = _stop_on_sigterm()
    started: list[Any] = []  # what to stop, newest last
    try:
        print(f"soak: starting the stack in {stack_dir}", file=sys.stderr, flush=True)
        stack_command("up", env, timeout=600)
        started.append(("stack", None))
        figures = _soak(k, env, own, stack, services, started)
        write_report(figures)
        return figures
    finally:
        _stop_all(started, env)
        _keep_logs(stack)
        shutil.rmtree(stack_dir, ignore_errors=True)
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)


def _soak(k: Knobs, env, own: Settings, stack: StackDir, services, started) -> dict[str, Any]:
    seconds, window_s = k.seconds, k.window_s
    api_rate = k.rate * k.api_share
    sim_rate = k.rate - api_rate
    # The user first: the pages open (Chromium, first runs) before any load starts.
    user = DashboardUser(f"http://{LOCAL_HOST}:{own.dashboard_port}", every=window_s)
    user.start()
    started.append(("thread", user))
    user.ready.wait(180)
    if user.error or not user.ready.is_set():
        raise RuntimeError(f"the dashboard's pages did not open: {user.error or 'timed out'}")

    sim_log = stack.log_file("simulator")
    sim_log.parent.mkdir(parents=True, exist_ok=True)
    with open(sim_log, "ab") as log:
        simulator = subprocess.Popen(
            [sys.executable, "-m", "dashboard.simulate", "--rate", str(sim_rate),
             "--duration", str(seconds), "--technicians", "200", "--prefix", "soak"],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    started.append(("process", simulator))
    pending: deque = deque()
    watch = VisibilityWatch(own, pending)
    api = ApiLoad(f"http://{LOCAL_HOST}:{own.api_port}", api_rate, seconds, pending)
    lag = LagReader(own)
    for thread in (watch, api):
        thread.start()
        started.append(("thread", thread))
    started.append(("closer", lag.close))
    started.append(("closer", watch.close))

    meter = ProcessMeter(stack, services)
    meter.read({"chromium": chromium_processes()})  # CPU reference point
    windows: list[dict[str, Any]] = []
    began = time.monotonic()
    n_windows = max(1, round(seconds / window_s))
    for index in range(1, n_windows + 1):
        wal_max = 0
        end = began + index * window_s
        while (left := end - time.monotonic()) > 0:
            wal_max = max(wal_max, store_files(stack)[1])
            time.sleep(min(WAL_EVERY, left))
        windows.append(_window(time.monotonic() - began, stack, meter, lag, watch, user, wal_max))
        print(f"soak: window {index}/{n_windows} {json.dumps(windows[-1])}", file=sys.stderr,
              flush=True)  # fmt: skip

    # The end: the load stops by itself; wait for the simulator's last acks, then the drain.
    api.stop.set()
    api.join(30)
    simulator.wait(timeout=180)
    sim_acked = sf.acknowledged_in(sim_log.read_text(errors="replace"))
    drained = _wait(lambda: lag.total() == 0, DRAIN_TIMEOUT)
    _wait(lambda: not pending and watch.seen >= api.acked, 60)
    watch.stop.set()
    watch.join(30)
    stored = _events_stored(own)
    user.stop.set()

    acknowledged = (sim_acked or 0) + api.acked
    figures = _figures(windows)
    return {
        "seconds_run": round(time.monotonic() - began, 1),
        "rate": k.rate,
        "api_share": k.api_share,
        "workers": k.workers,
        "machine": MACHINE_NOTE,
        "acknowledged": acknowledged,
        "acknowledged_simulator": sim_acked,
        "acknowledged_api": api.acked,
        "api_failed": api.failed,
        "api_last_error": api.last_error,
        "stored": stored,
        # Only a drained pipeline tells lost from not yet stored.
        "lost": sf.lost(acknowledged, stored) if sim_acked is not None and drained else None,
        "not_stored_at_end": acknowledged - stored,
        "lost_api_ids": len(getattr(watch, "unseen", [])),
        "visibility_lookups": watch.lookups,
        "drained": drained,
        "dashboard_error": user.error,
        **figures,
        "plots": [str(p.relative_to(ROOT)) for p in draw(windows, RESULTS)],
        "windows": windows,
    }


def _window(t, stack, meter, lag, watch, user, wal_max) -> dict[str, Any]:
    rss, cpu = meter.read({"chromium": chromium_processes()})
    database, wal = store_files(stack)
    try:
        total_lag = lag.total()
    except Exception:  # noqa: BLE001 - a window without a lag reading says so
        total_lag = None
    return {
        "t_s": round(t, 1),
        "rss_mb": rss,
        "cpu_pct": cpu,
        "store_mb": sf.mb(database),
        "wal_mb": sf.mb(wal),
        "wal_mb_max": sf.mb(max(wal_max, wal)),
        "kafka_log_mb": sf.mb(kafka_log_bytes(stack)),
        "lag": total_lag,
        "latency_ms": sf.latency_window(watch.take_window()),
        "pages": window_figures(user.take_rounds()),
    }


def _figures(windows: list[dict[str, Any]]) -> dict[str, Any]:
    latency = [w["latency_ms"].get("p99") for w in windows]
    services = sf.per_service(windows, "rss_mb", "last")
    return {
        "wal_mb_max": max(sf.series(windows, "wal_mb_max"), default=None),
        "store_mb_last": sf.first_last_max(sf.series(windows, "store_mb"))["last"],
        "rss_mb_first": sf.per_service(windows, "rss_mb", "first"),
        "rss_mb_last": services,
        "rss_mb_max": sf.per_service(windows, "rss_mb", "max"),
        "rss_mb_rise_last_third": {
            s: sf.last_third_growth(sf.series(windows, f"rss_mb.{s}")) for s in services
        },
        "latency_ms_p99_second_window": latency[1] if len(latency) > 1 else None,
        "latency_ms_p99_last_window": latency[-1] if latency else None,
        "growth_mb_per_hour": {
            f: sf.growth_per_hour(windows, f) for f in ("store_mb", "kafka_log_mb")
        },
        "summary": sf.summary_table(windows),
    }


def _events_stored(settings: Settings) -> int:
    """The count the overview shows (no scan of every document on the local store)."""
    client = mongo_client(settings, serverSelectionTimeoutMS=10_000)
    try:
        return events.events_stored(client[settings.mongodb_database])
    finally:
        client.close()


def _wait(condition, timeout: float, interval: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except Exception:  # noqa: BLE001, S110 - retried until the deadline
            pass
        time.sleep(interval)
    return False


def _stop_all(started: list[tuple[str, Any]], env: dict[str, str]) -> None:
    for kind, thing in reversed(started):
        try:
            if kind == "thread":
                thing.stop.set()
                thing.join(60)
            elif kind == "process" and thing.poll() is None:
                thing.send_signal(signal.SIGINT)  # the simulator flushes and says what it sent
                try:
                    thing.wait(30)
                except subprocess.TimeoutExpired:
                    thing.kill()
                    thing.wait(10)
            elif kind == "closer":
                thing()
            elif kind == "stack":
                stack_command("down", env, timeout=300)
        except Exception as exc:  # noqa: BLE001 - stop the rest whatever one did
            print(f"soak: stopping {kind} failed: {exc}", file=sys.stderr, flush=True)


def _keep_logs(stack: StackDir) -> None:
    logs = stack.root / "logs"
    if logs.is_dir():
        target = RESULTS / "soak-logs"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(logs, target)


def _stop_on_sigterm():
    """SIGTERM ends the soak like Ctrl-C: through the finally that stops everything."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(*_):
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, interrupt)


def write_report(figures: dict[str, Any]) -> None:
    """bench-results/soak.json (everything) and soak.md (the table the README quotes)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "soak.json").write_text(json.dumps(figures, indent=2, default=str) + "\n")
    (RESULTS / "soak.md").write_text(markdown_table(figures) + "\n")


def markdown_table(figures: dict[str, Any]) -> str:
    rows = ["| figure | first | last | max |", "| --- | ---: | ---: | ---: |"]
    for name, values in figures.get("summary", {}).items():
        cells = ["-" if values[c] is None else f"{values[c]:g}" for c in ("first", "last", "max")]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)
