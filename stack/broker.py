"""The local Kafka: a single KRaft node (broker + controller), its config, and topic set-up."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

from confluent_kafka.admin import AdminClient, NewTopic

from checkins.clients import kafka_config
from checkins.settings import LOCAL_HOST, Settings
from stack.paths import ROOT, StackDir
from stack.processes import port_open

HEAP = "-Xmx512m"


def server_properties(settings: Settings, data_dir: Path) -> str:
    port, controller = settings.stack_kafka_port, settings.stack_kafka_controller_port
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@{LOCAL_HOST}:{controller}",
            f"listeners=PLAINTEXT://{LOCAL_HOST}:{port},CONTROLLER://{LOCAL_HOST}:{controller}",
            f"advertised.listeners=PLAINTEXT://{LOCAL_HOST}:{port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={data_dir}",
            "num.partitions=1",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=6",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            # Topics exist because the stack (or a test) created them, never by a typo.
            "auto.create.topics.enable=false",
            "",
        ]
    )


def _cluster_id() -> str:
    """Kafka's own id format: 16 random bytes, URL-safe base64 without padding, never starting
    with "-" (kafka-storage would read it as an option; Kafka's Uuid.randomUuid skips those too)."""
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not candidate.startswith("-"):
            return candidate


def prepare(settings: Settings, stack: StackDir, libs: Path) -> list[list[str]]:
    """Write server.properties; return the one-off commands still needed (storage format)."""
    data = stack.data("kafka")
    config = data / "server.properties"
    logs = data / "logs"
    data.mkdir(parents=True, exist_ok=True)
    config.write_text(server_properties(settings, logs))
    if (logs / "meta.properties").exists():
        return []
    return [
        java_command(libs)
        + [
            "kafka.tools.StorageTool",
            "format",
            "--ignore-formatted",
            "-t",
            _cluster_id(),
            "-c",
            str(config),
        ]
    ]


def command(stack: StackDir, libs: Path) -> list[str]:
    return java_command(libs) + ["kafka.Kafka", str(stack.data("kafka") / "server.properties")]


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


def ensure_topics(settings: Settings) -> list[str]:
    """Create the check-in topics when missing; returns the names it created."""
    admin = AdminClient(kafka_config(settings, log_level=4))
    existing = set(admin.list_topics(timeout=10).topics)
    wanted = [
        NewTopic(settings.checkin_topic, num_partitions=settings.checkin_partitions),
        NewTopic(settings.checkin_dlq_topic, num_partitions=1),
        NewTopic(settings.status_topic, num_partitions=1),
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
