"""Alert deliveries: a generic webhook (JSON with a `text` field, what a Slack-compatible
incoming webhook shows) and Alertmanager's v2 API (`POST /api/v2/alerts`).

Each receiver has a queue and a thread of its own, so a receiver that is down or slow never
blocks sampling. A delivery is retried with exponential backoff (tenacity) until it succeeds
or the process stops, and the queue is delivered in order behind it: a receiver that comes
back gets every alert it missed. Failures are counted (`stats`), for the metrics and the UI.
URLs may hold tokens: they are never logged, only the receiver's name and the error's kind.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception_type,
    wait_exponential,
)

from monitor.alerts import Alert, Transition, iso

log = logging.getLogger("lag-sampler.notify")
TIMEOUT = 5.0
QUEUE_LIMIT = 10_000  # beyond that the oldest waiting delivery is dropped (and counted)


class DeliveryError(Exception):
    """A receiver did not take a delivery; the message names the receiver, never its URL."""


# --- payloads (pure) ----------------------------------------------------------------------


def webhook_payload(t: Transition) -> dict:
    a = t.alert
    return {
        "text": t.text,
        "status": t.kind,
        "alertname": a.rule,
        "severity": a.severity,
        "labels": a.label_dict(),
        "summary": a.summary,
        "reason": a.reason,
        "startsAt": iso(a.started_at),
        "endsAt": iso(a.ended_at),
    }


def alertmanager_payload(alerts: list[Alert], now: float, resend_s: float) -> list[dict]:
    """Firing alerts carry an `endsAt` in the future (4 resend intervals, as Prometheus does),
    so Alertmanager resolves them by itself if the sampler dies; resolved ones their end."""
    out = []
    for a in alerts:
        ends = a.ended_at if a.ended_at is not None else now + 4 * resend_s
        out.append(
            {
                "labels": {**a.label_dict(), "severity": a.severity},
                "annotations": {"summary": a.summary, "description": a.reason},
                "startsAt": iso(a.started_at),
                "endsAt": iso(ends),
                "generatorURL": "",
            }
        )
    return out


# --- delivery -----------------------------------------------------------------------------


def post_json(url: str, body: object, timeout: float = TIMEOUT) -> None:
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        response.read()


def _why(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return type(exc.reason).__name__ if isinstance(exc.reason, BaseException) else "URLError"
    return type(exc).__name__


@dataclass
class ReceiverStats:
    sent: int = 0
    failed_attempts: int = 0
    dropped: int = 0
    last_error: str | None = None
    last_error_at: float | None = None
    last_sent_at: float | None = None
    queued: int = 0


@dataclass
class Receiver:
    """One destination: `send(item)` posts one queued item or raises."""

    name: str
    send: Callable[[object], None]
    stats: ReceiverStats = field(default_factory=ReceiverStats)


class Dispatcher:
    """A queue and a delivery thread per receiver; `submit` never blocks."""

    def __init__(
        self,
        receivers: list[Receiver],
        *,
        clock: Callable[[], float],
        max_backoff_s: float = 30.0,
    ):
        self.receivers = {r.name: r for r in receivers}
        self._queues: dict[str, queue.Queue] = {r.name: queue.Queue() for r in receivers}
        self._stop = threading.Event()
        self._clock = clock
        self._max_backoff = max_backoff_s
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._deliver, args=(r,), name=f"notify-{r.name}", daemon=True)
            for r in receivers
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, name: str, item: object) -> None:
        q = self._queues.get(name)
        if q is None:
            return
        if q.qsize() >= QUEUE_LIMIT:
            try:
                q.get_nowait()
                with self._lock:
                    self.receivers[name].stats.dropped += 1
            except queue.Empty:
                pass
        q.put(item)
        with self._lock:
            self.receivers[name].stats.queued = q.qsize()

    def stats(self) -> dict[str, ReceiverStats]:
        with self._lock:
            for name, q in self._queues.items():
                self.receivers[name].stats.queued = q.qsize()
            return {n: ReceiverStats(**vars(r.stats)) for n, r in self.receivers.items()}

    def _failed(self, receiver: Receiver, retry_state: RetryCallState) -> None:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        why = _why(exc) if exc else "unknown"
        with self._lock:
            receiver.stats.failed_attempts += 1
            receiver.stats.last_error, receiver.stats.last_error_at = why, self._clock()
        if retry_state.attempt_number in (1, 10) or retry_state.attempt_number % 100 == 0:
            log.warning("alert receiver %s: %s (attempt %d)", receiver.name, why,
                        retry_state.attempt_number)  # fmt: skip

    def _deliver(self, receiver: Receiver) -> None:
        q = self._queues[receiver.name]
        while not self._stop.is_set():
            try:
                item = q.get(timeout=0.2)
            except queue.Empty:
                continue

            def after(retry_state: RetryCallState, r: Receiver = receiver) -> None:
                self._failed(r, retry_state)

            def stopping(_: RetryCallState) -> bool:
                return self._stop.is_set()

            def sleep(seconds: float) -> None:
                self._stop.wait(seconds)  # a stop wakes the backoff

            retrying = Retrying(
                retry=retry_if_exception_type(Exception),
                wait=wait_exponential(multiplier=0.2, max=self._max_backoff),
                stop=stopping,
                sleep=sleep,
                after=after,
            )
            try:
                retrying(receiver.send, item)
            except RetryError:
                return  # stopping: what is still queued is lost with the process
            with self._lock:
                receiver.stats.sent += 1
                receiver.stats.last_sent_at = self._clock()
                receiver.stats.queued = q.qsize()

    def close(self, timeout: float = 2.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=timeout)


def webhook_receiver(url: str) -> Receiver:
    def send(t: object) -> None:
        assert isinstance(t, Transition)
        post_json(url, webhook_payload(t))

    return Receiver("webhook", send)


def alertmanager_receiver(base_url: str) -> Receiver:
    url = base_url.rstrip("/") + "/api/v2/alerts"

    def send(payload: object) -> None:
        post_json(url, payload)

    return Receiver("alertmanager", send)


class Notifier:
    """What the sampler calls: transitions go to every receiver; `resend` repeats the firing
    alerts to Alertmanager (it forgets alerts whose `endsAt` passes)."""

    def __init__(self, settings, clock: Callable[[], float]):
        receivers = []
        if settings.alert_webhook_url is not None and settings.alert_webhook_url.get_secret_value():
            receivers.append(webhook_receiver(settings.alert_webhook_url.get_secret_value()))
        if settings.alertmanager_url is not None and settings.alertmanager_url.get_secret_value():
            receivers.append(alertmanager_receiver(settings.alertmanager_url.get_secret_value()))
        self.resend_s = settings.alertmanager_resend_s
        self.clock = clock
        self.dispatcher = Dispatcher(receivers, clock=clock)
        self._resent_at = 0.0

    @property
    def names(self) -> list[str]:
        return list(self.dispatcher.receivers)

    def publish(self, transitions: list[Transition], firing: list[Alert]) -> None:
        now = self.clock()
        for t in transitions:
            self.dispatcher.submit("webhook", t)
        alerts = {t.alert.key: t.alert for t in transitions}
        if firing and now - self._resent_at >= self.resend_s:
            alerts.update({a.key: a for a in firing if a.key not in alerts})
            self._resent_at = now
        if alerts:
            payload = alertmanager_payload(list(alerts.values()), now, self.resend_s)
            self.dispatcher.submit("alertmanager", payload)

    def stats(self) -> dict[str, ReceiverStats]:
        return self.dispatcher.stats()

    def close(self) -> None:
        self.dispatcher.close()
