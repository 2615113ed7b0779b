"""The check-in API as its clients see it: `python -m api` on a loopback port, real Kafka, and
`python -m consumers` storing what it publishes.

The legacy curl runs verbatim (only the port differs); a 200 means the event is on the topic and
then in `homecheckins`; a retry with the same Idempotency-Key is stored once; every class of bad
input gets its own clear 4xx and writes nothing."""

from __future__ import annotations

import json
import socket
import subprocess
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from api.idempotency import event_id_for_key
from checkins.envelope import decode
from checkins.event import SAMPLE, CheckIn
from tests.integration.api_server import (
    message_at,
    messages_on_topic,
    own_topics,
    running_api,
    running_consumers,
)
from tests.waiting import wait_for

# The seed's "Data for Demo" command, character for character.
SEED_CURL = """curl --location --request POST 'http://localhost:3000/api/SOA/home/checkin' \\
--header 'Content-Type: application/json' \\
--data-raw '{
    "internetNo": "8850049302",
    "orderNo": "5960915_106347524.2",
    "staffCode": "cs_eng_ftth",
    "jobStatus": "homecheckedin",
    "checkinLatitude": 13.7827811,
    "checkinLongitude": 100.5465937,
    "checkinDate": "2021-03-18 10:13:43"
}'"""
PATH = "/api/SOA/home/checkin"


@pytest.fixture(scope="module")
def settings(stack):
    with own_topics(stack) as settings:
        yield settings


@pytest.fixture(scope="module")
def api(settings, tmp_path_factory):
    with running_api(settings, tmp_path_factory.mktemp("api") / "api.log") as api:
        yield api


@pytest.fixture(scope="module")
def consumers(settings, tmp_path_factory):
    with running_consumers(settings, tmp_path_factory.mktemp("consumers") / "consumers.log"):
        yield


@pytest.fixture(scope="module")
def homecheckins(settings, mongo):
    return mongo[settings.mongodb_database]["homecheckins"]


def _stored(homecheckins, event_id):
    return wait_for(
        lambda: homecheckins.find_one({"_id": event_id}), 60, f"check-in {event_id} in MongoDB"
    )


@pytest.fixture
def client(api):
    with httpx.Client(base_url=api.base_url, timeout=30) as client:
        yield client


def _event_for(settings, body):
    msg = message_at(settings, body["partition"], body["offset"])
    return msg, decode(
        msg.value(), topic=msg.topic(), partition=msg.partition(), offset=msg.offset()
    )


def test_the_seed_curl_works_verbatim_and_the_event_is_stored(
    api, settings, consumers, homecheckins
):
    command = SEED_CURL.replace("localhost:3000", f"localhost:{api.port}")
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr

    body = json.loads(result.stdout)
    assert uuid.UUID(body["_id"])
    expected = CheckIn.model_validate(SAMPLE, context={"timezone": "Asia/Bangkok"}).wire_data()
    assert {k: body[k] for k in SAMPLE} == expected
    assert body["checkinDate"] == "2021-03-18T03:13:43.000Z"  # 10:13:43 in Bangkok
    assert body["createdAt"] == body["updatedAt"]
    assert body["topic"] == settings.checkin_topic
    wait_for(lambda: f'"POST {PATH} HTTP/1.1" 200' in api.log(), 10, "the 200 in the access log")

    msg, event = _event_for(settings, body)
    assert msg.key() == b"cs_eng_ftth"
    assert event.event_id == body["_id"]
    assert event.checkin.wire_data() == expected

    doc = _stored(homecheckins, body["_id"])
    assert {k: doc[k] for k in SAMPLE if k != "checkinDate"} == {
        k: v for k, v in expected.items() if k != "checkinDate"
    }
    assert doc["checkinDate"] == datetime(2021, 3, 18, 3, 13, 43, tzinfo=UTC)
    assert (doc["source"]["topic"], doc["source"]["partition"], doc["source"]["offset"]) == (
        body["topic"],
        body["partition"],
        body["offset"],
    )


def test_a_retry_with_the_same_idempotency_key_is_stored_once(
    client, settings, consumers, homecheckins
):
    staff = f"idem_{uuid.uuid4().hex[:8]}"
    checkin = {**SAMPLE, "staffCode": staff}
    headers = {"Idempotency-Key": f"{staff}/visit-1"}
    first = client.post(PATH, json=checkin, headers=headers)
    again = client.post(PATH, json=checkin, headers=headers)
    assert first.status_code == again.status_code == 200
    expected_id = event_id_for_key(f"{staff}/visit-1")
    assert first.json()["_id"] == again.json()["_id"] == expected_id
    for body in (first.json(), again.json()):  # Kafka holds both sends, under one id
        _, event = _event_for(settings, body)
        assert event.event_id == expected_id

    # A later event of the same technician lands on the same partition after both sends, so once
    # it is stored the consumers have seen both: the retry must not have made a second document.
    later = client.post(PATH, json=checkin)
    assert later.json()["partition"] == first.json()["partition"]
    _stored(homecheckins, later.json()["_id"])
    assert homecheckins.count_documents({"staffCode": staff}) == 2
    assert homecheckins.count_documents({"_id": expected_id}) == 1


def test_a_uuid_idempotency_key_is_the_event_id(client):
    key = str(uuid.uuid4())
    response = client.post(PATH, json=SAMPLE, headers={"Idempotency-Key": key.upper()})
    assert response.status_code == 200
    assert response.json()["_id"] == key


def _refused(client, settings, status, error, **request):
    """Send a bad request; it gets `status` with the problem shape, and nothing reaches Kafka."""
    before = messages_on_topic(settings)
    response = client.post(PATH, **request)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    problem = response.json()
    assert problem["error"] == error
    assert problem["message"]
    assert messages_on_topic(settings) == before
    return {p["field"]: p["problem"] for p in problem["errors"]}


def test_malformed_json_is_400(client, settings):
    _refused(
        client,
        settings,
        400,
        "malformed_json",
        content=b'{"internetNo": "8850049302",',
        headers={"Content-Type": "application/json"},
    )


def test_a_missing_field_is_422_naming_it(client, settings):
    body = {k: v for k, v in SAMPLE.items() if k != "staffCode"}
    problems = _refused(client, settings, 422, "invalid_checkin", json=body)
    assert problems == {"staffCode": "is required"}


def test_a_wrong_type_is_422_naming_it(client, settings):
    body = {**SAMPLE, "orderNo": ["5960915"], "checkinLatitude": "north"}
    problems = _refused(client, settings, 422, "invalid_checkin", json=body)
    assert problems == {"orderNo": "must be a string", "checkinLatitude": "must be a number"}


def test_coordinates_out_of_range_are_422_naming_each(client, settings):
    body = {**SAMPLE, "checkinLatitude": 137.78, "checkinLongitude": -180.5}
    problems = _refused(client, settings, 422, "invalid_checkin", json=body)
    assert problems == {"checkinLatitude": "must be <= 90", "checkinLongitude": "must be >= -180"}


def test_a_date_that_does_not_parse_is_422_naming_it(client, settings):
    body = {**SAMPLE, "checkinDate": "18/03/2021 10:13"}
    problems = _refused(client, settings, 422, "invalid_checkin", json=body)
    assert list(problems) == ["checkinDate"]
    assert "YYYY-MM-DD HH:MM:SS" in problems["checkinDate"]


def test_a_wrong_content_type_is_415(client, settings):
    # What curl sends when the Content-Type header is left out: a form, not JSON.
    _refused(
        client,
        settings,
        415,
        "unsupported_media_type",
        content=json.dumps(SAMPLE).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def test_an_unusable_idempotency_key_is_422_naming_the_header(client, settings):
    problems = _refused(
        client,
        settings,
        422,
        "invalid_request",
        json=SAMPLE,
        headers={"Idempotency-Key": "x" * 300},
    )
    assert problems == {"header.Idempotency-Key": "must be at most 255 characters"}


def _raw_exchange(api, head: bytes, body: bytes) -> bytes:
    """Send a request's head and part of its body, never finishing it; return the answer."""
    with socket.create_connection(("127.0.0.1", api.port), timeout=15) as sock:
        sock.sendall(head + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
        return answer


def test_an_announced_oversize_body_is_413_before_it_is_sent(api, settings):
    before = messages_on_topic(settings)
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Content-Length: {10 * 1024 * 1024}\r\n\r\n"
    ).encode()
    answer = _raw_exchange(api, head, b'{"internetNo": "')  # 10 MiB announced, 16 bytes sent
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert messages_on_topic(settings) == before


def test_a_streamed_oversize_body_is_413_without_reading_it_all(api, settings):
    before = messages_on_topic(settings)
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    chunk = b"x" * 8192
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(12))  # 96 KiB, no end
    answer = _raw_exchange(api, head, chunks)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert messages_on_topic(settings) == before


def test_health_readiness_and_docs(client):
    assert client.get("/healthz").json() == {"status": "alive"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert "post" in schema["paths"][PATH]
    assert schema["paths"][PATH]["post"]["requestBody"]["content"]["application/json"]


def test_with_api_token_set_writes_need_the_bearer_token(settings, tmp_path):
    token = f"tok-{uuid.uuid4().hex}"
    with running_api(settings, tmp_path / "api.log", API_TOKEN=token) as api:
        with httpx.Client(base_url=api.base_url, timeout=30) as client:
            missing = client.post(PATH, json=SAMPLE)
            wrong = client.post(PATH, json=SAMPLE, headers={"Authorization": "Bearer nope"})
            basic = client.post(PATH, json=SAMPLE, headers={"Authorization": f"Basic {token}"})
            right = client.post(PATH, json=SAMPLE, headers={"Authorization": f"Bearer {token}"})
            health = client.get("/healthz")
        log = api.log()
    for refused in (missing, wrong, basic):
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        assert refused.json()["error"] == "unauthorized"
    assert right.status_code == 200
    assert health.status_code == 200
    assert token not in log


def test_kafka_unreachable_gives_503_with_retry_after(settings, tmp_path):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        with (
            running_api(
                settings,
                tmp_path / "api.log",
                KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{port}",
                API_PUBLISH_TIMEOUT="1",
            ) as api,
            httpx.Client(base_url=api.base_url, timeout=30) as client,
        ):
            response = client.post(PATH, json=SAMPLE)
            ready = client.get("/readyz")
            health = client.get("/healthz")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    problem = response.json()
    assert problem["error"] == "kafka_unavailable"
    assert "Kafka did not acknowledge" in problem["message"]
    assert ready.status_code == 503 and "Retry-After" in ready.headers
    assert health.status_code == 200
