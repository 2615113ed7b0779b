import os
import subprocess
import sys

from checkins.settings import Settings
from stack import broker
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
