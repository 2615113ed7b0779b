"""Where one consumer's time goes at full speed (issue 15): a documented command, not a test.

    python -m bench.profile_consumer [--events 20000] [--html bench-results/profile.html]

Produces N events to a topic of its own, then runs one consumer (the same `CheckInConsumer` as
`python -m consumers`) in this process under pyinstrument until all N are stored, and prints:

- wall time by kind of work, from the profile: each sample goes to the innermost frame of a
  known kind (pymongo/bson = the store's round trips; confluent_kafka and the loop's calls
  into it = Kafka; json/pydantic/the envelope = decoding; the read models' code = folding);
  pyinstrument samples the consumer's thread: time it spends waiting on the batch's
  read-ahead lookups (other threads, consumers/store.py) shows as waiting, not as pymongo;
- the store's own figures, from pymongo's command monitoring (every thread's; overlapping
  round trips can add up to more than the wall time): count and total duration of
  every command by name and collection (a duration is one round trip: network + server);
- CPU seconds of this process and of the store's process (FerretDB, when it runs here),
  against the wall time: who is busy while the other waits.

Everything runs on a topic, group and database of its own, removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from pyinstrument import Profiler
from pymongo import monitoring

from bench.pipeline import bench_settings, produce, with_group_and_db
from checkins.settings import LOCAL_HOST, Settings, get_settings
from consumers.loop import CheckInConsumer
from consumers.store import connect

EVENTS = 20_000
STORE_PROCESS = "ferretdb"  # a part of the local store's command line

# Innermost match wins: the first rule whose test holds for a frame, walking from the leaf up.
KINDS = (
    ("store round trips (pymongo, bson)", ("/pymongo/", "/bson/"), ()),
    ("kafka (confluent_kafka)", ("/confluent_kafka/",), ()),
    (
        "kafka (confluent_kafka)",
        ("consumers/loop.py",),
        ("_commit", "_send", "_consumer", "_producer"),
    ),
    (
        "decode (json, pydantic, envelope)",
        ("/json/", "/pydantic", "checkins/envelope.py", "checkins/event.py"),
        (),
    ),
    ("store edge (Python around the calls)", ("consumers/store.py", "readmodels/store.py"), ()),
    ("folding (Python: read models, timeline)", ("readmodels/",), ()),
    ("retry wrapper (tenacity)", ("/tenacity/",), ()),
    ("waiting on the read-ahead lookups", ("/concurrent/futures/",), ()),
)
OTHER = "other (loop, logging, interpreter)"


def kind_of(file_path: str, function: str) -> str | None:
    for kind, paths, functions in KINDS:
        if any(p in file_path for p in paths) and (not functions or function in functions):
            return kind
    return None


def wall_by_kind(root) -> dict[str, float]:
    """Self time of every frame, given to the kind of its innermost classified frame."""
    totals: dict[str, float] = defaultdict(float)
    stack = [(root, OTHER)]
    while stack:
        frame, inherited = stack.pop()
        kind = kind_of(frame.file_path or "", frame.function or "") or inherited
        totals[kind] += frame.total_self_time
        stack.extend((child, kind) for child in frame.children)
    return dict(totals)


class CommandTimes(monitoring.CommandListener):
    """Round trips per (command, collection), as pymongo times them."""

    def __init__(self) -> None:
        self.pending: dict[int, tuple[str, str]] = {}
        self.totals: dict[tuple[str, str], list[float]] = {}
        self.lock = threading.Lock()

    def started(self, event) -> None:
        target = event.command.get(event.command_name)
        collection = target if isinstance(target, str) else ""
        with self.lock:
            self.pending[event.request_id] = (event.command_name, collection)

    def succeeded(self, event) -> None:
        self._finish(event)

    def failed(self, event) -> None:
        self._finish(event)

    def _finish(self, event) -> None:
        with self.lock:
            key = self.pending.pop(event.request_id, (event.command_name, "?"))
            count_seconds = self.totals.setdefault(key, [0, 0.0])
            count_seconds[0] += 1
            count_seconds[1] += event.duration_micros / 1e6


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def store_pid(settings: Settings) -> int | None:
    """The local store's process (FerretDB listening on the store's port), when it runs on this
    machine: a read-only look at /proc."""
    if settings.mongo_is_external:
        return None
    listen = f"{LOCAL_HOST}:{settings.stack_mongo_port}"
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                args = (entry / "cmdline").read_bytes().decode().split("\0")
            except OSError:
                continue
            if STORE_PROCESS in Path(args[0]).name and listen in args:
                return int(entry.name)
    return None


def profile(settings: Settings, events: int, html: Path | None) -> dict[str, Any]:
    listener = CommandTimes()
    monitoring.register(listener)  # for clients made from now on: the consumer's
    with bench_settings(settings, "profile") as topic:
        produce(topic, events)
        own = with_group_and_db(topic, "profile")
        stop = threading.Event()

        def on_batch(stats) -> None:
            if stats.stored + stats.duplicates >= events:
                stop.set()

        consumer = CheckInConsumer(own, stop, on_batch=on_batch)
        pid = store_pid(own)
        store_cpu = cpu_seconds(pid) if pid else None
        profiler = Profiler(interval=0.001)
        began, cpu = time.perf_counter(), time.process_time()
        profiler.start()
        try:
            stats = consumer.run()
        finally:
            profiler.stop()
            wall, cpu = time.perf_counter() - began, time.process_time() - cpu
            store_cpu = cpu_seconds(pid) - store_cpu if pid and store_cpu is not None else None
            client = connect(own)
            client.drop_database(own.mongodb_database)
            client.close()
    session = profiler.last_session
    if session is None:
        raise RuntimeError("pyinstrument recorded no session")
    kinds = wall_by_kind(session.root_frame())
    if html is not None:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(profiler.output_html())
    sampled = sum(kinds.values())
    commands = sorted(listener.totals.items(), key=lambda kv: -kv[1][1])
    return {
        "events": events,
        "stored": stats.stored,
        "wall_s": round(wall, 2),
        "events_per_s": round(events / wall, 1),
        "consumer_cpu_s": round(cpu, 2),
        "store_cpu_s": round(store_cpu, 2) if store_cpu is not None else None,
        "wall_by_kind_pct": {
            k: round(100 * v / sampled, 1) for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])
        },
        "store_round_trips": {
            f"{name} {coll}".strip(): {
                "count": int(n),
                "seconds": round(s, 2),
                "pct_of_wall": round(100 * s / wall, 1),
                "mean_ms": round(1000 * s / n, 2),
            }
            for (name, coll), (n, s) in commands
        },
        "store_round_trips_total_pct_of_wall": round(
            100 * sum(s for _n, s in listener.totals.values()) / wall, 1
        ),
    }


def report(figures: dict[str, Any]) -> str:
    f = figures
    lines = [
        f"{f['events']} events in {f['wall_s']} s: {f['events_per_s']}/s; consumer CPU "
        f"{f['consumer_cpu_s']} s, store CPU {f['store_cpu_s']} s",
        "",
        "wall time by kind (pyinstrument):",
        *(f"  {pct:5.1f} %  {kind}" for kind, pct in f["wall_by_kind_pct"].items()),
        "",
        f"store round trips (pymongo monitoring), {f['store_round_trips_total_pct_of_wall']} % "
        "of wall in all:",
        *(
            f"  {v['pct_of_wall']:5.1f} %  {v['count']:6d} x {v['mean_ms']:7.2f} ms  {name}"
            for name, v in f["store_round_trips"].items()
        ),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_consumer", description=__doc__)
    parser.add_argument("--events", type=int, default=EVENTS)
    parser.add_argument("--html", type=Path, default=None, help="also write pyinstrument's page")
    args = parser.parse_args(argv)
    print(report(profile(get_settings(), args.events, args.html)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
