"""Clients posting check-ins to the API on a fixed schedule (open loop: a slow answer does not
delay the next request), each retried with the same Idempotency-Key when the API answers 503 or
does not answer, as a well-behaved client does: after `Retry-After` plus a jittered exponential
back-off. Clients that all wait exactly `Retry-After` come back together; on a starved machine
(CI) those waves of retries kept the API's one event loop answering clients that had already
given up, and check-ins went unconfirmed for 4 minutes. Every answer is recorded.

A minimal HTTP/1.1 client on asyncio streams, one connection per request: while a partition
has no leader, hundreds of requests wait out the API's timeout at once, and httpx's async
pool, with that many requests in it, stopped sending at all (seen at 300/s)."""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from checkins.event import CheckIn

PATH = "/api/SOA/home/checkin"
# The API's own bound is api_publish_timeout (5 s) + 2 s; longer than this is a hang.
REQUEST_TIMEOUT_S = 15.0
GIVE_UP_S = 240.0
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 30.0


@dataclass(frozen=True)
class Ack:
    at: float  # monotonic, when the 200 arrived
    partition: int


@dataclass
class SteadyClients:
    url: str
    checkins: list[CheckIn]
    rate: float
    acked: dict[str, Ack] = field(default_factory=dict)
    statuses: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    timeouts: int = 0  # requests without an answer in REQUEST_TIMEOUT_S (retried, same key)
    refused: int = 0  # connections the API's host refused or reset (retried, same key)
    started_at: float = 0.0
    last_sent_at: float = 0.0

    def __post_init__(self) -> None:
        self._rng = random.Random(len(self.checkins))
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def start(self) -> SteadyClients:
        self.started_at = time.monotonic()
        self._thread.start()
        return self

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"the clients did not finish within {timeout:.0f} s"

    def backoff_s(self, attempt: int, floor: float) -> float:
        """`floor` (the server's Retry-After) plus "full jitter": a random wait up to
        BACKOFF_BASE_S * 2**(attempt - 1), capped at BACKOFF_CAP_S."""
        ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempt - 1))
        return floor + self._rng.uniform(0, ceiling)

    def count(self, status: int) -> int:
        return self.statuses[status]

    async def _main(self) -> None:
        tasks = []
        for i, checkin in enumerate(self.checkins):
            delay = self.started_at + i / self.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self.last_sent_at = time.monotonic()
            tasks.append(asyncio.create_task(self._post(checkin)))
        await asyncio.gather(*tasks)

    async def _post(self, checkin: CheckIn) -> None:
        key = str(uuid.uuid4())
        body = json.dumps(checkin.wire_data()).encode()
        deadline = time.monotonic() + GIVE_UP_S
        attempt = 0
        while time.monotonic() < deadline:
            attempt += 1
            try:
                status, headers, payload = await asyncio.wait_for(
                    self._request(body, key), REQUEST_TIMEOUT_S
                )
            except TimeoutError:
                # No answer in time (the API's own bound is 7 s; seen only on a starved machine).
                self.timeouts += 1
                await asyncio.sleep(self.backoff_s(attempt, floor=0.0))
                continue
            except (ConnectionRefusedError, ConnectionResetError):
                self.refused += 1  # the listen queue overflowed: the machine is starved
                await asyncio.sleep(self.backoff_s(attempt, floor=0.0))
                continue
            except (OSError, ValueError) as exc:
                self.problems.append(f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(1)
                continue
            self.statuses[status] += 1
            if status == 200:
                answer = json.loads(payload)
                if answer.get("_id") != key:
                    self.problems.append(f"200 names another event: {payload[:200]!r}")
                self.acked[key] = Ack(time.monotonic(), answer["partition"])
                return
            if status != 503 or "retry-after" not in headers:
                self.problems.append(f"{status}: {payload[:200]!r}")
                return
            await asyncio.sleep(self.backoff_s(attempt, floor=float(headers["retry-after"])))
        self.problems.append(f"{key} never confirmed within {GIVE_UP_S:.0f} s")

    async def _request(self, body: bytes, key: str) -> tuple[int, dict[str, str], bytes]:
        """One POST on its own connection (`Connection: close`: the answer ends at EOF)."""
        url = urlsplit(self.url)
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        try:
            head = (
                f"POST {PATH} HTTP/1.1\r\nHost: {url.netloc}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                f"Idempotency-Key: {key}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
            raw = await reader.read()
        finally:
            writer.close()
        return parse_response(raw)

    def longest_gap(self, start: float, end: float, partition: int | None = None) -> float:
        """The longest time without a 200 between `start` and `end` (of one partition's events,
        or of any)."""
        times = sorted(
            a.at
            for a in self.acked.values()
            if (partition is None or a.partition == partition) and start <= a.at <= end
        )
        edges = [start, *times, end]
        return max(b - a for a, b in zip(edges, edges[1:], strict=False))


def parse_response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body of an HTTP/1.1 answer read to its end."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError(f"no complete HTTP answer: {raw[:100]!r}")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = _unchunk(body)
    return int(status_line.split()[1]), headers, body


def _unchunk(body: bytes) -> bytes:
    out = b""
    while True:
        size, _, rest = body.partition(b"\r\n")
        length = int(size.split(b";")[0], 16)
        if length == 0:
            return out
        out, body = out + rest[:length], rest[length + 2 :]
