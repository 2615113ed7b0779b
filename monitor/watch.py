"""What the lag sampler does with each round's snapshots beyond storing them: the reports
(the same `build` as the lag page and the CLI), catch-up predictions, dead letters, freshness,
group history, alert rules and their deliveries, and the figures `/metrics` serves.

The sampler calls `begin()` at the start of a round, `observe(snaps, unread)` once it has the
snapshots, and `failed(source, exc)` when the round broke (then the rules see Kafka or
MongoDB unreachable). MongoDB writes here are best effort: a store outage is an alert, not a
stop of the metrics.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo.database import Database
from pymongo.errors import PyMongoError

from checkins.settings import Settings
from checkins.times import utc
from monitor import alert_log, alerts, catchup, group_events
from monitor import history as lag_history
from monitor.cli import HISTORY_SECONDS, oldest_unread, own_offset_reset
from monitor.commits import CommitLog
from monitor.metrics import Latest, SamplerCollector
from monitor.notify import Notifier
from monitor.offsets import GroupSnapshot, LagReadError, MessageTimes, topic_offsets
from monitor.report import GroupReport, build
from readmodels import events, technicians

log = logging.getLogger("lag-sampler")
SILENT_EVERY_S = 60.0  # how often the sampler looks for silent technicians (a scan)


class Throttled:
    """A store read made at most every `seconds`; between reads, and after a failed one, the
    last value read (None until one succeeds)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.value: Any = None
        self._read_at = float("-inf")

    def get(self, now: float, read: Callable[[], Any]) -> Any:
        if now - self._read_at >= self.seconds:
            found = read()
            if found is not None:
                self.value, self._read_at = found, now
        return self.value


def freshness(
    report: GroupReport | None, newest_at: dict[tuple[str, int], float], at: float
) -> float | None:
    """Seconds between the newest message Kafka accepted and the oldest one not yet stored, at
    worst over the partitions (0 when nothing is unread). Pure.

    `newest_at`: per lagging partition, the timestamp of its last message (log end - 1). The
    consumers commit after writing the read models, so the oldest unread message is the first
    one the dashboard does not show; its timestamp is the snapshot's time `at` - time lag.
    """
    if report is None:
        return None
    worst = 0.0
    for p in report.partitions:
        if not p.lag or p.lag <= 0:
            continue
        newest = newest_at.get((p.topic, p.partition))
        if newest is None or p.time_lag_s is None:
            return None  # lagging, and we cannot tell by how much
        worst = max(worst, newest - (at - p.time_lag_s))
    return worst


def new_dead_letters(ends: Sequence[tuple[float, int]], now: float, window_s: float) -> int | None:
    """Dead letters written in the last `window_s`, from (time, sum of the DLQ's log ends)
    samples, oldest first. Pure."""
    recent = [end for at, end in ends if now - at <= window_s]
    if not recent:
        return None
    return max(0, recent[-1] - min(recent))


Key = tuple[str, int]


def batches(wanted: dict[str, dict[Key, int]]) -> list[dict[Key, int]]:
    """Per-group {partition: offset} requests merged into reads of one offset per partition."""
    reads: list[dict[Key, int]] = []
    for offsets in wanted.values():
        for key, offset in offsets.items():
            for read in reads:
                if read.get(key, offset) == offset:
                    read[key] = offset
                    break
            else:
                reads.append({key: offset})
    return reads


class Watch:
    def __init__(
        self,
        settings: Settings,
        admin,
        db: Database,
        clock: Callable[[], float] = time.time,
    ):
        self.settings = settings
        self.admin = admin
        self.db = db
        self.clock = clock
        self.engine = alerts.Engine(alerts.default_rules(settings))
        self.notifier = Notifier(settings, clock)
        self.reader = MessageTimes(settings, **{"client.id": "lag-sampler-reader"})
        # Every group's commits from __consumer_offsets, for Burrow's rules (as the CLI's).
        self.commit_log = CommitLog(settings, **{"client.id": "lag-sampler-commits"})
        self.history: dict[str, deque[GroupSnapshot]] = {}
        self.members: dict[str, group_events.Membership] = {}
        self.dlq_ends: deque[tuple[float, int]] = deque()
        self.errors: dict[str, int] = {"kafka": 0, "mongo": 0}
        self._latest = Latest()
        self._lock = threading.Lock()
        self._observed = False
        self._began = self._observe_began = time.perf_counter()
        self.observe_s = 0.0  # what the last round's monitoring part took (reports, rules, ...)
        self._restored = False
        self._indexed = False
        self._silent = Throttled(SILENT_EVERY_S)
        self._stored = Throttled(events.COUNT_EVERY_S)

    # --- what /metrics reads ---
    def latest(self) -> Latest:
        with self._lock:
            return self._latest

    def collector(self) -> SamplerCollector:
        return SamplerCollector(
            self.settings.metrics_cluster_name,
            self.latest,
            lambda: dict(self.errors),
            self.notifier.stats,
            self.clock,
        )

    # --- a round ---
    def begin(self) -> None:
        self._observed = False
        self._began = time.perf_counter()

    def failed(self, source: str, exc: BaseException) -> None:
        self.errors[source] = self.errors.get(source, 0) + 1
        if self._observed:
            return  # the round was judged; a later write failed (counted above)
        why = type(exc).__name__ if source == "mongo" else str(exc)
        obs = alerts.Observation(
            at=self.clock(),
            unread_groups=frozenset(self.history),
            kafka_error=why if source == "kafka" else None,
            mongo_error=why if source == "mongo" else None,
        )
        self._judge(obs, self.latest())

    def _silent_technicians(
        self, now: float, store: Callable
    ) -> tuple[tuple[str, float], ...] | None:
        """Silent technicians for the "technicians silent" rule, read at most every
        SILENT_EVERY_S (a scan of `technicians` on the local store)."""
        at = datetime.fromtimestamp(now, UTC)

        def read():
            found = store(technicians.silent_technicians, self.db, at, self.settings.silent_after)
            if found is None:
                return None
            return tuple(
                (str(d.get("staffCode")), (at - utc(d["checkinDate"])).total_seconds())
                for d in found[0]
            )

        return self._silent.get(now, read)

    def observe(self, snaps: list[GroupSnapshot], unread: Sequence[str]) -> None:
        try:
            self._observe(snaps, unread)
        except Exception:  # noqa: BLE001 - a bug here must not stop the sampling it rides on
            self.errors["monitor"] = self.errors.get("monitor", 0) + 1
            log.exception("monitoring round failed; sampling goes on")

    def _observe(self, snaps: list[GroupSnapshot], unread: Sequence[str]) -> None:
        self._observed = True
        self._observe_began = time.perf_counter()
        mongo_error: str | None = None

        def store(fn, *args):
            nonlocal mongo_error
            try:
                return fn(*args)
            except PyMongoError as exc:
                mongo_error = type(exc).__name__
                return None

        if not self._indexed:
            store(group_events.ensure_indexes, self.db)
            self._indexed = mongo_error is None
        if not self._restored:
            firing = store(alert_log.active, self.db)
            if firing is not None:
                self.engine.restore(firing)
                self._restored = True

        reports: dict[str, GroupReport] = {}
        at_of = {s.group: s.at for s in snaps}
        catch_up = {}
        # After the snapshots: every commit up to the committed offsets read is in the log.
        self.commit_log.refresh()
        times_of = self._message_times({s.group: oldest_unread(s) for s in snaps})
        for snap in snaps:
            past = self._past(snap.group, store)
            report = self.report(snap, list(past), times_of.get(snap.group, {}))
            reports[snap.group] = report
            catch_up[snap.group] = catchup.estimate(report, list(past), snap.at)
            past.append(snap)
            while past and snap.at - past[0].at > HISTORY_SECONDS:
                past.popleft()

        memberships = group_events.describe(self.admin, [s.group for s in snaps])
        changes = []
        for group, now in memberships.items():
            changes += group_events.changes(self.members.get(group), now, self.clock())
            self.members[group] = now
        store(group_events.record, self.db, changes)

        now = self.clock()
        dlq_size = dlq_new = None
        try:
            ends = topic_offsets(self.admin, self.settings.checkin_dlq_topic)
            dlq_size = sum(end - start for start, end in ends.values())
            self.dlq_ends.append((now, sum(end for _, end in ends.values())))
            window = self.settings.alert_dead_letters_window_s
            while self.dlq_ends and now - self.dlq_ends[0][0] > window:
                self.dlq_ends.popleft()
            dlq_new = new_dead_letters(list(self.dlq_ends), now, window)
        except LagReadError:
            pass  # no DLQ topic yet: no dead letters to count

        projector = reports.get(self.settings.consumer_group)
        fresh = None
        if projector is not None:
            last = {
                (p.topic, p.partition): p.end - 1
                for p in projector.partitions
                if p.lag and p.lag > 0 and p.end > p.start
            }
            try:
                newest = self.reader.at(last, timeout=1.0) if last else {}
            except Exception:  # noqa: BLE001 - freshness unknown this round
                newest = {}
            fresh = freshness(projector, newest, at_of[projector.group])
        stored = self._stored.get(now, lambda: store(events.events_stored, self.db))
        silent = self._silent_technicians(now, store)

        obs = alerts.Observation(
            at=now,
            reports=reports,
            unread_groups=frozenset(unread),
            mongo_error=mongo_error,
            dlq_topic=self.settings.checkin_dlq_topic,
            dlq_size=dlq_size,
            dlq_new=dlq_new,
            freshness_s=fresh,
            silent=silent,
            silent_after_s=self.settings.silent_after.total_seconds(),
        )
        latest = Latest(
            at=now,
            took_s=None,
            reports=reports,
            catch_up=catch_up,
            dlq_topic=self.settings.checkin_dlq_topic,
            dlq_size=dlq_size,
            events_stored=stored,
            freshness_s=fresh,
        )
        self._judge(obs, latest, self._began)

    def report(
        self, snap: GroupSnapshot, past: list[GroupSnapshot], times: dict[Key, float]
    ) -> GroupReport:
        """The group's report from the same inputs as `monitor.cli.collect` gives `build` (keep
        them in step: /metrics must show what `python -m dashboard.lag --json` prints)."""
        commits = self.commit_log.of(snap.group, [(p.topic, p.partition) for p in snap.partitions])
        offset_reset = own_offset_reset(self.settings, snap.group)
        return build(snap, past, times, commits, offset_reset=offset_reset)

    def _message_times(self, wanted: dict[str, dict[Key, int]]) -> dict[str, dict[Key, float]]:
        """The timestamps of every group's oldest unread messages, in as few reads as there are
        groups at different offsets of one partition (one read when each topic has one group)."""
        reads = batches(wanted)
        found: dict[tuple[Key, int], float] = {}
        for offsets in reads:
            try:
                at = self.reader.at(offsets, timeout=1.0)
            except Exception:  # noqa: BLE001 - times are optional; the history interpolates
                continue
            found.update({(key, offsets[key]): t for key, t in at.items()})
        return {
            group: {k: found[(k, o)] for k, o in offsets.items() if (k, o) in found}
            for group, offsets in wanted.items()
        }

    def _past(self, group: str, store) -> deque[GroupSnapshot]:
        past = self.history.get(group)
        if past is None:
            loaded = store(lag_history.recent, self.db, group, HISTORY_SECONDS) or []
            past = self.history[group] = deque(loaded)
        return past

    def _judge(self, obs: alerts.Observation, latest: Latest, started: float | None = None):
        transitions = self.engine.evaluate(obs)
        for t in transitions:
            log.warning("%s", t.text)
        self.notifier.publish(transitions, self.engine.active())
        try:
            alert_log.record(self.db, transitions)
            alert_log.write_status(self.db, self.status())
        except PyMongoError as exc:
            # A sampler restart would not know these transitions: they are delivered anyway.
            log.warning("MongoDB: alerts not stored (%s)", type(exc).__name__)
        took = None if started is None else time.perf_counter() - started
        if self._observed:
            self.observe_s = time.perf_counter() - self._observe_began
        with self._lock:
            self._latest = Latest(
                **{
                    **vars(latest),
                    "firing": tuple(self.engine.active()),
                    "took_s": took if took is not None else latest.took_s,
                }
            )

    def status(self) -> dict:
        """The sampler's health for the UI: its receivers' deliveries and failures."""
        return {
            "receivers": {
                name: {
                    "sent": s.sent,
                    "failedAttempts": s.failed_attempts,
                    "queued": s.queued,
                    "dropped": s.dropped,
                    "lastError": s.last_error,
                    "lastErrorAt": alerts.iso(s.last_error_at),
                    "lastSentAt": alerts.iso(s.last_sent_at),
                }
                for name, s in self.notifier.stats().items()
            },
            "errors": dict(self.errors),
        }

    def prune(self) -> None:
        group_events.prune(self.db)
        alert_log.prune(self.db)

    def close(self) -> None:
        self.notifier.close()
        self.reader.close()
        self.commit_log.close()
