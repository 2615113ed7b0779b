"""The lag page in a real browser shows what the lag sampler found: an active alert and the
group's history (a member joining and leaving). The consumers, the sampler and streamlit run
as the project's own processes on this test's topics and database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from checkins.settings import Settings
from monitor import alert_log, group_events
from tests.browser import ARTIFACTS, chromium_page, running_dashboard
from tests.monitoring.services import consumers, get_text, produce, sampler
from tests.subprocesses import env_for, free_port
from tests.waiting import wait_for

RULE = "ConsumerGroupNoMembers"


@pytest.fixture
def alerting(isolated: Settings, mongo, tmp_path) -> Iterator[Settings]:
    """The sampler saw a consumer join and leave, and the group's no-members alert fire."""
    db = mongo[isolated.mongodb_database]
    port = free_port()
    with sampler(isolated, tmp_path, port, sampler_interval_s=1, alert_no_members_for_s=2):
        # A first round before the consumer joins, or its joining is the group's first sight.
        wait_for(
            lambda: (
                "checkin_sampler_last_sample_timestamp_seconds"
                in get_text(f"http://127.0.0.1:{port}/metrics")
            ),
            60,
            "the sampler's first round",
        )
        with consumers(isolated, tmp_path):
            produce(isolated, 60)
            wait_for(
                lambda: any(
                    e.kind == "joined" for e in group_events.latest(db, isolated.consumer_group)
                ),
                60,
                "the sampler to record the consumer joining",
            )
        produce(isolated, 20)  # lag, nobody consuming
        wait_for(lambda: [a.rule for a in alert_log.active(db)] == [RULE], 60, "the alert to fire")
        wait_for(
            lambda: any(e.kind == "left" for e in group_events.latest(db, isolated.consumer_group)),
            30,
            "the sampler to record the consumer leaving",
        )
        yield isolated


@pytest.fixture
def app_url(alerting: Settings) -> Iterator[str]:
    with running_dashboard(env_for(alerting), ARTIFACTS / "e2e-monitor-streamlit.log") as url:
        yield url


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium_page(1400) as page:
        yield page


def test_lag_page_shows_the_active_alert_and_the_group_history(app_url, alerting, page) -> None:
    group = alerting.consumer_group
    page.goto(f"{app_url}/lag")
    alert = page.locator('[data-testid="stAlert"]').filter(has_text=RULE)
    expect(alert).to_be_visible(timeout=150_000)
    expect(alert).to_contain_text(f"group {group} has no members while lag is")
    expect(page.get_by_text("Time to catch up:")).to_be_visible(timeout=30_000)
    timeline = page.locator('[data-testid="stText"]').filter(has_text="joined")
    expect(timeline).to_be_visible(timeout=30_000)
    expect(timeline).to_contain_text("left")
    expect(timeline).to_contain_text("rebalance: 1 -> 0 members")

    page.goto(app_url + "/overview")
    expect(page.locator('[data-testid="stAlert"]').filter(has_text=RULE)).to_be_visible(
        timeout=150_000
    )
