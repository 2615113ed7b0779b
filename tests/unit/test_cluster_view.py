from monitor.cluster import DEGRADED, OFFLINE, OK, PartitionReplicas, bootstrap_addresses, shape

LIVE = {1: "127.0.0.1:19092", 2: "127.0.0.1:19094", 3: "127.0.0.1:19096"}
BOOTSTRAP = list(LIVE.values())


def part(topic, partition, leader, replicas, isr):
    return PartitionReplicas(topic, partition, leader, tuple(replicas), tuple(isr))


def test_a_healthy_cluster_is_ok():
    view = shape(LIVE, 2, [part("t", 0, 1, [1, 2, 3], [1, 2, 3])], BOOTSTRAP)
    assert view.status == OK and view.missing() == []
    assert [(b.id, b.up, b.controller) for b in view.brokers] == [
        (1, True, False),
        (2, True, True),
        (3, True, False),
    ]
    assert view.summary() == (
        "cluster OK: 3 of 3 brokers up; controller 2; 1 partitions, 0 under-replicated, 0 offline"
    )


def test_a_broker_that_is_down_is_named_from_the_replicas_that_still_name_it():
    live = {2: LIVE[2], 3: LIVE[3]}
    partitions = [
        part("t", 0, 2, [1, 2, 3], [2, 3]),
        part("t", 1, 3, [2, 3, 1], [2, 3]),
        part("u", 0, 2, [2, 3, 1], [2, 3, 1]),  # the ISR has not shrunk yet
    ]
    view = shape(live, 2, partitions, BOOTSTRAP)
    assert view.status == DEGRADED
    assert [b.id for b in view.down] == [1] and view.down[0].address is None
    assert view.missing() == ["broker 1", "127.0.0.1:19092 (not answering)"]
    assert [(p.topic, p.partition) for p in view.under_replicated] == [("t", 0), ("t", 1)]
    assert view.under_replicated[0].out_of_sync == (1,)
    assert "2 of 3 brokers up, missing broker 1, 127.0.0.1:19092 (not answering)" in view.summary()
    assert "2 under-replicated, 0 offline" in view.summary()


def test_a_partition_without_a_leader_makes_the_cluster_offline():
    live = {3: LIVE[3]}
    view = shape(live, 3, [part("t", 0, None, [1, 2], [1]), part("t", 1, 3, [3], [3])], BOOTSTRAP)
    assert view.status == OFFLINE
    assert [(p.topic, p.partition) for p in view.offline] == [("t", 0)]
    assert view.under_replicated == ()  # offline is counted as offline, not twice
    assert [b.id for b in view.down] == [1, 2]


def test_a_managed_clusters_bootstrap_name_is_not_a_missing_broker():
    live = {0: "b0.kafka.example:9092", 1: "b1.kafka.example:9092"}
    view = shape(live, 0, [part("t", 0, 0, [0, 1], [0, 1])], ["kafka.example:9092"])
    assert view.status == OK and view.missing() == []


def test_only_the_shown_topics_partitions_go_into_the_json():
    view = shape(LIVE, 1, [part("t", 0, 1, [1], [1]), part("u", 0, 2, [2], [2])], BOOTSTRAP)
    shown = view.as_dict(["u"])
    assert [p["topic"] for p in shown["partitions"]] == ["u"]
    assert shown["status"] == OK and shown["controller"] == 1 and len(shown["brokers"]) == 3


def test_bootstrap_addresses():
    assert bootstrap_addresses("a:1, SASL_SSL://b:2,") == ["a:1", "b:2"]


def test_rows_for_the_pages_name_the_down_broker_and_the_missing_replica():
    from monitor.cluster import broker_rows, partition_rows

    live = {2: LIVE[2], 3: LIVE[3]}
    view = shape(
        live,
        3,
        [
            part("t", 0, 2, [1, 2, 3], [2, 3]),
            part("t", 1, None, [1], [1]),
            part("x", 0, 3, [3], [3]),
        ],
        BOOTSTRAP,
    )
    assert broker_rows(view)[0] == {
        "broker": 1,
        "state": "DOWN",
        "address": "(down: Kafka no longer lists it)",
        "controller": "",
    }
    assert broker_rows(view)[2]["controller"] == "yes"
    assert partition_rows(view, ["t"]) == [
        {
            "topic": "t",
            "partition": 0,
            "leader": "2",
            "replicas": "1, 2, 3",
            "in sync": "2, 3",
            "state": "under-replicated (missing 1)",
        },
        {
            "topic": "t",
            "partition": 1,
            "leader": "OFFLINE",
            "replicas": "1",
            "in sync": "1",
            "state": "offline",
        },
    ]
