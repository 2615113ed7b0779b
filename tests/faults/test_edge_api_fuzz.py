"""Item 6: hypothesis-made bodies against `python -m api` on a loopback port, real Kafka.

Random JSON trees, the check-in with wrong types, huge strings, deep nesting, non-UTF-8 bytes,
bodies around the 64 KiB limit with and without Content-Length, slow and truncated bodies and
stalled clients. Every answer is a 200 or a clear 4xx in the problem shape (never a 5xx), every
request is answered within the client's timeout, the limit holds to the byte, the API keeps
serving, its log holds no traceback, and the topic gains exactly one message per 200.

(The schema-driven run, 80 examples per operation and mode, is tests/integration/
test_api_schema.py; announced and streamed 10 MiB / 96 KiB bodies are tests/integration/
test_api.py. This file adds what those do not cover.)"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections import Counter

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from starlette.requests import ClientDisconnect

from api.problems import ApiError
from api.request_body import MAX_BODY_BYTES, read_capped
from checkins.event import SAMPLE
from tests.integration.api_server import messages_on_topic, own_topics, running_api

PATH = "/api/SOA/home/checkin"
CLIENT_TIMEOUT = 30  # a hang fails the request instead of the whole suite
EXAMPLES = 400
REFUSALS = {400, 413, 415, 422}
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_trees = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=25,
)
huge_text = st.builds(lambda ch, n: ch * n, st.characters(), st.integers(129, 20_000))
bad_values = json_trees | huge_text | st.sampled_from([float("nan"), float("inf"), 10**400])


@st.composite
def wrong_checkins(draw) -> dict:
    """The sample with some fields dropped or given other values, plus odd extra keys."""
    body = dict(SAMPLE)
    for name in draw(st.lists(st.sampled_from(list(SAMPLE)), min_size=1, unique=True)):
        if draw(st.booleans()):
            body[name] = draw(bad_values)
        else:
            del body[name]
    odd_keys = st.sampled_from(["$set", "a.b", "$where", "_id"])
    body.update(draw(st.dictionaries(odd_keys, json_trees)))
    return body


def to_bytes(value: object) -> bytes:
    # allow_nan: NaN/Infinity literals are what a careless client sends; 10**400 is a bare int.
    return json.dumps(value, allow_nan=True).encode()


deep = st.integers(50, 200_000).flatmap(
    lambda depth: st.sampled_from(
        [b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth, b"[" * depth]
    )
)
non_utf8 = st.builds(
    lambda junk, at: to_bytes(SAMPLE)[:at] + junk + to_bytes(SAMPLE)[at:],
    st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"]),
    st.integers(0, 150),
)
# Known-nasty bodies: a lone surrogate, an int too long to convert, NaN, a BOM, nulls.
nasty = st.sampled_from(
    [
        to_bytes(SAMPLE).replace(b'"cs_eng_ftth"', b'"a\\ud800b"'),
        to_bytes(SAMPLE).replace(b"13.7827811", b"1" * 5000),
        to_bytes(SAMPLE).replace(b"13.7827811", b"NaN"),
        to_bytes(SAMPLE).replace(b"100.5465937", b"-Infinity"),
        b"\xef\xbb\xbf" + to_bytes(SAMPLE),
        to_bytes(SAMPLE).replace(b"cs_eng", b"cs\\u0000eng"),
        b"\x00" * 64,
        b"   ",
        b"null",
    ]
)
raw_bodies = (
    nasty
    | json_trees.map(to_bytes)
    | wrong_checkins().map(to_bytes)
    | deep
    | non_utf8
    | st.binary(max_size=300)
)


@pytest.fixture(scope="module")
def api_settings(stack):
    with own_topics(stack) as settings:
        yield settings


@pytest.fixture(scope="module")
def api(api_settings, tmp_path_factory):
    with running_api(api_settings, tmp_path_factory.mktemp("api") / "api.log") as api:
        yield api


@pytest.fixture
def client(api):
    with httpx.Client(base_url=api.base_url, timeout=CLIENT_TIMEOUT) as client:
        yield client


def check_answer(response: httpx.Response, sent: int) -> int:
    """A 200 or a 4xx in the problem shape; returns the status."""
    status = response.status_code
    assert status == 200 or status in REFUSALS, (status, response.text[:300])
    if sent > MAX_BODY_BYTES:
        assert status == 413, (sent, status)
    if status != 200:
        assert response.headers["content-type"] == "application/json"
        problem = response.json()
        assert problem["error"] and problem["message"], problem
    return status


def no_traceback(api) -> None:
    log = api.log()
    for sign in ("Traceback", "Exception in ASGI application", 'HTTP/1.1" 5'):
        assert sign not in log, log[-3000:]


def test_random_bodies_never_get_a_server_error_and_only_200s_write(api, api_settings, client):
    before = messages_on_topic(api_settings)
    statuses: Counter[int] = Counter()

    @given(body=raw_bodies, content_type=st.sampled_from(["application/json", None]))
    @FUZZ
    def send(body: bytes, content_type: str | None) -> None:
        headers = {"Content-Type": content_type} if content_type else {}
        statuses[check_answer(client.post(PATH, content=body, headers=headers), len(body))] += 1

    send()
    print(f"fuzzed bodies by answer: {dict(sorted(statuses.items()))}")
    assert statuses[400] and statuses[422], statuses  # both kinds of refusal were exercised
    assert messages_on_topic(api_settings) == before + statuses[200], statuses
    assert client.get("/healthz").status_code == 200
    no_traceback(api)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_schemathesis_with_fresh_random_examples_finds_no_server_error(api, mode):
    """The integration run is derandomized (the same 80 cases each time); this one draws new
    cases on every run, more of them. (No stateful run: the API has one write and no links.)"""
    schema = schemathesis.openapi.from_url(f"{api.base_url}/openapi.json", wait_for_schema=10)
    operation = schema[PATH]["POST"]
    statuses: Counter[int] = Counter()

    @given(case=operation.as_strategy(generation_mode=mode))
    @FUZZ
    def check(case) -> None:
        response = case.call_and_validate(
            base_url=api.base_url, checks=[not_a_server_error], timeout=CLIENT_TIMEOUT
        )
        statuses[response.status_code] += 1

    check()
    print(f"schemathesis {mode.value}: {dict(sorted(statuses.items()))}")
    assert all(s < 500 for s in statuses), statuses
    no_traceback(api)


def padded(size: int) -> bytes:
    """A valid check-in of exactly `size` bytes (the padding is an extra key, which is dropped)."""
    base = to_bytes({**SAMPLE, "pad": ""})
    body = to_bytes({**SAMPLE, "pad": "x" * (size - len(base))})
    assert len(body) == size
    return body


def chunks(body: bytes, size: int = 4096):
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
def test_the_size_limit_holds_to_the_byte(api, api_settings, client, streamed):
    before = messages_on_topic(api_settings)
    answers = {}
    for size in (MAX_BODY_BYTES - 1, MAX_BODY_BYTES, MAX_BODY_BYTES + 1, 4 * MAX_BODY_BYTES):
        body = padded(size)
        content = chunks(body) if streamed else body
        response = client.post(PATH, content=content, headers={"Content-Type": "application/json"})
        answers[size] = check_answer(response, size)
        if streamed:
            assert "content-length" not in response.request.headers
    assert answers == {
        MAX_BODY_BYTES - 1: 200,
        MAX_BODY_BYTES: 200,
        MAX_BODY_BYTES + 1: 413,
        4 * MAX_BODY_BYTES: 413,
    }
    assert messages_on_topic(api_settings) == before + 2
    no_traceback(api)


def test_a_slow_body_is_still_read_and_accepted(api, api_settings, client):
    body = to_bytes(SAMPLE)

    def trickle():
        for start in range(0, len(body), 20):
            time.sleep(0.1)  # the slow client is the input here, not a wait on a condition
            yield body[start : start + 20]

    before = messages_on_topic(api_settings)
    response = client.post(PATH, content=trickle(), headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert messages_on_topic(api_settings) == before + 1


def raw_request(port: int, head: bytes, body: bytes, half_close: bool) -> bytes:
    """Send a request's head and (part of) its body; optionally end our side; read the answer
    until the server closes or the timeout (a hang) fails the test."""
    with socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT) as sock:
        sock.sendall(head + body)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
            if half_close is False and b"\r\n\r\n" in answer:
                break
        return answer


def test_a_truncated_body_is_refused_or_dropped_without_a_server_error(api, api_settings):
    before = messages_on_topic(api_settings)
    body = to_bytes(SAMPLE)
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body) + 500}\r\n\r\n"
    ).encode()
    answer = raw_request(api.port, head, body, half_close=True)
    # The client gave up mid-body: no answer, or a 4xx; never a 5xx, never a write.
    assert answer == b"" or answer.startswith(b"HTTP/1.1 4"), answer[:300]
    chunked = (
        f"POST {PATH} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    answer = raw_request(api.port, chunked, b"%x\r\n%s\r\n" % (len(body), body), half_close=True)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 4"), answer[:300]
    assert messages_on_topic(api_settings) == before
    no_traceback(api)


def test_a_client_leaving_mid_body_is_a_400_not_an_unhandled_error():
    """The pure side of the fix: `read_capped` turns Starlette's ClientDisconnect into a 400."""

    async def leaves():
        yield b'{"internetNo": '
        raise ClientDisconnect()

    with pytest.raises(ApiError) as refused:
        asyncio.run(read_capped(leaves()))
    assert (refused.value.status, refused.value.problem.error) == (400, "incomplete_body")


def test_stalled_clients_do_not_stop_others_being_served(api, api_settings, client):
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n"
    ).encode()
    stalled = []
    try:
        for _ in range(50):  # each announces 1000 bytes, sends 10 and then nothing
            sock = socket.create_connection(("127.0.0.1", api.port), timeout=CLIENT_TIMEOUT)
            sock.sendall(head + b'{"interne')
            stalled.append(sock)
        response = client.post(PATH, json=SAMPLE)
        assert response.status_code == 200, response.text
        assert client.get("/healthz").status_code == 200
    finally:
        for sock in stalled:
            sock.close()
    no_traceback(api)
