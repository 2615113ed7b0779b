"""python -m stack up|down|status|run [service ...]"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from checkins.settings import get_settings
from stack import manager
from stack.errors import StackError
from stack.paths import StackDir


def _print_status(states: list[manager.ServiceState]) -> None:
    rows = [("service", "state", "address", "pid", "log")] + [
        (s.name, s.state, s.address, str(s.pid or "-"), s.log) for s in states
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
        print("  ".join([*cells, row[4]]))


def _run_foreground(settings, stack, names) -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    started = []
    try:
        started = manager.up(settings, stack, names)
        _print_status(manager.status(settings, stack))
        print("\nRunning. Press Ctrl-C to stop what this command started.", flush=True)
        stop.wait()
    finally:
        if started:
            print("\nstopping: " + ", ".join(s.name for s in reversed(started)), flush=True)
            manager.down(settings, stack, [s.name for s in started])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack", description=__doc__)
    parser.add_argument("action", choices=["up", "down", "status", "run"])
    parser.add_argument("services", nargs="*", help="only these services (default: all)")
    args = parser.parse_args(argv)
    settings = get_settings()
    stack = StackDir.from_setting(settings.stack_dir)
    try:
        if args.action == "up":
            manager.up(settings, stack, args.services)
            _print_status(manager.status(settings, stack))
        elif args.action == "down":
            stopped = manager.down(settings, stack, args.services)
            print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
        elif args.action == "status":
            _print_status(manager.status(settings, stack))
            for note in manager.kafka_notes(settings, stack):
                print(f"note: {note}")
        else:
            _run_foreground(settings, stack, args.services)
    except StackError as exc:
        print(f"stack: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
