"""Background lag sampler: python -m monitor.sampler [--interval 5] [--once]

Every few seconds it reads the offsets of every consumer group on the check-in topics (and the
configured group, even before it exists) and stores them in MongoDB (`lag_samples`, see
`monitor.history`), so the lag page has a trend and a Burrow window the moment it opens.
`python -m stack up/run` starts it as the `lag-sampler` service.

It also recounts the orders by status in a thread of its own (`readmodels.stats`), so the
overview reads one small document instead of scanning `orders`.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time

from pymongo.errors import PyMongoError

from checkins.clients import mongo_client
from checkins.settings import Settings, get_settings
from monitor import history
from monitor.offsets import LagReadError, admin_client, groups_on_topics, snapshot
from readmodels import stats

log = logging.getLogger("lag-sampler")
DISCOVER_EVERY_S = 30.0
PRUNE_EVERY_S = 60.0


class Sampler:
    def __init__(
        self,
        settings: Settings,
        extra_groups: list[str] | None = None,
        orders_every: float = stats.MIN_INTERVAL_S,
    ):
        self.settings = settings
        self.topics = [settings.checkin_topic, settings.checkin_dlq_topic, settings.status_topic]
        self.admin = admin_client(settings)
        self.mongo = mongo_client(settings, serverSelectionTimeoutMS=5000)
        self.db = self.mongo[settings.mongodb_database]
        self.fixed = sorted({settings.consumer_group, *(extra_groups or [])})
        self.groups: list[str] = list(self.fixed)
        self._discovered_at = 0.0
        self._pruned_at = 0.0
        self._indexed = False
        self._warned: dict[str, str] = {}
        self.orders_every = orders_every

    def once(self) -> int:
        """One sampling round; returns how many group samples were stored."""
        now = time.monotonic()
        if not self._indexed:
            ttl = history.ensure_indexes(self.db)
            log.info(
                "lag history in %s.%s (TTL index: %s)",
                self.db.name,
                history.COLLECTION,
                "yes" if ttl else "no, pruned by the sampler",
            )
            self._indexed = True
        if now - self._discovered_at >= DISCOVER_EVERY_S:
            found = groups_on_topics(self.admin, self.topics)
            self.groups = sorted(set(self.fixed) | set(found))
            self._discovered_at = now
        snaps = []
        for group in self.groups:
            try:
                snap = snapshot(self.admin, group, None)
                if not snap.partitions and group in self.fixed:
                    snap = snapshot(self.admin, group, [self.settings.checkin_topic])
            except LagReadError as exc:
                if self._warned.get(group) != str(exc):  # say it once, not every few seconds
                    log.warning("group %s: %s", group, exc)
                    self._warned[group] = str(exc)
                continue
            self._warned.pop(group, None)
            if snap.partitions:
                snaps.append(snap)
        history.record(self.db, snaps)
        if now - self._pruned_at >= PRUNE_EVERY_S:
            history.prune(self.db)
            self._pruned_at = now
        return len(snaps)

    def run(self, interval: float, stop: threading.Event) -> None:
        counter = threading.Thread(
            target=stats.keep_counting,
            args=(self.db, stop, self.orders_every),
            name="order-stats",
            daemon=True,
        )
        counter.start()
        while not stop.is_set():
            started = time.monotonic()
            try:
                stored = self.once()
                log.debug("stored %d group samples", stored)
            except LagReadError as exc:
                log.warning("Kafka: %s; retrying in %.0f s", exc, interval)
            except PyMongoError as exc:
                # The exception text may carry the connection string's host list, never shown.
                log.warning("MongoDB: %s; retrying in %.0f s", type(exc).__name__, interval)
            stop.wait(max(0.0, interval - (time.monotonic() - started)))
        counter.join(timeout=5)  # a recount under way is cut short with the process

    def close(self) -> None:
        self.mongo.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m monitor.sampler", description=__doc__)
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--group", action="append", help="also sample this group (repeatable)")
    parser.add_argument("--once", action="store_true", help="take one sample and exit")
    parser.add_argument(
        "--orders-every",
        type=float,
        default=stats.MIN_INTERVAL_S,
        help="least seconds between two recounts of the orders by status",
    )
    args = parser.parse_args(argv)
    if args.interval <= 0 or args.orders_every <= 0:
        parser.error("--interval and --orders-every must be positive")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    sampler = Sampler(get_settings(), args.group, args.orders_every)
    try:
        if args.once:
            print(f"stored {sampler.once()} group samples")
            return 0
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        log.info("sampling every %.1f s; groups: %s", args.interval, ", ".join(sampler.groups))
        sampler.run(args.interval, stop)
    finally:
        sampler.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
