"""Item 9: credentials never appear in what the processes print, log, answer or show.

Every process runs with a password in `MONGODB_URI`, SASL settings (`KAFKA_SECURITY_PROTOCOL=
SASL_PLAINTEXT`, `KAFKA_SASL_PASSWORD`) and `API_TOKEN`, all pointed where they fail, so each one
hits its error paths: the real FerretDB refuses the credentials ("auth refused"), or nothing
listens on the port ("closed port"). Then the test searches stdout, stderr, logs, HTTP answers,
AppTest elements (exceptions included) and the browser's page HTML for each secret."""

from __future__ import annotations

import gc
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from checkins.event import SAMPLE
from checkins.settings import Settings, get_settings
from stack.paths import ROOT
from stack.services import DASHBOARD_ENTRY
from tests.browser import chromium_page, running_dashboard
from tests.faults.edge_support import child_env, running
from tests.integration.api_server import free_port, own_topics
from tests.waiting import wait_for

APP = str(ROOT / DASHBOARD_ENTRY)
PAGES = ["pages/map.py", "pages/overview.py", "pages/events.py", "pages/lag.py", "pages/publish.py"]
MARK = uuid.uuid4().hex[:12]  # each secret holds it, so an encoded or cut copy is found too
SECRETS = {
    "mongo password": f"mongoPw{MARK}a",
    "kafka password": f"kafkaPw{MARK}b",
    "api token": f"apiTok{MARK}c",
}


@pytest.fixture(scope="module")
def closed_port() -> Iterator[int]:
    """A port bound but never listening: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def secret_env(variant: str, closed_port: int, stack: Settings) -> dict[str, str]:
    refused = variant == "auth refused"
    mongo_host = "127.0.0.1:27017" if refused else f"127.0.0.1:{closed_port}"
    kafka_host = stack.bootstrap_servers if refused else f"127.0.0.1:{closed_port}"
    return {
        "MONGODB_URI": f"mongodb://edge_user:{SECRETS['mongo password']}@{mongo_host}/",
        "KAFKA_BOOTSTRAP_SERVERS": kafka_host,
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": "PLAIN",
        "KAFKA_SASL_USERNAME": "edge_user",
        "KAFKA_SASL_PASSWORD": SECRETS["kafka password"],
        "API_TOKEN": SECRETS["api token"],
        "API_PUBLISH_TIMEOUT": "1",
    }


def assert_no_secret(where: str, text: str) -> None:
    assert text.strip(), f"{where}: nothing was captured, so nothing was searched"
    for name, value in SECRETS.items():
        assert MARK not in text, f"{where} shows the {name}:\n{text[-3000:]}"
        assert value not in text


@pytest.fixture(scope="module")
def topics(stack) -> Iterator[Settings]:
    with own_topics(stack) as settings:
        yield settings


VARIANTS = ["auth refused", "closed port"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_command_line_processes_never_print_a_secret(variant, topics, closed_port, tmp_path):
    env = child_env(topics, **secret_env(variant, closed_port, topics))
    commands = {
        "stack status": ["-m", "stack", "status"],
        "lag": ["-m", "dashboard.lag"],
        "lag --json": ["-m", "dashboard.lag", "--json"],
        "simulate": ["-m", "dashboard.simulate", "--duration", "1", "--rate", "2"],
        "consumers rebuild": ["-m", "consumers", "rebuild"],
    }
    # Run together (each is bounded by its own timeouts) so the test stays short.
    procs = {
        name: subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, args in commands.items()
    }
    outputs = {}
    try:
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=90)
            outputs[name] = (proc.returncode, out + err)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    for name, (_, text) in outputs.items():
        assert_no_secret(f"{variant}: python -m {name}", text)
    # They did meet the failures (not a quiet success that never touched the secrets' paths).
    assert outputs["simulate"][0] != 0
    assert outputs["consumers rebuild"][0] != 0
    assert "external" in outputs["stack status"][1]
    if variant == "closed port":  # the SASL settings were in force where librdkafka failed
        assert "sasl_plaintext://" in outputs["simulate"][1], outputs["simulate"][1]


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_consumers_log_no_secret_while_they_retry(variant, topics, closed_port, tmp_path):
    env = child_env(topics, **secret_env(variant, closed_port, topics))
    log = tmp_path / "consumers.log"
    with running(["-m", "consumers"], env, log):
        wait_for(lambda: "Retrying" in log.read_text(), 60, "the consumers to retry MongoDB")
    assert_no_secret(f"{variant}: python -m consumers", log.read_text())


def test_the_api_answers_and_logs_no_secret(topics, closed_port, tmp_path):
    env = child_env(topics, **secret_env("closed port", closed_port, topics))
    port = free_port()
    env.update(API_HOST="127.0.0.1", API_PORT=str(port))
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "api.log"
    token = {"Authorization": f"Bearer {SECRETS['api token']}"}
    wrong = {"Authorization": "Bearer x"}
    with running(["-m", "api"], env, log), httpx.Client(base_url=base, timeout=30) as client:

        def up() -> bool:
            try:
                return client.get("/healthz").status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, 30, "the API to answer /healthz")
        answers = [
            client.post("/api/SOA/home/checkin", json=SAMPLE),
            client.post("/api/SOA/home/checkin", json=SAMPLE, headers=wrong),
            client.post("/api/SOA/home/checkin", json=SAMPLE, headers=token),
            client.post("/api/SOA/home/checkin", content=b"{", headers=token),
            client.get("/readyz"),
            client.get("/openapi.json"),
            client.get("/docs"),
        ]
    statuses = [a.status_code for a in answers]
    assert statuses == [401, 401, 503, 400, 503, 200, 200], statuses
    shown = "\n".join(f"{a.status_code} {a.headers} {a.text}" for a in answers)
    assert_no_secret("API answers", shown)
    assert_no_secret("API log", log.read_text())


@pytest.fixture
def secret_dashboard(topics, closed_port, monkeypatch) -> Iterator[None]:
    for name in ("mongodb_database", "checkin_topic", "checkin_dlq_topic", "consumer_group"):
        monkeypatch.setenv(name.upper(), str(getattr(topics, name)))
    for name, value in secret_env("closed port", closed_port, topics).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
    st.cache_resource.clear()  # AppTest's producers and admin clients live in this process
    st.cache_data.clear()
    gc.collect()  # let them go now, not while later tests run


def everything_shown(at: AppTest) -> str:
    """The text of every element of the page, exceptions and their stack traces included."""
    parts = []
    for node in at.main.children.values():
        parts.append(str(node))
    for kind in ("markdown", "caption", "error", "warning", "info", "success", "metric"):
        parts += [str(getattr(e, "value", e)) for e in getattr(at, kind)]
    for kind in ("metric",):
        parts += [e.label for e in getattr(at, kind)]
    for exc in at.exception:
        parts += [exc.value, *exc.stack_trace]
    parts += [d.value.to_string() for d in at.dataframe]
    parts += [str(e) for e in at.sidebar.children.values()]
    return "\n".join(parts)


def test_dashboard_pages_show_no_secret_apptest(secret_dashboard):
    shown = {}
    for page in PAGES:
        at = AppTest.from_file(APP, default_timeout=90)
        at.run()
        if page != "pages/map.py":
            at.switch_page(f"../{page}").run()
        if page == "pages/publish.py":  # a publish that fails: its error is shown
            at.button(key="pub_send_sample").click().run()
            assert any("Not published" in e.value for e in at.error), everything_shown(at)
        shown[page] = everything_shown(at)
        assert_no_secret(f"AppTest {page}", shown[page])
    assert "MongoDB is unreachable" in shown["pages/map.py"]
    assert "Kafka did not answer" in shown["pages/lag.py"]


def test_dashboard_pages_show_no_secret_in_the_browser(topics, closed_port, tmp_path):
    env = child_env(topics, **secret_env("closed port", closed_port, topics))
    log = tmp_path / "streamlit.log"
    with running_dashboard(env, log) as url, chromium_page() as page:
        # Each page's error (or form) is drawn; the live pages never settle while their
        # fragments retry, so the test waits for what they show instead.
        for path, shown in [
            ("", "MongoDB is unreachable"),
            ("overview", "Unreachable: Kafka and MongoDB"),
            ("events", "MongoDB is unreachable"),
            ("lag", "Kafka did not answer"),
            ("publish", "Publish check-in"),
        ]:
            page.goto(f"{url}/{path}")
            # ~7 s here on a quiet machine; one CI run on a loaded one took over 60 s.
            page.get_by_text(shown).first.wait_for(timeout=150_000)
            html = page.content()
            assert_no_secret(f"browser /{path}", html + page.inner_text("body"))
    assert_no_secret("streamlit log", log.read_text() or "(empty log)")
