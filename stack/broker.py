"""The local Kafka: one KRaft node (broker + controller) or a cluster of them on loopback, their
config, readiness, and topic set-up."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka.admin import AdminClient, NewTopic

from checkins.clients import kafka_config
from checkins.settings import LOCAL_HOST, Settings
from stack.paths import ROOT, StackDir
from stack.processes import port_open

HEAP = "-Xmx512m"
# Three JVMs share two cores and the other services: each cluster node gets less.
CLUSTER_HEAP = "-Xmx384m"
MARKER = "cluster.properties"  # in each cluster node's data dir: how many nodes, the cluster id


@dataclass(frozen=True)
class Node:
    """One KRaft node (broker + controller). Alone it is "kafka" (as before clusters existed);
    in a cluster of N, node i is "kafka-<i>" on port + 2*(i-1), its controller one port up."""

    node_id: int
    name: str  # service, pid, log and data dir name
    port: int
    controller_port: int

    @property
    def address(self) -> str:
        return f"{LOCAL_HOST}:{self.port}"


def nodes(settings: Settings) -> list[Node]:
    count, first = settings.stack_kafka_brokers, settings.stack_kafka_port
    if count == 1:
        return [Node(1, "kafka", first, settings.stack_kafka_controller_port)]
    return [
        Node(i, f"kafka-{i}", first + 2 * (i - 1), first + 2 * (i - 1) + 1)
        for i in range(1, count + 1)
    ]


def replication(settings: Settings) -> tuple[int, int]:
    """(replication factor, min.insync.replicas) of the topics the local stack creates."""
    count = settings.stack_kafka_brokers
    return min(3, count), min(2, count)


def server_properties(settings: Settings, data_dir: Path, node: Node | None = None) -> str:
    everyone = nodes(settings)
    node = node or everyone[0]
    factor, min_isr = replication(settings)
    voters = ",".join(f"{n.node_id}@{LOCAL_HOST}:{n.controller_port}" for n in everyone)
    lines = [
        "process.roles=broker,controller",
        f"node.id={node.node_id}",
        f"controller.quorum.voters={voters}",
        f"listeners=PLAINTEXT://{LOCAL_HOST}:{node.port},CONTROLLER://{LOCAL_HOST}:{node.controller_port}",
        f"advertised.listeners=PLAINTEXT://{LOCAL_HOST}:{node.port}",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        f"log.dirs={data_dir}",
        "num.partitions=1",
        f"offsets.topic.replication.factor={factor}",
        "offsets.topic.num.partitions=6",
        f"transaction.state.log.replication.factor={factor}",
        f"transaction.state.log.min.isr={min_isr}",
        f"share.coordinator.state.topic.replication.factor={factor}",
        f"share.coordinator.state.topic.min.isr={min_isr}",
        "group.initial.rebalance.delay.ms=0",
        # Topics exist because the stack (or a test) created them, never by a typo.
        "auto.create.topics.enable=false",
    ]
    if len(everyone) > 1:
        lines += [
            # Any topic created on the cluster (the tests' own too) is replicated like the stack's.
            f"default.replication.factor={factor}",
            f"min.insync.replicas={min_isr}",
            # acks=all waits on every in-sync replica: a dead follower stalls all its partitions
            # until the controller fences it. At the default 9 s the API went 12 s without an
            # ack when a leader was killed; at 4 s, 4-7 s (tests/cluster/test_leader_loss.py).
            "broker.session.timeout.ms=4000",
            "broker.heartbeat.interval.ms=1000",
            # Fewer threads per node: N of them share the machine.
            "num.network.threads=2",
            "num.io.threads=2",
            "background.threads=2",
        ]
    return "\n".join([*lines, ""])


def _cluster_id() -> str:
    """Kafka's own id format: 16 random bytes, URL-safe base64 without padding, never starting
    with "-" (kafka-storage would read it as an option; Kafka's Uuid.randomUuid skips those too)."""
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not candidate.startswith("-"):
            return candidate


def _read_marker(path: Path) -> dict[str, str]:
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return {}
    return dict(line.split("=", 1) for line in lines if "=" in line)


def _shared_cluster_id(stack: StackDir, everyone: list[Node]) -> str:
    """Every node of a cluster is formatted with the same id: the one a node already records."""
    for other in everyone:
        recorded = _read_marker(stack.data(other.name) / MARKER).get("cluster.id")
        if recorded:
            return recorded
    return _cluster_id()


def prepare(
    settings: Settings, stack: StackDir, libs: Path, node: Node | None = None
) -> list[list[str]]:
    """Write server.properties; return the one-off commands still needed (storage format)."""
    everyone = nodes(settings)
    node = node or everyone[0]
    data = stack.data(node.name)
    config = data / "server.properties"
    logs = data / "logs"
    data.mkdir(parents=True, exist_ok=True)
    config.write_text(server_properties(settings, logs, node))
    if len(everyone) == 1:
        cluster_id = _cluster_id()
    else:
        cluster_id = _shared_cluster_id(stack, everyone)
        marker = f"brokers={len(everyone)}\ncluster.id={cluster_id}\n"
        (data / MARKER).write_text(marker)
    if (logs / "meta.properties").exists():
        return []
    return [
        java_command(libs, node_heap(settings))
        + [
            "kafka.tools.StorageTool",
            "format",
            "--ignore-formatted",
            "-t",
            cluster_id,
            "-c",
            str(config),
        ]
    ]


def layout_problem(settings: Settings, stack: StackDir) -> str | None:
    """What is wrong, in one line, when the stack dir holds a Kafka of another size than
    STACK_KAFKA_BROKERS asks for (starting it would mix two clusters' state)."""
    wanted = settings.stack_kafka_brokers
    single = stack.data("kafka").exists()
    cluster_dirs, found = _cluster_on_disk(stack)
    where = stack.root
    if wanted == 1 and cluster_dirs:
        return (
            f"{where} holds a {found}-broker Kafka cluster ({where}/kafka-1 ...) but "
            f"STACK_KAFKA_BROKERS is 1: set STACK_KAFKA_BROKERS={found} to use it, or stop it "
            f"(make down) and remove {where}/kafka-* to start one broker afresh."
        )
    if wanted > 1 and single:
        return (
            f"{where} holds a single-broker Kafka ({where}/kafka) but STACK_KAFKA_BROKERS is "
            f"{wanted}: set STACK_KAFKA_BROKERS=1 to use it, or stop it (make down) and remove "
            f"{where}/kafka to start a {wanted}-broker cluster afresh (its data is not moved)."
        )
    if wanted > 1 and cluster_dirs and found != wanted:
        return (
            f"{where} holds a {found}-broker Kafka cluster but STACK_KAFKA_BROKERS is {wanted}: "
            f"set STACK_KAFKA_BROKERS={found} to use it, or stop it (make down) and remove "
            f"{where}/kafka-* to start a {wanted}-broker cluster afresh."
        )
    return None


def brokers_on_disk(stack: StackDir) -> int:
    """How many nodes the stack dir's Kafka has (1 for the single broker, or none yet)."""
    return max(1, _cluster_on_disk(stack)[1])


def _cluster_on_disk(stack: StackDir) -> tuple[list[Path], int]:
    """The cluster node dirs in the stack dir, and the size their markers record (else how many
    dirs there are)."""
    cluster_dirs = sorted(stack.root.glob("kafka-[0-9]*/"))
    recorded = [_read_marker(d / MARKER).get("brokers", "") for d in cluster_dirs]
    sizes = [int(r) for r in recorded if r.isdigit()]
    return cluster_dirs, max(sizes) if sizes else len(cluster_dirs)


def node_heap(settings: Settings) -> str:
    return HEAP if settings.stack_kafka_brokers == 1 else CLUSTER_HEAP


def command(settings: Settings, stack: StackDir, libs: Path, node: Node | None = None) -> list[str]:
    node = node or nodes(settings)[0]
    config = stack.data(node.name) / "server.properties"
    return java_command(libs, node_heap(settings)) + ["kafka.Kafka", str(config)]


def java_command(libs: Path, heap: str = HEAP) -> list[str]:
    """`java` with the jars of `libs` on the classpath, logging through the stack's log4j2
    config (the broker; Kafka Connect in the bench)."""
    return [
        "java",
        heap,
        "-Xms128m",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={ROOT / 'stack' / 'kafka' / 'log4j2.properties'}",
        "-cp",
        f"{libs}/*",
    ]


def answers(settings: Settings, timeout: float = 2.0) -> bool:
    """A metadata request succeeds."""
    if not settings.kafka_is_external and not port_open(LOCAL_HOST, settings.stack_kafka_port):
        return False
    admin = AdminClient(
        kafka_config(settings, **{"socket.connection.setup.timeout.ms": 2000, "log_level": 0})
    )
    try:
        admin.list_topics(timeout=timeout)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not answering yet"
        return False


def node_answers(settings: Settings, node: Node, timeout: float = 2.0) -> bool:
    """This node, asked alone, answers metadata and lists itself: it has joined the cluster
    (a broker is listed once the controller quorum has unfenced it)."""
    if not port_open(LOCAL_HOST, node.port):
        return False
    only_this = {"bootstrap.servers": node.address, "socket.connection.setup.timeout.ms": 2000}
    admin = AdminClient(kafka_config(settings, **only_this, log_level=0))
    try:
        return node.node_id in admin.list_topics(timeout=timeout).brokers
    except Exception:  # noqa: BLE001 - any failure means "not answering yet"
        return False


def cluster_problem(settings: Settings, timeout: float = 5.0) -> str | None:
    """None once every node has joined and every partition has a leader; else what is missing."""
    admin = AdminClient(
        kafka_config(settings, **{"socket.connection.setup.timeout.ms": 2000, "log_level": 0})
    )
    try:
        metadata = admin.list_topics(timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - reported to the caller as text
        return f"no metadata answer ({type(exc).__name__})"
    missing = [n.name for n in nodes(settings) if n.node_id not in metadata.brokers]
    if missing:
        return f"not joined yet: {', '.join(missing)}"
    leaderless = [
        f"{topic}[{p.id}]"
        for topic, meta in metadata.topics.items()
        for p in meta.partitions.values()
        if p.leader < 0
    ]
    if leaderless:
        return f"partitions without a leader: {', '.join(sorted(leaderless)[:5])}"
    return None


def ensure_topics(settings: Settings) -> list[str]:
    """Create the check-in topics when missing; returns the names it created. On a local
    cluster they are replicated (min(3, N) copies, min(2, N) in sync for acks=all)."""
    admin = AdminClient(kafka_config(settings, log_level=4))
    existing = set(admin.list_topics(timeout=10).topics)
    replicated: dict = {}
    if not settings.kafka_is_external and settings.stack_kafka_brokers > 1:
        factor, min_isr = replication(settings)
        replicated = {"replication_factor": factor, "config": {"min.insync.replicas": str(min_isr)}}
    wanted = [
        NewTopic(settings.checkin_topic, num_partitions=settings.checkin_partitions, **replicated),
        NewTopic(settings.checkin_dlq_topic, num_partitions=1, **replicated),
        NewTopic(settings.status_topic, num_partitions=1, **replicated),
    ]
    missing = [t for t in wanted if t.topic not in existing]
    if not missing:
        return []
    for _topic, future in admin.create_topics(missing, operation_timeout=30).items():
        try:
            future.result(timeout=30)
        except Exception as exc:  # a concurrent `up` may have created it first
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise
    return [t.topic for t in missing]
