"""The project's lag (`python -m dashboard.lag --json`) against Kafka's own `kafka-consumer-groups`
(ConsumerGroupCommand) on the same groups, partition by partition, in the five cases of issue 16.

All cases are set up at once, each on a topic of its own, and frozen (nothing is produced or
consumed while the tools read them); Kafka's tool reads them all in one run (a JVM start costs
seconds), the project's CLI each group. Where Kafka's tool prints a row, the project's committed
offset, log end, lag and member (member id, client id, host) must be the same; where it prints
no row or "-", the project's committed and lag are null; the project's total is the sum of
Kafka's LAG column. The statuses are checked against Burrow's definitions. Run with `-s` to see
the tables side by side.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from checkins.clients import kafka_config
from checkins.settings import Settings
from stack.paths import ROOT
from tests.isolation import unique
from tests.kafka_tool import GroupPartition, describe_groups
from tests.waiting import wait_for

PARTITIONS = 6


def per_partition(settings: Settings, topic: str, counts: dict[int, int]) -> None:
    """Write counts[p] messages to partition p of `topic` (nobody else reads it)."""
    producer = Producer(kafka_config(settings))
    for partition, count in counts.items():
        for i in range(count):
            producer.produce(topic, value=b"m%d" % i, partition=partition)
    assert producer.flush(30) == 0


def commit(settings: Settings, topic: str, group: str, offsets: dict[int, int]) -> None:
    """Commit `offsets` for an empty `group`, as an operator's reset would."""
    committer = Consumer(kafka_config(settings, **{"group.id": group}))
    try:
        committer.commit(
            offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()],
            asynchronous=False,
        )
    finally:
        committer.close()


@contextmanager
def member(settings: Settings, topic: str, group: str, read: int) -> Iterator[Consumer]:
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
    consumer.subscribe([topic])
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
    result = subprocess.run(
        [sys.executable, "-m", "dashboard.lag", "--json", "--group", group],
        cwd=ROOT,
        env={**os.environ, "MONGODB_DATABASE": settings.mongodb_database},  # no history there
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


COUNTS = {p: 40 + 10 * p for p in range(PARTITIONS)}  # 390 messages, 40..90 a partition
CASES = {
    "caught_up": "caught up",
    "paused_silent": "paused, no commits",
    "paused_recommitting": "paused, re-committing",
    "some_empty": "commits on 2 of 6 partitions, no members",
    "some_member": "commits on 2 of 6 partitions, a member",
    "past_end": "commit past the log end",
    "members_left": "members left",
}


@dataclass
class Case:
    topic: str
    group: str
    kafka: list[GroupPartition]
    report: dict

    @property
    def ours(self) -> dict[int, dict]:
        return {p["partition"]: p for p in self.report["partitions"] if p["topic"] == self.topic}


@pytest.fixture(scope="module")
def cases(stack: Settings) -> Iterator[dict[str, Case]]:
    """Every case frozen at once, read by both tools; topics deleted afterwards."""
    settings = stack.model_copy(update={"mongodb_database": unique("cmpdb")})
    topics = {name: unique(f"cmp_{name}") for name in CASES}
    groups = {name: unique(f"cmp_{name}") for name in CASES}
    topics["paused_recommitting"] = topics["paused_silent"]  # both groups on one topic
    admin = AdminClient(kafka_config(settings))
    created = sorted(set(topics.values()))
    for future in admin.create_topics(
        [NewTopic(t, num_partitions=PARTITIONS) for t in created], operation_timeout=30
    ).values():
        future.result(timeout=30)
    stop = threading.Event()
    try:
        with ExitStack() as members:
            for name in ("caught_up", "paused_silent", "some_empty", "some_member", "past_end"):
                if name != "some_member":
                    per_partition(settings, topics[name], COUNTS)
            per_partition(settings, topics["some_member"], COUNTS)
            for name in ("some_empty", "some_member"):
                commit(settings, topics[name], groups[name], {0: 10, 3: 55})
            commit(settings, topics["past_end"], groups["past_end"], COUNTS | {2: COUNTS[2] + 50})

            left = {p: n for p, n in COUNTS.items() if p != 5}  # partition 5 stays empty
            per_partition(settings, topics["members_left"], left)
            with member(
                settings, topics["members_left"], groups["members_left"], sum(left.values())
            ):
                pass  # read, committed, left
            per_partition(settings, topics["members_left"], {p: 11 for p in range(PARTITIONS)})

            members.enter_context(
                member(settings, topics["caught_up"], groups["caught_up"], read=390)
            )
            members.enter_context(
                member(settings, topics["some_member"], groups["some_member"], read=0)
            )
            # Two paused members with lag: one commits nothing more (librdkafka's auto-commit
            # skips unchanged offsets), one keeps committing the same offsets (as Java's does).
            silent = members.enter_context(
                member(settings, topics["paused_silent"], groups["paused_silent"], read=390)
            )
            busy = members.enter_context(
                member(settings, topics["paused_silent"], groups["paused_recommitting"], read=390)
            )
            silent.pause(silent.assignment())
            busy.pause(busy.assignment())
            per_partition(settings, topics["paused_silent"], {p: 7 for p in range(PARTITIONS)})
            positions = busy.committed(busy.assignment(), timeout=10)

            def recommit() -> None:
                while not stop.wait(0.5):
                    busy.commit(offsets=positions, asynchronous=False)

            thread = threading.Thread(target=recommit, daemon=True)
            thread.start()
            members.callback(thread.join, 10)
            members.callback(stop.set)
            stop.wait(2.5)  # a few re-commits in the window before the tools read

            kafka = describe_groups(settings.bootstrap_servers, list(groups.values()))
            found = {
                name: Case(
                    topics[name],
                    groups[name],
                    [r for r in kafka if r.group == groups[name]],
                    project(settings, groups[name]),
                )
                for name in CASES
            }
        for name, case in found.items():
            print_table(CASES[name], case.kafka, case.report)
        yield found
    finally:
        stop.set()
        admin.delete_topics(created, operation_timeout=30)


def agree(case: Case) -> None:
    """Where Kafka's tool prints a row, the same figures and member; elsewhere no commit and no
    lag; the total is the sum of Kafka's LAG column."""
    ours = case.ours
    assert {r.topic for r in case.kafka} <= {case.topic}
    for row in case.kafka:
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
    shown = {row.partition for row in case.kafka}
    for partition, p in ours.items():
        if partition not in shown:
            assert p["committed"] is None and p["lag"] is None, f"partition {partition}"
    assert case.report["total_lag"] == sum(r.lag for r in case.kafka if r.lag is not None)


def print_table(title: str, kafka: list[GroupPartition], report: dict) -> None:
    theirs = {r.partition: r for r in kafka}

    def cell(value) -> str:
        return "-" if value is None else str(value)

    print(f"\n{title} (group state {report['state']}, project status {report['status']})")
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


def test_caught_up(cases):
    case = cases["caught_up"]
    agree(case)
    assert len(case.kafka) == PARTITIONS and all(r.lag == 0 and r.consumer_id for r in case.kafka)
    # "If the current lag is zero, the partition is never in error"
    assert case.report["status"] == "OK" and {p["status"] for p in case.ours.values()} == {"OK"}


def test_paused_with_lag_and_no_commits_is_stop(cases):
    case = cases["paused_silent"]
    agree(case)
    assert len(case.kafka) == PARTITIONS
    assert all(r.lag == 7 and r.consumer_id for r in case.kafka)
    # "the consumer has not committed an offset for that partition in some time, and the lag
    # is non-zero": STOP, not STALL (issue 16, point 3)
    assert {p["status"] for p in case.ours.values()} == {"STOP"}
    assert case.report["status"] == "ERR"


def test_paused_with_lag_and_the_same_commits_is_stall(cases):
    case = cases["paused_recommitting"]
    agree(case)
    assert len(case.kafka) == PARTITIONS and all(r.lag == 7 for r in case.kafka)
    # "the consumer is committing offsets for the partition, but they are not increasing and
    # the lag is non-zero"
    statuses = {p["status"] for p in case.ours.values()}
    assert statuses == {"STALL"}, [p["reason"] for p in case.ours.values()]
    assert all(p["commits"] >= 2 for p in case.ours.values())
    assert case.report["status"] == "ERR"


def test_commits_on_some_partitions_only(cases):
    empty, owned = cases["some_empty"], cases["some_member"]
    agree(empty)
    agree(owned)
    assert sorted(r.partition for r in empty.kafka) == [0, 3]  # no row without a commit
    assert empty.report["total_lag"] == owned.report["total_lag"] == (40 - 10) + (70 - 55)
    assert [empty.ours[p]["status"] for p in (1, 2, 4, 5)] == ["NO_COMMIT"] * 4
    assert all("unknown for this group" in empty.ours[p]["reason"] for p in (1, 2, 4, 5))
    lags = [r.lag for r in sorted(owned.kafka, key=lambda r: r.partition)]
    assert lags == [30, None, None, 15, None, None]  # a member owns them: "-" without a commit


def test_commit_past_the_log_end(cases):
    case = cases["past_end"]
    agree(case)
    assert {r.partition: r.lag for r in case.kafka}[2] == -50
    p2 = case.ours[2]
    assert p2["status"] == "ERR" and "past the log end 60 (lag -50)" in p2["reason"]
    assert case.report["status"] == "ERR" and case.report["total_lag"] == -50


def test_a_group_whose_members_left(cases):
    case = cases["members_left"]
    agree(case)
    assert case.report["state"] == "EMPTY" and case.report["members"] == 0
    assert sorted(r.partition for r in case.kafka) == [0, 1, 2, 3, 4]  # 5 never committed
    assert all(r.lag == 11 and r.consumer_id is None for r in case.kafka)
    assert case.ours[5]["lag"] is None and case.ours[5]["status"] == "NO_COMMIT"
    # STOP: no commit for longer than the window spans (one commit each, then silence)
    assert all(case.ours[p]["status"] == "STOP" for p in range(5))
    assert case.report["status"] == "ERR" and case.report["total_lag"] == 55
