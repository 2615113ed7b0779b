"""The project's lag (`python -m dashboard.lag --json`) against Kafka's own `kafka-consumer-groups`
(ConsumerGroupCommand) on the same groups, partition by partition, in the five cases of issue 16.

Each case freezes a group (nothing is produced or consumed while both tools read it), then
asks both. Where Kafka's tool prints a row, the project's committed offset, log end, lag and
member (member id, client id, host) must be the same; where it prints no row or "-", the
project's committed and lag are null; the project's total is the sum of Kafka's LAG column. The
statuses are checked against Burrow's definitions. Run with `-s` to see the tables side by side.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from checkins.clients import kafka_config
from checkins.settings import Settings
from stack.paths import ROOT
from tests.isolation import unique
from tests.kafka_tool import GroupPartition, describe_group
from tests.waiting import wait_for

PARTITIONS = 6


def per_partition(settings: Settings, counts: dict[int, int]) -> None:
    """Write counts[p] messages to partition p of the check-in topic (nobody else reads it)."""
    producer = Producer(kafka_config(settings))
    for partition, count in counts.items():
        for i in range(count):
            producer.produce(settings.checkin_topic, value=b"m%d" % i, partition=partition)
    assert producer.flush(30) == 0


def commit(settings: Settings, group: str, offsets: dict[int, int]) -> None:
    """Commit `offsets` for an empty `group`, as an operator's reset would."""
    committer = Consumer(kafka_config(settings, **{"group.id": group}))
    try:
        committer.commit(
            offsets=[TopicPartition(settings.checkin_topic, p, o) for p, o in offsets.items()],
            asynchronous=False,
        )
    finally:
        committer.close()


@contextmanager
def member(settings: Settings, group: str, read: int) -> Iterator[Consumer]:
    """A consumer in `group` that owns every partition, has read `read` messages and committed
    what it read (manual commits, so it commits nothing more by itself)."""
    consumer = Consumer(
        kafka_config(
            settings,
            **{
                "group.id": group,
                "client.id": f"cmp-{group[-6:]}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            },
        )
    )
    consumer.subscribe([settings.checkin_topic])
    try:
        seen = 0

        def has_read_all() -> bool:
            nonlocal seen
            for msg in consumer.consume(num_messages=500, timeout=0.5):
                if msg.error() is None:
                    seen += 1
            return seen >= read and len(consumer.assignment()) == PARTITIONS

        wait_for(has_read_all, 60, f"the member of {group} to read {read} messages")
        if read:
            consumer.commit(asynchronous=False)
        yield consumer
    finally:
        consumer.close()


def project(settings: Settings, group: str) -> dict:
    env = {**os.environ, "MONGODB_DATABASE": settings.mongodb_database}
    result = subprocess.run(
        [sys.executable, "-m", "dashboard.lag", "--json", "--group", group],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def side_by_side(
    case: str, settings: Settings, group: str
) -> tuple[list[GroupPartition], dict, dict]:
    """Both tools on `group`; asserts they agree; returns Kafka's rows, the report and the
    project's rows by partition."""
    kafka = describe_group(settings.bootstrap_servers, group)
    report = project(settings, group)
    ours = {p["partition"]: p for p in report["partitions"] if p["topic"] == settings.checkin_topic}
    print_table(case, kafka, report)
    assert {r.topic for r in kafka} <= {settings.checkin_topic}
    for row in kafka:
        p = ours[row.partition]
        assert (p["committed"], p["end"], p["lag"]) == (
            row.current_offset,
            row.log_end_offset,
            row.lag,
        ), f"partition {row.partition}"
        assert (p["member_id"], p["client_id"], p["host"]) == (
            row.consumer_id,
            row.client_id,
            row.host,
        ), f"partition {row.partition}"
    shown = {row.partition for row in kafka}
    for partition, p in ours.items():
        if partition not in shown:
            assert p["committed"] is None and p["lag"] is None, f"partition {partition}"
    assert report["total_lag"] == sum(r.lag for r in kafka if r.lag is not None)
    return kafka, report, ours


def print_table(case: str, kafka: list[GroupPartition], report: dict) -> None:
    theirs = {r.partition: r for r in kafka}

    def cell(value) -> str:
        return "-" if value is None else str(value)

    print(f"\n{case} (group state {report['state']}, project status {report['status']})")
    print(
        "| part | Kafka committed | Kafka end | Kafka lag | ours committed | ours end | ours lag "
        "| ours status |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for p in report["partitions"]:
        row = theirs.get(p["partition"])
        kafka_cells = (
            ["(no row)"] * 3
            if row is None
            else [cell(row.current_offset), cell(row.log_end_offset), cell(row.lag)]
        )
        ours = [cell(p["committed"]), cell(p["end"]), cell(p["lag"])]
        print(f"| {p['partition']} | " + " | ".join([*kafka_cells, *ours, p["status"]]) + " |")
    kafka_total = sum(r.lag for r in kafka if r.lag is not None)
    print(f"| total | | | {kafka_total} | | | {report['total_lag']} | |")


COUNTS = {p: 40 + 10 * p for p in range(PARTITIONS)}  # 390 messages, 40..90 a partition


@pytest.fixture
def group() -> str:
    return unique("cmp")


def test_caught_up(isolated, group):
    per_partition(isolated, COUNTS)
    with member(isolated, group, read=sum(COUNTS.values())):
        kafka, report, ours = side_by_side("caught up", isolated, group)
    assert len(kafka) == PARTITIONS and all(r.lag == 0 and r.consumer_id for r in kafka)
    # "If the current lag is zero, the partition is never in error"
    assert report["status"] == "OK" and {p["status"] for p in ours.values()} == {"OK"}


def test_paused_with_lag(isolated, group):
    """Two paused members: one commits nothing more (a librdkafka consumer's auto-commit skips
    unchanged offsets), one keeps committing the same offsets (as Java's auto-commit does)."""
    per_partition(isolated, COUNTS)
    recommitting = f"{group}_recommits"
    with (
        member(isolated, group, read=390) as silent,
        member(isolated, recommitting, read=390) as busy,
    ):
        silent.pause(silent.assignment())
        busy.pause(busy.assignment())
        per_partition(isolated, {p: 7 for p in range(PARTITIONS)})
        positions = busy.committed(busy.assignment(), timeout=10)
        stop = threading.Event()

        def recommit() -> None:
            while not stop.wait(0.5):
                busy.commit(offsets=positions, asynchronous=False)

        thread = threading.Thread(target=recommit, daemon=True)
        thread.start()
        try:
            stop.wait(2.5)  # a few re-commits in the window before both tools read
            kafka, report, ours = side_by_side("paused, no commits", isolated, group)
            assert all(r.lag == 7 and r.consumer_id for r in kafka)
            # "the consumer has not committed an offset for that partition in some time, and
            # the lag is non-zero": STOP, not STALL (issue 16, point 3)
            assert {p["status"] for p in ours.values()} == {"STOP"}
            assert report["status"] == "ERR"

            kafka, report, ours = side_by_side("paused, re-committing", isolated, recommitting)
            assert all(r.lag == 7 for r in kafka)
            # "the consumer is committing offsets for the partition, but they are not
            # increasing and the lag is non-zero"
            assert {p["status"] for p in ours.values()} == {"STALL"}, [
                p["reason"] for p in ours.values()
            ]
            assert all(p["commits"] >= 2 for p in ours.values())
            assert report["status"] == "ERR"
        finally:
            stop.set()
            thread.join(10)


def test_commits_on_some_partitions_only(isolated, group):
    per_partition(isolated, COUNTS)
    commit(isolated, group, {0: 10, 3: 55})
    kafka, report, ours = side_by_side("commits on 2 of 6 partitions, no members", isolated, group)
    assert sorted(r.partition for r in kafka) == [0, 3]  # no row without a commit
    assert report["total_lag"] == (40 - 10) + (70 - 55)
    assert [ours[p]["status"] for p in (1, 2, 4, 5)] == ["NO_COMMIT"] * 4
    assert all("unknown for this group" in ours[p]["reason"] for p in (1, 2, 4, 5))

    with member(isolated, group, read=0):  # a member owns them all, commits nothing
        kafka, report, ours = side_by_side(
            "commits on 2 of 6 partitions, a member", isolated, group
        )
    assert len(kafka) == PARTITIONS
    assert [r.lag for r in sorted(kafka, key=lambda r: r.partition)] == [
        30,
        None,
        None,
        15,
        None,
        None,
    ]


def test_commit_past_the_log_end(isolated, group):
    per_partition(isolated, COUNTS)
    commit(isolated, group, {p: n for p, n in COUNTS.items()} | {2: COUNTS[2] + 50})
    kafka, report, ours = side_by_side("commit past the log end", isolated, group)
    assert {r.partition: r.lag for r in kafka}[2] == -50
    assert ours[2]["status"] == "ERR" and "past the log end 60 (lag -50)" in ours[2]["reason"]
    assert report["status"] == "ERR" and report["total_lag"] == -50


def test_a_group_whose_members_left(isolated, group):
    per_partition(isolated, {p: n for p, n in COUNTS.items() if p != 5})  # 5 stays empty
    with member(isolated, group, read=sum(n for p, n in COUNTS.items() if p != 5)):
        pass  # read, committed, left
    per_partition(isolated, {p: 11 for p in range(PARTITIONS)})
    kafka, report, ours = side_by_side("members left", isolated, group)
    assert report["state"] == "EMPTY" and report["members"] == 0
    assert sorted(r.partition for r in kafka) == [0, 1, 2, 3, 4]  # 5 never committed
    assert all(r.lag == 11 and r.consumer_id is None for r in kafka)
    assert ours[5]["lag"] is None and ours[5]["status"] == "NO_COMMIT"
    # STOP: "no commits for longer than the window" (one commit each, then silence)
    assert all(ours[p]["status"] == "STOP" for p in range(5))
    assert report["status"] == "ERR" and report["total_lag"] == 55
