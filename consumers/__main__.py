"""python -m consumers [--workers N] | python -m consumers rebuild"""

from __future__ import annotations

import argparse
import faulthandler
import logging
import signal
import sys
from pathlib import Path

from checkins.settings import get_settings, redact_uri
from consumers import workers

log = logging.getLogger("consumers")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m consumers",
        description="Project check-ins from Kafka into the MongoDB read models.",
    )
    parser.add_argument("command", nargs="?", choices=["run", "rebuild"], default="run")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: setting)")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--ready-file", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1`: where is it?
    settings = get_settings()
    workers.configure_logging("consumers")
    if args.command == "rebuild":
        from consumers.rebuild import rebuild_database

        counts = rebuild_database(settings)
        print(f"rebuilt technicians ({counts['technicians']}) and orders ({counts['orders']})")
        return 0
    count = args.workers or settings.consumer_workers
    if count < 1:
        parser.error("--workers must be at least 1")
    log.info(
        "group %s on %s at %s -> %s/%s",
        settings.consumer_group,
        settings.checkin_topic,
        settings.bootstrap_servers,
        redact_uri(settings.mongo_uri),
        settings.mongodb_database,
    )
    if count == 1:
        return workers.run_one(settings, args.ready_file, args.batch_size)
    return workers.run_many(settings, count, args.batch_size)


if __name__ == "__main__":
    sys.exit(main())
