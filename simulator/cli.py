"""The demo simulator's edges: pacing on a monotonic clock, sending through the one producer,
a background thread for the page, and the headless command

    python -m dashboard.simulate --technicians 200 --rate 50 --duration 60

The motion and lifecycle live in `simulator.model` (pure, seeded).
"""

from __future__ import annotations

import argparse
import math
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from simulator.model import BANGKOK, City, SimEvent, Simulation, event_count


@dataclass
class Progress:
    """Shared between the sending thread and whoever shows progress."""

    total: int
    sent: int = 0
    acked: int = 0
    failed: int = 0
    last_error: str | None = None
    done: bool = False
    stopped: bool = False
    started_at: float = 0.0
    finished_at: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def on_delivery(self, err: object, _msg: object = None) -> None:
        with self._lock:
            if err is None:
                self.acked += 1
            else:
                self.failed += 1
                self.last_error = str(err)

    def unacknowledged(self, count: int) -> None:
        """`count` check-ins got no acknowledgement before the flush gave up."""
        with self._lock:
            self.failed += count
            self.last_error = f"{count} check-ins not acknowledged in time"

    @property
    def fraction(self) -> float:
        return min(1.0, self.sent / self.total) if self.total else 1.0

    def summary(self) -> str:
        state = "stopped" if self.stopped else "done" if self.done else "running"
        return (
            f"{state}: sent {self.sent:,} of {self.total:,} check-ins, "
            f"{self.acked:,} acknowledged, {self.failed:,} failed"
        )


def pace(
    events: Iterable[SimEvent],
    send: Callable[[SimEvent], None],
    progress: Progress,
    stop: threading.Event,
    *,
    clock: Callable[[], float] = time.monotonic,
    wait: Callable[[float], bool] | None = None,
) -> Progress:
    """Send each event when it is due on a monotonic-clock schedule (not fixed sleeps), so
    slow sends are caught up rather than stretching the run; `stop` ends it early."""
    wait = wait or stop.wait
    start = clock()
    progress.started_at = start
    try:
        for event in events:
            delay = start + event.due - clock()
            if (delay > 0 and wait(delay)) or stop.is_set():
                progress.stopped = True
                break
            send(event)
            progress.sent += 1
    finally:
        progress.done = True
        progress.finished_at = clock()
    return progress


# --- the thin I/O edge: Kafka -------------------------------------------------------------


def kafka_sender(producer: Any, progress: Progress) -> Callable[[SimEvent], None]:
    """Validate with the one schema and queue on the producer; acks land in `progress`."""
    from checkins.event import CheckIn

    def send(event: SimEvent) -> None:
        checkin = CheckIn.model_validate(event.data)
        producer.publish_async(checkin, on_delivery=progress.on_delivery)
        producer.poll(0)

    return send


def run(
    producer: Any,
    simulation: Simulation,
    *,
    rate: float,
    duration: float,
    speedup: float = 1.0,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
    flush_timeout: float = 30.0,
) -> Progress:
    """Publish the simulation's check-ins through a `CheckInProducer`, then wait for the acks."""
    total = event_count(rate, duration)
    stop = stop or threading.Event()
    progress = progress or Progress(total=total)
    events = simulation.events(rate, total, speedup)
    try:
        pace(events, kafka_sender(producer, progress), progress, stop)
    finally:
        unacked = producer.flush(flush_timeout)
        if unacked:
            progress.unacknowledged(unacked)
    return progress


def start_in_background(
    producer: Any, simulation: Simulation, *, rate: float, duration: float, speedup: float = 1.0
) -> tuple[threading.Thread, threading.Event, Progress]:
    """For the page: a daemon thread a Streamlit rerun can stop through the returned Event."""
    stop = threading.Event()
    progress = Progress(total=event_count(rate, duration))
    thread = threading.Thread(
        target=_run_reporting_errors,
        args=(producer, simulation, rate, duration, speedup, stop, progress),
        name="demo-simulator",
        daemon=True,
    )
    thread.start()
    return thread, stop, progress


def _run_reporting_errors(producer, simulation, rate, duration, speedup, stop, progress) -> None:
    try:
        run(
            producer,
            simulation,
            rate=rate,
            duration=duration,
            speedup=speedup,
            stop=stop,
            progress=progress,
        )
    except Exception as exc:  # noqa: BLE001 - shown on the page instead of dying unseen
        progress.last_error = f"simulator stopped: {exc}"
        progress.stopped = True
        progress.done = True


# --- headless -----------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m dashboard.simulate",
        description="Publish simulated technicians' check-ins to the check-in topic.",
    )
    parser.add_argument("--technicians", type=_positive_int, default=200)
    parser.add_argument("--rate", type=_positive_float, default=50.0, help="check-ins per second")
    parser.add_argument("--duration", type=_positive_float, default=60.0, help="seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--speedup",
        type=_positive_float,
        default=1.0,
        help="simulated seconds per real second (check-in dates run ahead by as much)",
    )
    parser.add_argument(
        "--center",
        type=_lat_lon,
        default=(BANGKOK.latitude, BANGKOK.longitude),
        metavar="LAT,LON",
        help="the city's centre (default: the seed's check-in in Bangkok)",
    )
    parser.add_argument("--radius-km", type=_positive_float, default=BANGKOK.radius_km)
    parser.add_argument("--prefix", default="sim", help="staff codes are <prefix>_0001, ...")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from checkins.producer import CheckInProducer
    from checkins.settings import get_settings

    settings = get_settings()
    if not settings.demo_publish_enabled:
        print(
            "simulate: demo publishing is switched off (DEMO_PUBLISH_ENABLED=false); nothing sent",
            file=sys.stderr,
        )
        return 2
    city = City(
        "custom" if args.center != (BANGKOK.latitude, BANGKOK.longitude) else "Bangkok",
        args.center[0],
        args.center[1],
        args.radius_km,
    )
    simulation = Simulation(args.technicians, seed=args.seed, city=city, prefix=args.prefix)
    producer = CheckInProducer(settings, **{"client.id": "checkin-simulator"})
    stop = threading.Event()
    progress = Progress(total=event_count(args.rate, args.duration))
    reporter = threading.Thread(target=_report, args=(progress, stop), daemon=True)
    reporter.start()
    try:
        run(
            producer,
            simulation,
            rate=args.rate,
            duration=args.duration,
            speedup=args.speedup,
            stop=stop,
            progress=progress,
        )
    except KeyboardInterrupt:
        stop.set()
        progress.stopped = True
    finally:
        stop.set()
    elapsed = (progress.finished_at or time.monotonic()) - progress.started_at
    print(
        f"simulate: {progress.summary()} to {settings.checkin_topic} in {elapsed:.1f} s "
        f"({progress.sent / elapsed if elapsed > 0 else 0:.1f}/s)",
        file=sys.stderr,
    )
    if progress.last_error:
        print(f"simulate: last error: {progress.last_error}", file=sys.stderr)
    return 0 if progress.failed == 0 and not progress.stopped else 1


def _report(progress: Progress, stop: threading.Event, every: float = 5.0) -> None:
    while not stop.wait(every):
        print(f"simulate: {progress.summary()}", file=sys.stderr, flush=True)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError("must be a number above 0")
    return value


def _lat_lon(text: str) -> tuple[float, float]:
    try:
        lat, lon = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("must be LAT,LON, e.g. 13.78,100.55") from None
    if not (-85 <= lat <= 85 and -180 <= lon <= 180):
        raise argparse.ArgumentTypeError("latitude must be within ±85, longitude within ±180")
    return lat, lon


if __name__ == "__main__":
    sys.exit(main())
