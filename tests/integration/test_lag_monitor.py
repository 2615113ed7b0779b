"""The lag monitor against the real broker and store: the CLI (`python -m dashboard.lag`), the
page (AppTest), the sampler service and the dead-letter table."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from streamlit.testing.v1 import AppTest

from checkins import wire
from checkins.clients import kafka_config
from checkins.event import SAMPLE, CheckIn
from checkins.producer import CheckInProducer
from checkins.settings import Settings, get_settings
from monitor import dead_letters, offsets
from stack.paths import ROOT
from stack.services import DASHBOARD_ENTRY
from tests.waiting import wait_for

APP = str(ROOT / DASHBOARD_ENTRY)


def env_for(settings: Settings, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in (
        "mongodb_database",
        "checkin_topic",
        "checkin_dlq_topic",
        "status_topic",
        "consumer_group",
    ):
        env[name.upper()] = str(getattr(settings, name))
    env.update(extra)
    return env


def lag_cli(settings: Settings, *args: str, **extra_env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dashboard.lag", *args],
        cwd=ROOT,
        env=env_for(settings, **extra_env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def lag_json(settings: Settings) -> dict:
    result = lag_cli(settings, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@contextmanager
def running_consumers(settings: Settings, log_file: Path) -> Iterator[subprocess.Popen]:
    """`python -m consumers` (one worker) for this group, until it owns every partition."""
    env = env_for(settings, CONSUMER_WORKERS="1")
    with open(log_file, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "consumers"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:

        def owns_everything() -> bool:
            assert proc.poll() is None, f"python -m consumers exited: {log_file.read_text()}"
            report = lag_json(settings)
            return report["members"] == 1 and all(p["client_id"] for p in report["partitions"])

        wait_for(owns_everything, 60, "the consumers to own every partition", interval=0.5)
        yield proc
    finally:
        proc.terminate()  # SIGTERM: they finish the batch, commit and leave the group
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def page_settings(isolated, monkeypatch) -> Iterator[Settings]:
    """The dashboard (which reads get_settings()) pointed at the isolated topics and group."""
    for name, value in env_for(isolated).items():
        if name.isupper() and name in {n.upper() for n in Settings.model_fields}:
            monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield isolated
    get_settings.cache_clear()


def open_lag_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("../pages/lag.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def badge(at: AppTest) -> str:
    return next(m.value for m in at.markdown if "border-radius" in m.value)


def produce(settings: Settings, count: int) -> None:
    producer = CheckInProducer(settings)
    for i in range(count):
        checkin = CheckIn.model_validate({**SAMPLE, "staffCode": f"tech-{i % 37}"})
        producer.publish_async(checkin)
    assert producer.flush(60) == 0


def commit_everywhere(settings: Settings, offset: int) -> None:
    """Commit `offset` on every partition of the check-in topic for the group, as an operator's
    reset with kafka-consumer-groups would (the group must be empty)."""
    admin = offsets.admin_client(settings)
    parts = offsets.topic_partitions(admin, settings.checkin_topic)
    committer = Consumer(kafka_config(settings, **{"group.id": settings.consumer_group}))
    try:
        committer.commit(
            offsets=[TopicPartition(settings.checkin_topic, p, offset) for p in parts],
            asynchronous=False,
        )
    finally:
        committer.close()


def test_stopped_consumers_show_lag_and_stop_until_they_catch_up(page_settings, tmp_path):
    settings = page_settings
    log = tmp_path / "consumers.log"
    produce(settings, 120)  # something to commit on every partition
    with running_consumers(settings, log):
        caught_up = wait_for(
            lambda: (
                (r := lag_json(settings))["total_lag"] == 0
                and all(p["committed"] is not None for p in r["partitions"])
                and r
            ),
            60,
            "the consumers to commit every partition",
        )
        assert caught_up["status"] == "OK"
        assert caught_up["state"] == "STABLE" and caught_up["assignor"]
        owners = {(p["client_id"], p["member_id"]) for p in caught_up["partitions"]}
        assert len(owners) == 1
        client_id, member_id = owners.pop()
        assert client_id.startswith("checkin-consumer-") and member_id

    produce(settings, 1000)

    # Burrow's STOP: no commit for longer than the commit window spans.
    report = wait_for(
        lambda: (r := lag_json(settings))["status"] == "ERR" and r, 30, "the group to be ERR"
    )
    assert report["group"] == settings.consumer_group
    assert report["total_lag"] == 1000
    assert sum(p["lag"] for p in report["partitions"]) == 1000
    assert [p["partition"] for p in report["partitions"]] == list(range(6))
    assert all(p["topic"] == settings.checkin_topic for p in report["partitions"])
    assert all(p["lag"] == p["end"] - p["committed"] for p in report["partitions"])
    assert report["members"] == 0
    assert all(p["member_id"] is None for p in report["partitions"])
    lagging = [p for p in report["partitions"] if p["lag"] > 0]
    assert lagging and all(p["status"] == "STOP" for p in lagging)
    assert all("no commit for" in p["reason"] for p in lagging)
    assert all(p["last_commit_age_s"] > 0 and p["last_commit_at"] for p in lagging)
    assert all(p["time_lag_s"] is not None and p["time_lag_s"] >= 0 for p in lagging)
    assert all(p["time_lag_source"] == "message" for p in lagging)

    text = lag_cli(settings)
    assert text.returncode == 0, text.stderr
    assert "status ERR" in text.stdout and "total lag 1,000" in text.stdout

    at = open_lag_page()
    assert metric(at, "Total lag") == "1,000"
    assert ">ERR</span>" in badge(at) and "STOP" in badge(at)
    [table] = [d for d in at.dataframe if "committed" in d.value.columns]
    assert int(table.value["lag"].sum()) == 1000
    assert set(table.value["status"]) <= {"STOP", "OK"}
    [groups] = [d for d in at.dataframe if "total lag" in d.value.columns]
    row = groups.value.set_index("group").loc[settings.consumer_group]
    assert (row["status"], row["total lag"], row["state"]) == ("ERR", 1000, "EMPTY")

    with running_consumers(settings, log):
        done = wait_for(
            lambda: (r := lag_json(settings))["total_lag"] == 0 and r, 60, "lag back to 0"
        )
        assert done["status"] == "OK"
        assert all(p["committed"] == p["end"] for p in done["partitions"])
        at = open_lag_page()
        assert metric(at, "Total lag") == "0"
        assert ">OK</span>" in badge(at)


def test_a_group_that_never_committed_has_no_lag_and_says_where_it_would_start(page_settings):
    settings = page_settings
    produce(settings, 60)
    report = lag_json(settings)
    assert report["status"] == "NOTFOUND" and report["total_lag"] == 0
    assert all(p["committed"] is None and p["lag"] is None for p in report["partitions"])
    assert all(p["status"] == "NO_COMMIT" for p in report["partitions"])
    assert all("auto.offset.reset=earliest" in p["reason"] for p in report["partitions"])
    assert sum(p["end"] - p["start"] for p in report["partitions"]) == 60


def test_sampler_keeps_history_that_gives_trend_and_throughput(page_settings, mongo):
    settings = page_settings
    samples = mongo[settings.mongodb_database]["lag_samples"]
    sampler = subprocess.Popen(
        [sys.executable, "-m", "monitor.sampler", "--interval", "0.5"],
        cwd=ROOT,
        env=env_for(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        group = {"group": settings.consumer_group}
        commit_everywhere(settings, 0)  # a lag needs a position to count from
        wait_for(lambda: samples.count_documents(group), 60, "a first sample")
        produce(settings, 300)
        wait_for(
            lambda: samples.find_one({**group, "totalLag": 300}),
            60,
            "a sample with the new lag",
        )
        report = lag_json(settings)
        assert report["total_lag"] == 300
        assert report["samples"] >= 2
        assert report["produced_per_s"] is not None and report["produced_per_s"] > 0
        assert report["consumed_per_s"] == 0

        at = open_lag_page()
        assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart"), "no trend chart"
        assert "No history yet" not in "\n".join(c.value for c in at.caption)
    finally:
        sampler.send_signal(signal.SIGTERM)
        out, _ = sampler.communicate(timeout=30)
    assert sampler.returncode == 0, out
    assert "lag_samples" in out  # it says where the history lives


def test_dead_letters_show_with_their_reasons(page_settings):
    settings = page_settings
    producer = Producer(kafka_config(settings))
    for i, reason in enumerate(["not valid JSON: Expecting value", "checkinLatitude: too big"]):
        producer.produce(
            settings.checkin_dlq_topic,
            value=b'{"A":"B"}' if i else b"<junk & more>",
            headers=[
                (wire.DLQ_TOPIC, settings.checkin_topic.encode()),
                (wire.DLQ_PARTITION, b"3"),
                (wire.DLQ_OFFSET, str(40 + i).encode()),
                (wire.DLQ_REASON, reason.encode()),
            ],
        )
    producer.produce(settings.checkin_dlq_topic, value=b"no headers at all")
    assert producer.flush(30) == 0

    admin = offsets.admin_client(settings)
    ends = offsets.topic_offsets(admin, settings.checkin_dlq_topic)
    newest_two = dead_letters.latest(settings, settings.checkin_dlq_topic, ends, count=2)
    assert [d.offset for d in newest_two] == [2, 1]
    assert newest_two[0].reason == "(no reason header)"
    assert newest_two[1].origin == f"{settings.checkin_topic}[3]@41"

    at = open_lag_page()
    assert metric(at, "Dead letters kept") == "3"
    [table] = [d for d in at.dataframe if "reason" in d.value.columns and "from" in d.value.columns]
    assert list(table.value["reason"]) == [
        "(no reason header)",
        "checkinLatitude: too big",
        "not valid JSON: Expecting value",
    ]
    assert "<junk & more>" in list(table.value["message"])


def test_cli_never_shows_secrets_and_names_an_unreachable_broker(isolated):
    secrets = {"KAFKA_SASL_PASSWORD": "kafka-pw-3141", "API_TOKEN": "token-2718"}
    uri = "mongodb://lagwatcher:mongo-pw-1618@127.0.0.1:1/"
    result = lag_cli(isolated, "--json", MONGODB_URI=uri, **secrets)
    seen = result.stdout + result.stderr
    for secret in [*secrets.values(), "mongo-pw-1618"]:
        assert secret not in seen
    assert result.returncode == 0, result.stderr
    assert "no lag history: MongoDB did not answer" in json.loads(result.stdout)["notes"][0]

    down = lag_cli(isolated, KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1", **secrets)
    assert down.returncode == 1
    assert down.stderr.startswith("lag: could not")
    assert "kafka-pw-3141" not in down.stdout + down.stderr


def test_offsets_reset_backwards_show_as_rewind_from_the_commits(page_settings, mongo, tmp_path):
    settings = page_settings
    samples = mongo[settings.mongodb_database]["lag_samples"]
    produce(settings, 120)
    with running_consumers(settings, tmp_path / "consumers.log"):
        wait_for(lambda: lag_json(settings)["total_lag"] == 0, 60, "the consumers to catch up")
    sampler = subprocess.Popen(
        [sys.executable, "-m", "monitor.sampler", "--interval", "0.5"],
        cwd=ROOT,
        env=env_for(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        group = {"group": settings.consumer_group, "totalLag": 0}
        wait_for(lambda: samples.find_one(group), 60, "a caught-up sample")
        # An operator resets the (empty) group to the start, as kafka-consumer-groups would.
        commit_everywhere(settings, 0)
        wait_for(
            lambda: samples.find_one({"group": settings.consumer_group, "totalLag": 120}),
            60,
            "a sample after the reset",
        )
        report = lag_json(settings)
    finally:
        sampler.send_signal(signal.SIGTERM)
        sampler.wait(30)
    assert report["total_lag"] == 120
    assert report["status"] == "ERR"  # Burrow: a REWIND partition makes the group ERR
    rewound = [p for p in report["partitions"] if p["status"] == "REWIND"]
    assert rewound and all(
        "went back from" in p["reason"] and "to 0" in p["reason"] for p in rewound
    )


def test_page_says_when_kafka_does_not_answer(page_settings, monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    get_settings.cache_clear()
    at = open_lag_page()
    assert [e.value for e in at.error] == [
        "Kafka did not answer: could not list consumer groups: no answer within 10 s"
    ]
    assert not at.metric and not at.dataframe
