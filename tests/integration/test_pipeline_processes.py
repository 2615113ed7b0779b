"""`python -m consumers` as a process: killed with SIGKILL mid-stream and restarted, it leaves
every produced event in the store exactly once; `--workers 2` shares the work and stops
gracefully on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from checkins.event import SAMPLE, CheckIn
from checkins.producer import CheckInProducer
from stack.paths import ROOT
from stack.processes import is_alive
from tests.waiting import wait_for


def consumer_env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "MONGODB_"))}
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
            "MONGODB_URI": settings.mongo_uri,
            "MONGODB_DATABASE": settings.mongodb_database,
            "CHECKIN_TOPIC": settings.checkin_topic,
            "CHECKIN_DLQ_TOPIC": settings.checkin_dlq_topic,
            "STATUS_TOPIC": settings.status_topic,
            "CONSUMER_GROUP": settings.consumer_group,
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@contextmanager
def consumer_process(settings, tmp_path, *args: str) -> Iterator[subprocess.Popen]:
    log = open(tmp_path / f"consumer-{uuid.uuid4().hex[:6]}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "consumers", *args],
        cwd=ROOT,
        env=consumer_env(settings),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)
        log.close()


def produce(settings, count: int, staffs: int = 20, orders: int = 50) -> set[str]:
    producer = CheckInProducer(settings)
    ids = set()
    for i in range(count):
        checkin = CheckIn.model_validate(
            {
                **SAMPLE,
                "staffCode": f"staff-{i % staffs}",
                "orderNo": f"order-{i % orders}",
                "jobStatus": ["homecheckedin", "working", "done"][i % 3],
                "checkinDate": f"2021-03-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:00",
            }
        )
        ids.add(producer.publish_async(checkin))
    assert producer.flush(60) == 0
    return ids


def test_sigkill_mid_stream_then_restart_stores_every_event_exactly_once(isolated, mongo, tmp_path):
    ids = produce(isolated, 3000)
    db = mongo[isolated.mongodb_database]
    with consumer_process(isolated, tmp_path, "--batch-size", "100") as first:
        wait_for(lambda: db.homecheckins.count_documents({}) >= 600, 120, "the first batches")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    stored_at_kill = db.homecheckins.count_documents({})
    assert stored_at_kill < len(ids), "the kill came too late to prove anything"
    with consumer_process(isolated, tmp_path, "--batch-size", "100") as second:
        wait_for(lambda: db.homecheckins.count_documents({}) == len(ids), 300, "every event stored")
        wait_for(
            lambda: sum(t["checkinCount"] for t in db.technicians.find()) == len(ids),
            120,
            "every event counted once",
        )
        second.send_signal(signal.SIGTERM)
        assert second.wait(60) == 0
    assert {d["_id"] for d in db.homecheckins.find({}, {"_id": 1})} == ids
    histories = [h["eventId"] for o in db.orders.find() for h in o["history"]]
    assert sorted(histories) == sorted(ids)


def test_two_workers_share_the_group_and_stop_gracefully(isolated, mongo, tmp_path):
    ids = produce(isolated, 600)
    db = mongo[isolated.mongodb_database]
    with consumer_process(isolated, tmp_path, "--workers", "2") as proc:
        children = wait_for(lambda: _children(proc.pid, 2), 60, "two worker processes")
        wait_for(lambda: db.homecheckins.count_documents({}) == len(ids), 180, "all events")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    assert not any(is_alive(pid, "") for pid in children)
    assert sum(t["checkinCount"] for t in db.technicians.find()) == len(ids)


def _children(pid: int, count: int) -> list[int] | None:
    """Pids of the worker processes (multiprocessing's spawn children) of `pid`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"multiprocessing" in cmdline and b"resource_tracker" not in cmdline:
            found.append(int(entry))
    return found if len(found) >= count else None
