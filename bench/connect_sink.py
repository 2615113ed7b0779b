"""`make bench` section: the pipeline side by side with Kafka Connect's MongoDB sink (issue 15).

What a user would run instead of the project's consumers: Kafka Connect (standalone worker, the
broker's version) with the official MongoDB sink connector, on the same local Kafka and store.
One run, one topic of N events (default 100,000), each writer into a database of its own:

- the pipeline, 1 worker (homecheckins + technicians + orders + timeline), as bench.pipeline;
- the connector, event id as `_id`, its default write model (ReplaceOne, upsert by `_id`);
- the connector, InsertOne, unordered, event id as `_id` (all that `homecheckins` alone needs);
- pymongo `insert_many` of the pipeline's own homecheckins documents, already in memory.

The connector stores the envelope as it is on the wire, with `uuid` renamed to `_id` by Kafka's
ReplaceField transform (its documented way to take an id from the value). Each connector run is
timed from the worker's start to the last document counted in its database; the worker is then
stopped, and the section fails if it still runs or its REST port still answers.

    python -m bench connect_sink          # BENCH_CONNECT_EVENTS=20000 for a shorter run

Skipped (with the reason) only when Maven cannot resolve the worker or the connector.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import SectionSkipped
from bench.pipeline import (
    EVENTS,
    LOGS,
    bench_settings,
    pipeline_throughput,
    produce,
    rate,
    raw_consume,
    raw_insert,
    wait,
)
from checkins.clients import mongo_client
from checkins.settings import LOCAL_HOST, Settings
from readmodels.store import collection_count
from stack import install
from stack.broker import java_command
from stack.errors import StackError
from stack.processes import port_open

REST_PORT = 18083
HEAP = "-Xmx768m"
COUNT_INTERVAL = 0.25  # s between counts of the connector's documents
CONNECTOR = "com.mongodb.kafka.connect.MongoSinkConnector"
WORKER_CLASS = "org.apache.kafka.connect.cli.ConnectStandalone"
STRATEGY = "com.mongodb.kafka.connect.sink"


@dataclass(frozen=True)
class SinkConfig:
    """One way of configuring the connector: a label and the properties that differ."""

    label: str
    properties: dict[str, str]


# Both take the event id as `_id`: rename the envelope's `uuid`, then let the connector use the
# `_id` it finds in the value.
EVENT_ID_AS_ID = {
    "transforms": "eventId",
    "transforms.eventId.type": "org.apache.kafka.connect.transforms.ReplaceField$Value",
    "transforms.eventId.renames": "uuid:_id",
    "document.id.strategy": f"{STRATEGY}.processor.id.strategy.ProvidedInValueStrategy",
    # The id adder then sets the `_id` it was given; without this it logs a warning per record.
    "document.id.strategy.overwrite.existing": "true",
}
CONFIGS = (
    # The connector's default write model: ReplaceOne filtered by `_id`, upsert.
    SinkConfig("upsert", dict(EVENT_ID_AS_ID)),
    SinkConfig(
        "insert",
        {
            **EVENT_ID_AS_ID,
            "writemodel.strategy": f"{STRATEGY}.writemodel.strategy.InsertOneDefaultStrategy",
            "bulk.write.ordered": "false",
        },
    ),
)


# -- pure: the worker's and the connector's properties ------------------------------------
def worker_properties(bootstrap: str, offsets_file: Path, rest_port: int) -> dict[str, str]:
    return {
        "bootstrap.servers": bootstrap,
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",  # the envelope is plain JSON
        "offset.storage.file.filename": str(offsets_file),
        "listeners": f"http://{LOCAL_HOST}:{rest_port}",
    }


def connector_properties(
    name: str, topic: str, mongo_uri: str, database: str, config: SinkConfig
) -> dict[str, str]:
    return {
        "name": name,
        "connector.class": CONNECTOR,
        "tasks.max": "1",
        "topics": topic,
        "connection.uri": mongo_uri,
        "database": database,
        "collection": "homecheckins",
        **config.properties,
    }


def properties_text(values: dict[str, str]) -> str:
    """Java properties; `$` and `:` need no escape in values, backslashes would."""
    return "".join(f"{k}={v.replace(chr(92), chr(92) * 2)}\n" for k, v in values.items())


def ratio(numerator: float, denominator: float) -> float:
    return round(numerator / denominator, 2) if denominator else float("inf")


# -- the worker's edges -------------------------------------------------------------------
def resolve_jars() -> Path:
    try:
        return install.ensure_connect_jars()
    except StackError as exc:
        reason = f"Maven could not resolve Kafka Connect or the connector: {exc}"
        raise SectionSkipped(reason) from exc


def jar_version(libs: Path, artifact: str) -> str:
    found = sorted(libs.glob(f"{artifact}-[0-9]*.jar"))
    return found[0].name.removeprefix(f"{artifact}-").removesuffix(".jar") if found else "?"


def rest(path: str) -> Any:
    with urllib.request.urlopen(f"http://{LOCAL_HOST}:{REST_PORT}{path}", timeout=2) as answer:
        return json.loads(answer.read())


def failed_task(name: str) -> str | None:
    """The trace of a failed connector or task, None while running (or not yet answering)."""
    try:
        status = rest(f"/connectors/{name}/status")
    except (OSError, ValueError):
        return None
    for part in [status.get("connector", {}), *status.get("tasks", [])]:
        if part.get("state") == "FAILED":
            return part.get("trace", "failed, no trace")
    return None


@contextmanager
def standalone_worker(libs: Path, worker: Path, connector: Path, log: Path) -> Iterator[None]:
    """ConnectStandalone with one connector; stopped on exit, and proven stopped."""
    if port_open(LOCAL_HOST, REST_PORT):
        raise RuntimeError(f"port {REST_PORT} is taken: another Connect worker is running?")
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [*java_command(libs, HEAP), WORKER_CLASS, str(worker), str(connector)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            yield
        finally:
            proc.send_signal(signal.SIGTERM)  # the worker's shutdown hook stops the task
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
    wait(lambda: not port_open(LOCAL_HOST, REST_PORT), 10, "the Connect REST port to close")
    if proc.returncode is None:
        raise RuntimeError(f"the Connect worker (pid {proc.pid}) did not stop")


def connector_run(
    settings: Settings, libs: Path, config: SinkConfig, events: int
) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    name = f"bench_connect_{config.label}_{tag}"
    database = name
    client = mongo_client(settings)
    coll = client[database].homecheckins
    LOGS.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-connect-") as tmp:
            worker = Path(tmp) / "worker.properties"
            connector = Path(tmp) / "connector.properties"
            offsets = Path(tmp) / "connect.offsets"
            worker.write_text(
                properties_text(worker_properties(settings.bootstrap_servers, offsets, REST_PORT))
            )
            connector.write_text(
                properties_text(
                    connector_properties(
                        name, settings.checkin_topic, settings.mongo_uri, database, config
                    )
                )
            )
            timings: dict[str, float] = {}

            def all_stored() -> bool:
                if "rest" not in timings and port_open(LOCAL_HOST, REST_PORT):
                    timings["rest"] = time.perf_counter() - began
                trace = failed_task(name) if "rest" in timings else None
                if trace is not None:
                    raise RuntimeError(f"connector {config.label} failed: {trace[:2000]}")
                # Not `count`: FerretDB decodes every document for it, slowing the writer.
                stored = collection_count(client[database], coll.name)
                if stored and "first" not in timings:
                    timings["first"] = time.perf_counter() - began
                return stored >= events

            began = time.perf_counter()
            with standalone_worker(libs, worker, connector, LOGS / f"{name}.log"):
                wait(all_stored, 3600, f"connector {config.label} to store all", COUNT_INTERVAL)
                seconds = time.perf_counter() - began
        # `_id` is unique, so N rows are N distinct event ids (FerretDB's `count` and
        # `distinct` decode every document: minutes on the loaded machine).
        stored = collection_count(client[database], coll.name)
        sample = coll.find_one({}, {"uuid": 1})
    finally:
        client.drop_database(database)
        client.close()
    if stored != events:
        raise RuntimeError(f"connector {config.label} stored {stored} of {events} events")
    if sample is None or not isinstance(sample["_id"], str) or "uuid" in sample:
        raise RuntimeError(f"connector {config.label} did not take the event id as _id: {sample}")
    first = timings.get("first", seconds)
    return {
        "seconds": round(seconds, 1),
        "worker_start_s": round(timings.get("rest", float("nan")), 1),
        "first_document_s": round(first, 1),
        "events_per_s": rate(events, seconds),
        # The same run without the JVM's start and the connector's set-up (plugin scan, group
        # join): from the first document counted to the last.
        "events_per_s_after_first": rate(events, seconds - first),
    }


# -- the section ----------------------------------------------------------------------------
def run(settings: Settings, events: int | None = None) -> dict[str, Any]:
    events = events or int(os.environ.get("BENCH_CONNECT_EVENTS", EVENTS))
    libs = resolve_jars()
    with bench_settings(settings, "connect") as own:
        produce(own, events)
        pipeline = pipeline_throughput(own, events, 1)
        upsert, insert = (connector_run(own, libs, c, events) for c in CONFIGS)
        _consume_rate, docs = raw_consume(own, events)
        insert_many = raw_insert(own, docs)
        insert_many_indexed = raw_insert(own, docs, indexed=True)
        del docs
    p = pipeline["events_per_s"]
    return {
        "events": events,
        "kafka_connect_version": jar_version(libs, "connect-runtime"),
        "mongo_kafka_connect_version": jar_version(libs, "mongo-kafka-connect"),
        "pipeline_workers_1_events_per_s": p,
        "connect_upsert_events_per_s": upsert["events_per_s"],
        "connect_insert_events_per_s": insert["events_per_s"],
        "raw_insert_many_events_per_s": insert_many,
        "pipeline_over_connect_upsert": ratio(p, upsert["events_per_s"]),
        "pipeline_over_connect_insert": ratio(p, insert["events_per_s"]),
        "pipeline_over_raw_insert_many": ratio(p, insert_many),
        # The same insert into a homecheckins with the consumers' four secondary indexes (the
        # connector's collections have none): what the store costs the pipeline's first write.
        "raw_insert_many_with_indexes_events_per_s": insert_many_indexed,
        "run_seconds": {
            "pipeline_workers_1": pipeline["seconds"],
            "connect_upsert": upsert["seconds"],
            "connect_insert": insert["seconds"],
        },
        "connect_worker_start_s": {
            "upsert": upsert["worker_start_s"],
            "insert": insert["worker_start_s"],
        },
        "connect_first_document_s": {
            "upsert": upsert["first_document_s"],
            "insert": insert["first_document_s"],
        },
        "connect_events_per_s_after_first_document": {
            "upsert": upsert["events_per_s_after_first"],
            "insert": insert["events_per_s_after_first"],
        },
    }


def summary(figures: dict[str, Any]) -> str:
    """The comparison as a Markdown table (printed by `python -m bench`, pasted in the README)."""
    f = figures
    p = f["pipeline_workers_1_events_per_s"]
    rows = [
        ("the project's pipeline, 1 worker (4 read models)", p),
        ("Kafka Connect + MongoDB sink, ReplaceOne upsert by id", f["connect_upsert_events_per_s"]),
        ("Kafka Connect + MongoDB sink, InsertOne unordered", f["connect_insert_events_per_s"]),
        ("pymongo insert_many, documents in memory", f["raw_insert_many_events_per_s"]),
        ("same, homecheckins with its 4 indexes", f["raw_insert_many_with_indexes_events_per_s"]),
    ]  # fmt: skip
    lines = ["| writer | events/s | pipeline / writer |", "| --- | ---: | ---: |"]
    lines += [f"| {label} | {value:,.0f} | {ratio(p, value):.2f} |" for label, value in rows]
    return "\n".join(lines)
