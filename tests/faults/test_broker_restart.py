"""Fault 3: the Kafka broker restarts while clients post check-ins to the API. While it is down
the API answers 503 with Retry-After (or 200 within its timeout), never hangs and never
answers anything else; clients retry a 503 with the same Idempotency-Key; the consumer
recovers; every check-in the API confirmed with a 200 is stored exactly once."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx

from checkins.event import CheckIn
from tests.faults.harness import (
    LagWatch,
    assert_exactly_once,
    consumers,
    database,
    make_checkins,
    own_topics,
    wait_drained,
)
from tests.faults.services import api
from tests.waiting import wait_for

PATH = "/api/SOA/home/checkin"
CLIENTS = 4
EVENTS = 2_400
DOWN_S = 15.0
# The API's own bound is api_publish_timeout (5 s) + 2 s; longer than this is a hang.
REQUEST_TIMEOUT_S = 15.0


@dataclass
class Clients:
    """CLIENTS threads posting check-ins; a 503 is retried with the same Idempotency-Key."""

    url: str
    checkins: list[CheckIn]
    acked: set[str] = field(default_factory=set)
    statuses: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    slowest_s: float = 0.0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(self.checkins[i::CLIENTS],), daemon=True)
            for i in range(CLIENTS)
        ]

    def _run(self, mine: list[CheckIn]) -> None:
        with httpx.Client(base_url=self.url, timeout=REQUEST_TIMEOUT_S) as client:
            for checkin in mine:
                key = str(uuid.uuid4())
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    started = time.monotonic()
                    try:
                        answer = client.post(
                            PATH, json=checkin.wire_data(), headers={"Idempotency-Key": key}
                        )
                    except httpx.HTTPError as exc:
                        self._note(f"{type(exc).__name__} after {time.monotonic() - started:.1f} s")
                        continue
                    took = time.monotonic() - started
                    with self._lock:
                        self.statuses[answer.status_code] += 1
                        self.slowest_s = max(self.slowest_s, took)
                    if answer.status_code == 200:
                        if answer.json().get("_id") != key:
                            self._note(f"200 names another event: {answer.text[:200]}")
                        with self._lock:
                            self.acked.add(key)
                        break
                    if answer.status_code != 503 or "Retry-After" not in answer.headers:
                        self._note(f"{answer.status_code}: {answer.text[:200]}")
                        break
                else:
                    self._note(f"{key} never confirmed within 120 s")

    def _note(self, problem: str) -> None:
        with self._lock:
            self.problems.append(problem)

    def start(self) -> Clients:
        for thread in self._threads:
            thread.start()
        return self

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self._threads), "the clients did not finish"

    def count(self, status: int) -> int:
        with self._lock:
            return self.statuses[status]


def test_broker_restart_under_api_traffic_loses_nothing_confirmed(fault_stack, rng, figures, logs):
    with (
        own_topics(fault_stack, "broker") as settings,
        database(settings) as db,
        consumers(settings, logs, "--batch-size", "1000") as group,
        LagWatch(settings) as lag,
        api(settings, logs) as (url, server),
    ):
        member = group.start()
        clients = Clients(url, make_checkins(rng, EVENTS)).start()
        wait_for(lambda: clients.count(200) >= 300, 120, "300 check-ins confirmed")
        fault_stack.stop("kafka")
        down_at = time.monotonic()
        confirmed_at_stop = clients.count(200)
        wait_for(lambda: clients.count(503) > 0, 30, "a 503 while Kafka is down")
        first_503_s = time.monotonic() - down_at
        # The outage's length is the point here: keep the broker down DOWN_S on the clock.
        wait_for(lambda: time.monotonic() - down_at >= DOWN_S, DOWN_S + 5, "the outage")
        confirmed_while_down = clients.count(200) - confirmed_at_stop
        fault_stack.start("kafka")
        up_at = time.monotonic()

        clients.join(300)
        assert not clients.problems, clients.problems[:5]
        assert set(clients.statuses) <= {200, 503}, clients.statuses
        assert len(clients.acked) == EVENTS
        drained_s = wait_drained(db, clients.acked, 300, "every confirmed check-in stored")
        assert server.poll() is None, "the API died"
        assert member.poll() is None, "the consumer died"
        assert not group.died(), group.died()
        assert group.stop(member) == 0
        result = assert_exactly_once(db, clients.acked)

    figures["fault3_broker_restart"] = {
        **result,
        "broker_down_s": round(up_at - down_at, 1),
        "answers": dict(clients.statuses),
        "first_503_after_s": round(first_503_s, 1),
        "confirmed_while_down": confirmed_while_down,
        "slowest_answer_s": round(clients.slowest_s, 1),
        "lag_peak": lag.peak,
        "drained_after_clients_s": round(drained_s, 1),
    }
