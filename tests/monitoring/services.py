"""What the monitoring tests run: Debian's Prometheus and Alertmanager on loopback with temp
dirs and free ports, the lag sampler and the consumers as processes, and a webhook receiver of
the tests' own (an HTTP server that records what it is sent)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from checkins.event import SAMPLE, CheckIn
from checkins.producer import CheckInProducer
from checkins.settings import Settings
from tests.subprocesses import env_for, halt, spawn
from tests.waiting import wait_for


def binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:  # installed by .ci/run (apt-get); a missing one fails, never skips
        raise AssertionError(f"{name} is not installed: apt-get install {name}")
    return found


class Receiver:
    """A webhook receiver on 127.0.0.1:`port`; `stop()` and `start()` again on the same port."""

    def __init__(self, port: int = 0):
        self.port = port
        self.received: list[tuple[float, str, object]] = []  # (time, path, JSON body)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with owner._lock:
                    owner.received.append((time.time(), self.path, json.loads(body or b"null")))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_port
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def on(self, path: str) -> list[tuple[float, object]]:
        with self._lock:
            return [(at, body) for at, p, body in self.received if p == path]


def get_json(url: str, timeout: float = 5.0) -> object:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def get_text(url: str, timeout: float = 5.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode()


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def process(command: list[str], env: dict[str, str], log: Path, ready_url: str | None = None,
            timeout: float = 60.0) -> Iterator[subprocess.Popen]:  # fmt: skip
    proc = spawn(command, env, log)
    try:
        if ready_url is not None:
            wait_for(
                lambda: answers(ready_url) or proc.poll() is not None, timeout, f"{command[0]} up"
            )
            assert proc.poll() is None, log.read_text()[-3000:]
        yield proc
    finally:
        if proc.poll() is None:
            halt(proc)


def prometheus_config(target_port: int, scrape_s: float = 1.0) -> str:
    return (
        "global:\n"
        f"  scrape_interval: {scrape_s:g}s\n"
        f"  evaluation_interval: {scrape_s:g}s\n"
        "scrape_configs:\n"
        "  - job_name: checkin-lag-sampler\n"
        "    static_configs:\n"
        f"      - targets: ['127.0.0.1:{target_port}']\n"
    )


@contextmanager
def prometheus(tmp: Path, port: int, target_port: int) -> Iterator[str]:
    config = tmp / "prometheus.yml"
    config.write_text(prometheus_config(target_port))
    command = [
        binary("prometheus"),
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp / 'prometheus-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    url = f"http://127.0.0.1:{port}"
    with process(command, {}, tmp / "prometheus.log", f"{url}/-/ready"):
        yield url


def alertmanager_config(webhook_url: str) -> str:
    return (
        "route:\n"
        "  receiver: tests\n"
        "  group_by: ['alertname', 'group']\n"
        "  group_wait: 0s\n"
        "  group_interval: 1s\n"
        "  repeat_interval: 1h\n"
        "receivers:\n"
        "  - name: tests\n"
        "    webhook_configs:\n"
        f"      - url: '{webhook_url}'\n"
        "        send_resolved: true\n"
    )


class Alertmanager:
    """Debian's Alertmanager on 127.0.0.1:`port`, routing every alert to `webhook_url`; it can
    be stopped and started again on the same port and storage (a receiver that was down)."""

    def __init__(self, tmp: Path, port: int, webhook_url: str):
        self.tmp, self.url = tmp, f"http://127.0.0.1:{port}"
        config = tmp / "alertmanager.yml"
        config.write_text(alertmanager_config(webhook_url))
        self.command = [
            binary("prometheus-alertmanager"),
            f"--config.file={config}",
            f"--storage.path={tmp / 'alertmanager-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # no gossip port: a single instance
        ]
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = self.tmp / "alertmanager.log"
        self.proc = proc = spawn(self.command, {}, log)
        wait_for(
            lambda: answers(f"{self.url}/-/ready") or proc.poll() is not None,
            60,
            "Alertmanager up",
        )
        assert proc.poll() is None, log.read_text()[-3000:]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            halt(self.proc)
        self.proc = None


def sampler_env(settings: Settings, **extra: object) -> dict[str, str]:
    env = env_for(settings)
    env.update({k.upper(): str(v) for k, v in extra.items()})
    return env


@contextmanager
def sampler(settings: Settings, tmp: Path, metrics_port: int, **extra: object):
    command = [sys.executable, "-m", "monitor.sampler", "--orders-every", "3600"]
    env = sampler_env(settings, metrics_port=metrics_port, **extra)
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    with process(command, env, tmp / "sampler.log", url) as proc:
        yield proc


@contextmanager
def consumers(settings: Settings, tmp: Path) -> Iterator[subprocess.Popen]:
    ready = tmp / f"consumer-{time.monotonic_ns()}.ready"
    command = [sys.executable, "-m", "consumers", "--workers", "1", "--ready-file", str(ready)]
    proc = spawn(command, env_for(settings), tmp / "consumers.log")
    try:
        wait_for(lambda: ready.exists() or proc.poll() is not None, 60, "the consumer joined")
        assert proc.poll() is None, (tmp / "consumers.log").read_text()[-3000:]
        yield proc
    finally:
        if proc.poll() is None:
            halt(proc)


def produce(settings: Settings, count: int, staffs: int = 60) -> None:
    producer = CheckInProducer(settings)
    for i in range(count):
        producer.publish_async(CheckIn.model_validate({**SAMPLE, "staffCode": f"mon-{i % staffs}"}))
    assert producer.flush(60) == 0


def promql(url: str, query: str) -> list[dict]:
    q = urllib.parse.urlencode({"query": query})
    answer = get_json(f"{url}/api/v1/query?{q}")
    assert answer["status"] == "success", answer
    return answer["data"]["result"]
