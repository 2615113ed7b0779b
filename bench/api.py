"""`make bench` section: the check-in API's throughput and latency with acks=all, and where the
time goes.

Everything runs in one go against the same broker: the bare produce+ack (the floor no HTTP
front can beat), the HTTP round trip of `GET /healthz` (the floor of the framework), and
`POST /api/SOA/home/checkin` one at a time and under concurrent load. The API reports its own
split per request in `Server-Timing` (parse+validate, wait for Kafka's ack), so the client's
latency can be taken apart. The load generator is httpx on loopback, in this process; the API
is `python -m api` in its own process, on its own topic, deleted afterwards.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from confluent_kafka.admin import AdminClient, NewTopic

from api.publisher import AsyncPublisher
from checkins.clients import kafka_config
from checkins.envelope import new_event_id
from checkins.event import SAMPLE, CheckIn
from checkins.producer import CheckInProducer
from checkins.settings import LOCAL_HOST, Settings, get_settings
from stack.paths import ROOT

PATH = "/api/SOA/home/checkin"
SEQUENTIAL_REQUESTS = 200
LOAD_REQUESTS = 3000
THREADED_REQUESTS = 1500
CONCURRENCY = 32


@dataclass
class Sample:
    """Per-request figures in milliseconds (server parts from `Server-Timing`)."""

    latency: list[float] = field(default_factory=list)
    parse: list[float] = field(default_factory=list)
    kafka: list[float] = field(default_factory=list)
    errors: int = 0
    wall: float = 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def server_timing(header: str | None) -> dict[str, float]:
    """'parse;dur=0.2, kafka;dur=6.1' -> {'parse': 0.2, 'kafka': 6.1}"""
    parts: dict[str, float] = {}
    for metric in (header or "").split(","):
        name, _, params = metric.strip().partition(";")
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "dur":
                with suppress(ValueError):
                    parts[name] = float(value)
    return parts


def sample_figures(sample: Sample) -> dict[str, Any]:
    done = len(sample.latency)
    out: dict[str, Any] = {
        "requests": done,
        "errors": sample.errors,
        "requests_per_s": round(done / sample.wall, 1) if sample.wall else None,
    }
    if done:
        out["latency_ms"] = _quantiles(sample.latency)
    if sample.kafka:
        out["server_kafka_ack_ms"] = _quantiles(sample.kafka)
        out["server_parse_ms"] = _quantiles(sample.parse)
    return out


def _quantiles(values: Sequence[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 50), 2),
        "p95": round(percentile(values, 95), 2),
        "mean": round(statistics.fmean(values), 2),
    }


def _request_bytes(method: str, path: str, port: int) -> bytes:
    body = json.dumps(SAMPLE).encode() if method == "POST" else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: {LOCAL_HOST}:{port}\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, dict[str, str]]:
    """One keep-alive request/response; (status, lower-cased headers)."""
    writer.write(request)
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    status_line, *lines = head.split("\r\n")
    headers = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    await reader.readexactly(int(headers.get("content-length", "0")))
    return int(status_line.split()[1]), headers


async def _load(port: int, method: str, path: str, requests: int, concurrency: int) -> Sample:
    """`concurrency` keep-alive connections sending `requests` in all. A bare asyncio client:
    httpx's pool costs more CPU per request than the server does, which on a 2-core box made
    the generator the bottleneck."""
    sample, left = Sample(), iter(range(requests))
    request = _request_bytes(method, path, port)

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(LOCAL_HOST, port)
        try:
            for _ in left:
                started = time.perf_counter()
                try:
                    status, headers = await _exchange(reader, writer, request)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    sample.errors += 1
                    return
                elapsed = (time.perf_counter() - started) * 1000
                if status != 200:
                    sample.errors += 1
                    continue
                sample.latency.append(elapsed)
                parts = server_timing(headers.get("server-timing"))
                if "kafka" in parts:
                    sample.kafka.append(parts["kafka"])
                    sample.parse.append(parts.get("parse", 0.0))
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    sample.wall = time.perf_counter() - started
    return sample


def load(port: int, method: str, path: str, requests: int, concurrency: int) -> Sample:
    return asyncio.run(_load(port, method, path, requests, concurrency))


def bare_produce(settings: Settings) -> dict[str, Any]:
    """The producer alone, no HTTP: one publish() at a time (the floor of one request), and
    CONCURRENCY events in flight the API's way (`AsyncPublisher`) and the thread-pool way
    (publish() from as many threads), to compare with the endpoint under the same load."""
    producer = CheckInProducer(settings, **{"client.id": "bench-api-bare"})
    checkin = CheckIn.model_validate(SAMPLE, context={"timezone": settings.checkin_timezone})
    try:
        producer.publish(checkin)  # connect and learn the partitions first
        one = Sample()
        started = time.perf_counter()
        for _ in range(SEQUENTIAL_REQUESTS):
            t0 = time.perf_counter()
            producer.publish(checkin)
            one.latency.append((time.perf_counter() - t0) * 1000)
        one.wall = time.perf_counter() - started
        in_flight = asyncio.run(_async_publishes(producer, checkin, LOAD_REQUESTS, CONCURRENCY))
        threads = _threaded_publishes(producer, checkin, THREADED_REQUESTS, CONCURRENCY)
    finally:
        producer.flush(10)
    return {
        "one_at_a_time": sample_figures(one),
        f"async_{CONCURRENCY}_in_flight": sample_figures(in_flight),
        f"publish_from_{CONCURRENCY}_threads": sample_figures(threads),
    }


async def _async_publishes(
    producer: CheckInProducer, checkin: CheckIn, requests: int, concurrency: int
) -> Sample:
    publisher = AsyncPublisher(producer)
    publisher.start()
    sample, left = Sample(), iter(range(requests))

    async def worker() -> None:
        for _ in left:
            t0 = time.perf_counter()
            await publisher.publish(
                checkin, event_id=new_event_id(), produced_at=datetime.now(UTC), timeout=30
            )
            sample.latency.append((time.perf_counter() - t0) * 1000)

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        sample.wall = time.perf_counter() - started
        publisher.close(10)
    return sample


def _threaded_publishes(
    producer: CheckInProducer, checkin: CheckIn, requests: int, threads: int
) -> Sample:
    sample, left, lock = Sample(), iter(range(requests)), threading.Lock()

    def worker() -> None:
        for _ in left:
            t0 = time.perf_counter()
            producer.publish(checkin)
            elapsed = (time.perf_counter() - t0) * 1000
            with lock:
                sample.latency.append(elapsed)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    sample.wall = time.perf_counter() - started
    return sample


@contextmanager
def bench_topic(settings: Settings) -> Iterator[Settings]:
    topic = f"bench_api_{uuid.uuid4().hex[:10]}"
    admin = AdminClient(kafka_config(settings))
    new = NewTopic(topic, num_partitions=settings.checkin_partitions)
    for future in admin.create_topics([new], operation_timeout=30).values():
        future.result(timeout=30)
    try:
        yield settings.model_copy(update={"checkin_topic": topic})
    finally:
        admin.delete_topics([topic], operation_timeout=30)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((LOCAL_HOST, 0))
        return sock.getsockname()[1]


@contextmanager
def api_process(settings: Settings) -> Iterator[int]:
    """`python -m api` on a free loopback port, writing to the bench topic; no token."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "API_TOKEN"}
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
            "CHECKIN_TOPIC": settings.checkin_topic,
            "API_HOST": LOCAL_HOST,
            "API_PORT": str(port),
        }
    )
    base_url = f"http://{LOCAL_HOST}:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "api"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the API exited with code {proc.returncode}")
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the API did not answer /healthz within 30 s")
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def where_time_goes(
    one: dict[str, Any], many: dict[str, Any], health: dict[str, Any], bare: dict[str, Any]
) -> list[str]:
    """Plain sentences taking the latencies apart (medians, ms)."""
    total = one["latency_ms"]["p50"]
    kafka = one["server_kafka_ack_ms"]["p50"]
    parse = one["server_parse_ms"]["p50"]
    floor = bare["one_at_a_time"]["latency_ms"]["p50"]
    http = health["latency_ms"]["p50"]
    rest = max(0.0, total - kafka - parse)
    async_bare = bare[f"async_{CONCURRENCY}_in_flight"]
    threaded = bare[f"publish_from_{CONCURRENCY}_threads"]
    load_total = many["latency_ms"]["p50"]
    load_kafka = many["server_kafka_ack_ms"]["p50"]
    return [
        f"one request at a time: {total:.2f} ms median, of which {kafka:.2f} ms "
        f"({kafka / total:.0%}) waiting for Kafka's ack (bare produce+ack: {floor:.2f} ms, "
        f"mostly linger.ms=5 batching plus the broker's append), {parse:.2f} ms reading and "
        f"validating the body, {rest:.2f} ms HTTP, routing and JSON in client and server "
        f"(a bare GET /healthz round trip: {http:.2f} ms)",
        f"{CONCURRENCY} in flight: the endpoint does {many['requests_per_s']} requests/s; the "
        f"producer alone does {async_bare['requests_per_s']} events/s at the same concurrency "
        f"(p50 {async_bare['latency_ms']['p50']} ms), so the limit is the API process's one "
        "event loop (uvicorn on uvloop and httptools, routing, JSON, validation) sharing 2 "
        f"cores with the load generator, not Kafka; of the {load_total:.2f} ms median latency, "
        f"{load_kafka:.2f} ms is from produce to the ack reaching the busy event loop and the "
        "rest is waiting for the loop to read the request and write the answer",
        f"the thread-pool way (CheckInProducer.publish() from {CONCURRENCY} threads) does only "
        f"{threaded['requests_per_s']} events/s at p50 {threaded['latency_ms']['p50']} ms: "
        "threads steal each other's delivery reports and sleep out their 50 ms poll, which is "
        "why the API settles acks from one poller thread instead (api/publisher.py)",
    ]


def run(settings: Settings) -> dict[str, Any]:
    with bench_topic(settings) as bench_settings:
        bare = bare_produce(bench_settings)
        with api_process(bench_settings) as port:
            load(port, "POST", PATH, 100, 8)  # warm up: connections, partitions, caches
            health = sample_figures(load(port, "GET", "/healthz", SEQUENTIAL_REQUESTS, 1))
            one = sample_figures(load(port, "POST", PATH, SEQUENTIAL_REQUESTS, 1))
            many = sample_figures(load(port, "POST", PATH, LOAD_REQUESTS, CONCURRENCY))
    return {
        "endpoint": f"POST {PATH} (acks=all, loopback, asyncio keep-alive load generator)",
        "requests_per_s": many["requests_per_s"],
        "latency_ms": many.get("latency_ms"),
        "concurrency": CONCURRENCY,
        "under_load": many,
        "one_at_a_time": one,
        "healthz_one_at_a_time": health,
        "bare_produce_ack": bare,
        "where_time_goes": where_time_goes(one, many, health, bare),
    }


if __name__ == "__main__":
    print(json.dumps(run(get_settings()), indent=2))
