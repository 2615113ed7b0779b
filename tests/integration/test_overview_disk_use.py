"""The overview shows the store's disk use (database + WAL) beside events stored: the local
store's files (readmodels/disk.py), "n/a" for an external MongoDB. Run by Streamlit's AppTest
against the real store; the stack dir must be the running store's (STACK_DIR)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from streamlit.testing.v1 import AppTest

from checkins.settings import get_settings
from readmodels import disk
from stack.paths import ROOT
from stack.services import DASHBOARD_ENTRY
from tests.readmodels import spread, write_checkins

APP = str(ROOT / DASHBOARD_ENTRY)


@pytest.fixture
def board(isolated, mongo, monkeypatch):
    """The dashboard (which reads get_settings()) pointed at this test's database."""
    monkeypatch.setenv("MONGODB_DATABASE", isolated.mongodb_database)
    get_settings.cache_clear()
    yield isolated, mongo[isolated.mongodb_database]
    get_settings.cache_clear()


def overview() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("../pages/overview.py").run()  # relative to the entry script
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_overview_shows_the_local_stores_disk_use_beside_events_stored(board):
    settings, db = board
    write_checkins(db, spread(6, now=datetime.now(UTC)))
    folder = disk.data_dir(settings)
    before = disk.database_use(folder, settings.mongodb_database)
    at = overview()
    after = disk.database_use(folder, settings.mongodb_database)
    metrics = {m.label: m.value for m in at.metric}

    assert before.database_bytes > 0, f"no database file in {folder}: is STACK_DIR the store's?"
    assert metrics["Events stored"] == "6"
    assert metrics["Store on disk"] in {disk.describe(u)[0] for u in (before, after)}
    captions = [c.value for c in at.caption]
    assert any(c.startswith("database ") and " + WAL " in c for c in captions), captions


def test_overview_says_n_a_for_the_disk_use_of_an_external_mongodb(board, monkeypatch):
    settings, _ = board
    monkeypatch.setenv("MONGODB_URI", settings.mongo_uri)  # the same server, named as external
    get_settings.cache_clear()
    metrics = {m.label: m.value for m in overview().metric}
    assert metrics["Store on disk"] == "n/a"
    assert metrics["MongoDB"] == "reachable"
