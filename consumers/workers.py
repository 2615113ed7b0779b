"""`--workers N`: N consumer processes in one group (threads would share one GIL)."""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from pathlib import Path

from checkins.settings import Settings

log = logging.getLogger(__name__)
STOP_GRACE_SECONDS = 30.0


def configure_logging(name: str) -> None:
    logging.basicConfig(
        level=logging.INFO,
        format=f"%(asctime)s {name} %(levelname)s %(name)s: %(message)s",
        force=True,
    )


def run_one(settings: Settings, ready_file: Path | None = None, batch_size: int = 2000) -> int:
    """One consumer in this process; SIGTERM/SIGINT finish the batch, commit and close."""
    from consumers.loop import CheckInConsumer

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    CheckInConsumer(settings, stop, batch_size=batch_size, ready_file=ready_file).run()
    return 0


def _child(settings: Settings, index: int, batch_size: int) -> None:
    configure_logging(f"consumer-{index}")
    run_one(settings, batch_size=batch_size)


def run_many(settings: Settings, workers: int, batch_size: int = 2000) -> int:
    """Start `workers` processes; on SIGTERM/SIGINT stop them all gracefully. If one dies on
    its own, stop the others too and exit non-zero (so a supervisor sees the failure)."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=_child, args=(settings, i, batch_size), name=f"consumer-{i}")
        for i in range(1, workers + 1)
    ]
    for child in children:
        child.start()
    log.info("started %d consumers: pids %s", workers, [c.pid for c in children])
    failed = False
    while not stop.wait(0.5):
        if any(c.exitcode is not None for c in children):
            failed = True
            log.error("a consumer exited on its own; stopping the others")
            break
    for child in children:
        if child.exitcode is None:
            child.terminate()  # SIGTERM: graceful in the child
    for child in children:
        child.join(STOP_GRACE_SECONDS)
        if child.exitcode is None:
            log.error("%s did not stop in %.0f s; killing it", child.name, STOP_GRACE_SECONDS)
            child.kill()
            child.join()
    return 1 if failed else 0
