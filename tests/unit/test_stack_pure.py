import os
import subprocess
import sys

from checkins.settings import Settings
from stack import broker
from stack.paths import StackDir
from stack.processes import is_alive, log_tail, stop


def test_broker_config_binds_loopback_only(tmp_path):
    settings = Settings(_env_file=None, stack_kafka_port=19000, stack_kafka_controller_port=19001)
    text = broker.server_properties(settings, tmp_path)
    assert "listeners=PLAINTEXT://127.0.0.1:19000,CONTROLLER://127.0.0.1:19001" in text
    assert "controller.quorum.voters=1@127.0.0.1:19001" in text
    assert f"log.dirs={tmp_path}" in text


def test_stop_terminates_gracefully_and_pid_signature_guards_reuse():
    code = "import time; print('ready', flush=True); time.sleep(60)"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert child.stdout.readline().strip() == b"ready"  # exec'd: its own command line
        assert is_alive(child.pid, "time.sleep(60)")
        assert not is_alive(child.pid, "something-else")
        assert stop(child.pid, "time.sleep(60)") is False  # SIGTERM was enough
        assert not os.path.exists(f"/proc/{child.pid}")  # gone and reaped, no zombie left
    finally:
        if child.poll() is None:
            child.kill()


def test_stop_kills_what_ignores_sigterm():
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        "print('ready', flush=True); time.sleep(60)"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert child.stdout.readline().strip() == b"ready"
        assert stop(child.pid, "SIG_IGN", grace_seconds=0.5) is True  # had to SIGKILL
        assert not os.path.exists(f"/proc/{child.pid}")
    finally:
        if child.poll() is None:
            child.kill()


def test_log_tail(tmp_path):
    log = tmp_path / "x.log"
    log.write_text("\n".join(str(i) for i in range(30)))
    assert log_tail(log, 3) == "27\n28\n29"
    assert log_tail(tmp_path / "missing.log") == "(no log written)"


def test_cluster_ids_never_look_like_an_option(monkeypatch):
    # 16 bytes whose base64 starts with "-" (0xf8 -> "-") come first, then ordinary ones
    ids = iter([bytes([0xF8]) + bytes(15), bytes(range(16))])
    monkeypatch.setattr(broker.uuid, "uuid4", lambda: type("U", (), {"bytes": next(ids)})())
    cluster_id = broker._cluster_id()
    assert not cluster_id.startswith("-") and len(cluster_id) == 22


def _cluster(tmp_path, brokers: int) -> Settings:
    return Settings(
        _env_file=None, stack_kafka_port=19092, stack_kafka_brokers=brokers, stack_dir=str(tmp_path)
    )


def test_a_cluster_puts_broker_i_on_port_plus_2i_and_its_controller_next():
    nodes = broker.nodes(Settings(_env_file=None, stack_kafka_port=19092, stack_kafka_brokers=3))
    assert [(n.name, n.node_id, n.port, n.controller_port) for n in nodes] == [
        ("kafka-1", 1, 19092, 19093),
        ("kafka-2", 2, 19094, 19095),
        ("kafka-3", 3, 19096, 19097),
    ]
    settings = Settings(_env_file=None, stack_kafka_port=19092, stack_kafka_brokers=3)
    assert settings.bootstrap_servers == "127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096"
    single = Settings(_env_file=None)
    assert [(n.name, n.port, n.controller_port) for n in broker.nodes(single)] == [
        ("kafka", 9092, 9093)
    ]
    assert single.bootstrap_servers == "127.0.0.1:9092"


def test_cluster_nodes_share_the_quorum_and_replicate_every_topic(tmp_path):
    settings = Settings(_env_file=None, stack_kafka_port=19092, stack_kafka_brokers=3)
    node = broker.nodes(settings)[1]
    text = broker.server_properties(settings, tmp_path, node).splitlines()
    assert "node.id=2" in text
    assert "controller.quorum.voters=1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097" in text
    assert "listeners=PLAINTEXT://127.0.0.1:19094,CONTROLLER://127.0.0.1:19095" in text
    for line in (
        "default.replication.factor=3",
        "min.insync.replicas=2",
        "offsets.topic.replication.factor=3",
        "transaction.state.log.replication.factor=3",
        "transaction.state.log.min.isr=2",
    ):
        assert line in text
    two = Settings(_env_file=None, stack_kafka_brokers=2)
    assert broker.replication(two) == (2, 2)
    assert broker.replication(Settings(_env_file=None, stack_kafka_brokers=5)) == (3, 2)


def test_cluster_nodes_are_formatted_with_one_cluster_id(tmp_path):
    settings = _cluster(tmp_path, 3)
    stack = StackDir(tmp_path)
    ids = set()
    for node in broker.nodes(settings):
        (format_command,) = broker.prepare(settings, stack, tmp_path / "libs", node)
        ids.add(format_command[format_command.index("-t") + 1])
        assert (tmp_path / node.name / "cluster.properties").read_text().startswith("brokers=3\n")
    assert len(ids) == 1


def test_switching_the_number_of_brokers_is_refused_with_what_to_do(tmp_path):
    stack = StackDir(tmp_path)
    assert broker.layout_problem(_cluster(tmp_path, 3), stack) is None  # nothing yet
    for node in broker.nodes(_cluster(tmp_path, 3)):
        broker.prepare(_cluster(tmp_path, 3), stack, tmp_path / "libs", node)
    assert broker.layout_problem(_cluster(tmp_path, 3), stack) is None
    to_one = broker.layout_problem(_cluster(tmp_path, 1), stack)
    assert "3-broker" in to_one and "STACK_KAFKA_BROKERS=3" in to_one and "\n" not in to_one
    assert "STACK_KAFKA_BROKERS=3" in broker.layout_problem(_cluster(tmp_path, 5), stack)

    single_dir = tmp_path / "single"
    single_dir.mkdir()
    single = StackDir(single_dir)
    broker.prepare(_cluster(single_dir, 1), single, tmp_path / "libs")
    assert broker.layout_problem(_cluster(single_dir, 1), single) is None
    to_three = broker.layout_problem(_cluster(single_dir, 3), single)
    assert "single-broker" in to_three and "STACK_KAFKA_BROKERS=1" in to_three
