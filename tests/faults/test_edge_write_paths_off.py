"""Item 10: with DEMO_PUBLISH_ENABLED=false and API_TOKEN set, nothing writes without the token.

Every write path is tried without the token - the API's POST (no, wrong, empty and Basic
credentials; bad and oversize bodies; other methods), the publish page (AppTest and Chromium),
the simulator command - and the check-in topic's and the DLQ's end offsets, read from the broker,
must not move. Then one POST with the token moves them by exactly one (the control: the broker
was writable all along, so the refusals are what kept it unchanged)."""

from __future__ import annotations

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
from tests.faults.edge_support import child_env, end_offsets, running
from tests.integration.api_server import free_port, own_topics
from tests.waiting import wait_for

PATH = "/api/SOA/home/checkin"
TOKEN = f"tok-{uuid.uuid4().hex}"
OFF = {"DEMO_PUBLISH_ENABLED": "false", "API_TOKEN": TOKEN}


@pytest.fixture(scope="module")
def topics(stack) -> Iterator[Settings]:
    with own_topics(stack) as settings:
        yield settings


def offsets(settings: Settings) -> dict[str, dict[int, int]]:
    names = (settings.checkin_topic, settings.checkin_dlq_topic)
    return {topic: end_offsets(settings, topic) for topic in names}


@pytest.fixture(scope="module")
def api(topics, tmp_path_factory) -> Iterator[str]:
    port = free_port()
    env = child_env(topics, **OFF, API_HOST="127.0.0.1", API_PORT=str(port))
    base = f"http://127.0.0.1:{port}"
    with running(["-m", "api"], env, tmp_path_factory.mktemp("api") / "api.log"):

        def up() -> bool:
            try:
                return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, 30, "the API to answer /healthz")
        yield base


def test_the_api_refuses_every_write_without_the_token(api, topics):
    before = offsets(topics)
    json_type = {"Content-Type": "application/json"}
    attempts = {
        "no token": {},
        "wrong token": {"Authorization": "Bearer not-the-token"},
        "token prefix": {"Authorization": f"Bearer {TOKEN[:-1]}"},
        "token plus one": {"Authorization": f"Bearer {TOKEN}x"},
        "bare scheme": {"Authorization": "Bearer"},
        "basic": {"Authorization": f"Basic {TOKEN}"},
        "token as a header of its own": {"X-Api-Token": TOKEN, "Api-Token": TOKEN},
    }
    with httpx.Client(base_url=api, timeout=30) as client:
        for name, headers in attempts.items():
            for body in (SAMPLE, {**SAMPLE, "staffCode": f"w_{name}"}):
                answer = client.post(PATH, json=body, headers={**headers, "Idempotency-Key": name})
                assert answer.status_code == 401, (name, answer.text)
                assert answer.json()["error"] == "unauthorized"
                assert TOKEN not in answer.text
        # the token is checked before the body is read: junk and oversize bodies get 401 too
        for content in (b"{", b"x" * 200_000):
            assert client.post(PATH, content=content, headers=json_type).status_code == 401
        assert client.post(f"{PATH}?token={TOKEN}", json=SAMPLE).status_code == 401
        for method in ("PUT", "PATCH", "DELETE"):
            answer = client.request(method, PATH, json=SAMPLE)
            assert answer.status_code == 405, (method, answer.status_code)
    assert offsets(topics) == before


def test_the_simulator_refuses(topics):
    before = offsets(topics)
    env = child_env(topics, **OFF)
    result = subprocess.run(
        [sys.executable, "-m", "dashboard.simulate", "--duration", "2", "--rate", "5"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "DEMO_PUBLISH_ENABLED=false" in result.stderr and "nothing sent" in result.stderr
    assert offsets(topics) == before


@pytest.fixture
def switched_off(topics, monkeypatch) -> Iterator[None]:
    for name in ("mongodb_database", "checkin_topic", "checkin_dlq_topic", "consumer_group"):
        monkeypatch.setenv(name.upper(), str(getattr(topics, name)))
    for name, value in OFF.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
    st.cache_resource.clear()


def test_the_publish_page_has_nothing_to_press(topics, switched_off):
    before = offsets(topics)
    at = AppTest.from_file(str(ROOT / DASHBOARD_ENTRY), default_timeout=60)
    at.run()
    at.switch_page("../pages/publish.py").run()
    assert not at.exception
    assert any("switched off" in i.value for i in at.info)
    assert not at.button and not at.get("form") and not at.text_area and not at.text_input
    # No producer was even made for the page (it is made after the switch is checked).
    assert "publish_values" not in at.session_state and "sim_run" not in at.session_state
    assert offsets(topics) == before


def test_the_publish_page_in_the_browser_shows_no_form(topics, tmp_path):
    before = offsets(topics)
    env = child_env(topics, **OFF)
    with running_dashboard(env, tmp_path / "streamlit.log") as url, chromium_page() as page:
        page.goto(f"{url}/publish")
        page.get_by_text("Publishing demo events is switched off").wait_for(timeout=60_000)
        main = page.locator('[data-testid="stMain"]')
        assert main.locator("input, textarea, button[kind^=primary], form").count() == 0
        assert page.get_by_role("button", name="Publish check-in").count() == 0
        assert page.get_by_role("tab", name="Simulator").count() == 0
    assert offsets(topics) == before


def test_with_the_token_exactly_one_write_lands(api, topics):
    """The control: the same API and broker accept the one request that has the token."""
    before = offsets(topics)
    with httpx.Client(base_url=api, timeout=30) as client:
        answer = client.post(PATH, json=SAMPLE, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    after = offsets(topics)
    moved = {
        (topic, p): after[topic][p] - before[topic][p]
        for topic in after
        for p in after[topic]
        if after[topic][p] != before[topic][p]
    }
    assert moved == {(topics.checkin_topic, answer.json()["partition"]): 1}
