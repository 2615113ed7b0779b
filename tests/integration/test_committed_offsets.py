"""`offsets.committed_offsets` reads a group's committed offsets with a Consumer that never
subscribes (AdminClient.list_consumer_group_offsets can segfault librdkafka 2.16). Reading must
leave the group exactly as it was: no commit, no join, no rebalance of its running members."""

from __future__ import annotations

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from checkins.clients import kafka_config
from checkins.settings import Settings
from monitor import offsets
from tests.isolation import unique
from tests.waiting import wait_for


def _group_view(admin: AdminClient, group: str) -> tuple[str, list[tuple[str, list]]]:
    """State and members (id, owned partitions) as describe_consumer_groups reports them."""
    description = admin.describe_consumer_groups([group])[group].result(timeout=10)
    members = sorted(
        (
            m.member_id,
            sorted((tp.topic, tp.partition) for tp in m.assignment.topic_partitions),
        )
        for m in description.members
    )
    return description.state.name, members


def _offsets_seen_by_admin(admin: AdminClient, group: str) -> dict[tuple[str, int], int]:
    # An independent observer on a group whose coordinator is long known (the crash needs a
    # broker that is not ready for the group, not the case here).
    request = [ConsumerGroupTopicPartitions(group)]
    result = admin.list_consumer_group_offsets(request)[group].result(timeout=10)
    return {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions}


def _snapshot_once_leaders_answer(admin, group: str, topic: str):
    """A new topic's partitions may have no leader for a moment: ask again until they do."""
    try:
        return offsets.snapshot(admin, group, [topic])
    except offsets.LagReadError:
        return None


def _commit(settings: Settings, offsets: dict[int, int]) -> None:
    committer = Consumer(kafka_config(settings, **{"group.id": settings.consumer_group}))
    try:
        committer.commit(
            offsets=[TopicPartition(settings.checkin_topic, p, o) for p, o in offsets.items()],
            asynchronous=False,
        )
    finally:
        committer.close()


def test_reads_committed_offsets_and_leaves_an_idle_group_as_it_was(isolated):
    settings, topic, group = isolated, isolated.checkin_topic, isolated.consumer_group
    parts = [(topic, p) for p in range(settings.checkin_partitions)]
    _commit(settings, {0: 5, 1: 7})
    admin = offsets.admin_client(settings)
    before = (_group_view(admin, group), _offsets_seen_by_admin(admin, group))

    found = offsets.committed_offsets(kafka_config(settings), group, parts)
    again = offsets.committed_offsets(offsets.config_of(admin), group, parts)

    expected = {key: None for key in parts} | {(topic, 0): 5, (topic, 1): 7}
    assert found == again == expected
    assert before[0] == ("EMPTY", [])
    assert (_group_view(admin, group), _offsets_seen_by_admin(admin, group)) == before
    # The overview's lag reads the same offsets through the dashboard's admin client.
    snap = wait_for(lambda: _snapshot_once_leaders_answer(admin, group, topic), 30, "a snapshot")
    assert {p.partition: p.committed for p in snap.partitions if p.committed is not None} == {
        0: 5,
        1: 7,
    }


def test_reading_a_group_that_never_committed_does_not_create_it(isolated):
    topic, group = isolated.checkin_topic, unique("never_used_group")
    admin = offsets.admin_client(isolated)

    found = offsets.committed_offsets(kafka_config(isolated), group, [(topic, 0)])

    assert found == {(topic, 0): None}
    assert group not in offsets.list_groups(admin)


def test_a_running_members_assignment_survives_reads(isolated):
    settings, topic, group = isolated, isolated.checkin_topic, isolated.consumer_group
    parts = [(topic, p) for p in range(settings.checkin_partitions)]
    events: list[str] = []
    member = Consumer(
        kafka_config(
            settings,
            **{
                "group.id": group,
                "enable.auto.commit": False,
                "heartbeat.interval.ms": 300,
                "session.timeout.ms": 6000,
            },
        )
    )
    member.subscribe(
        [topic],
        on_assign=lambda _c, tps: events.append(f"assign {len(tps)}"),
        on_revoke=lambda _c, tps: events.append(f"revoke {len(tps)}"),
    )
    try:

        def assigned() -> bool:
            member.poll(0.2)
            return bool(member.assignment())

        wait_for(assigned, 60, "the member to be assigned its partitions")
        member.commit(offsets=[TopicPartition(topic, p, 3) for _, p in parts], asynchronous=False)
        admin = offsets.admin_client(settings)
        before = _group_view(admin, group)
        assert before[0] == "STABLE" and len(before[1]) == 1

        for _ in range(3):
            found = offsets.committed_offsets(kafka_config(settings), group, parts)
            assert found == {key: 3 for key in parts}

        # A reader that joined would have put the group into a rebalance: the coordinator would
        # report it, and the member's generation-checked commit would be refused.
        assert _group_view(admin, group) == before
        member.poll(0.5)
        member.commit(offsets=[TopicPartition(topic, p, 4) for _, p in parts], asynchronous=False)
        assert events == [f"assign {len(parts)}"]
        assert _group_view(admin, group) == before
    finally:
        member.close()
