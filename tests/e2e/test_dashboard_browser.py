"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against a
streamlit process of its own (free port, its own database and topics). Check-ins go through
Kafka with the real producer and `python -m consumers` projects them into the read models."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from pymongo import MongoClient

from checkins.event import CheckIn
from checkins.producer import CheckInProducer
from checkins.settings import Settings
from tests.browser import ARTIFACTS, chromium_page, running_dashboard, settled
from tests.subprocesses import env_for, halt, spawn
from tests.waiting import wait_for

TECHNICIANS = 5


@pytest.fixture
def published(isolated: Settings, mongo: MongoClient) -> Iterator[Settings]:
    """TECHNICIANS check-ins published to Kafka and projected by the consumers."""
    now = datetime.now(UTC)
    checkins = [
        {
            "internetNo": f"88500493{i:02d}",
            "orderNo": f"5960915_{i}",
            "staffCode": f"e2e_tech_{i}",
            "jobStatus": ["onroute", "homecheckedin"][i % 2],
            "checkinLatitude": 13.75 + i * 0.01,
            "checkinLongitude": 100.50 + i * 0.01,
            "checkinDate": (now - timedelta(minutes=i)).isoformat(),
        }
        for i in range(TECHNICIANS)
    ]
    producer = CheckInProducer(isolated)
    for data in checkins:
        producer.publish(CheckIn.model_validate(data))
    db = mongo[isolated.mongodb_database]
    log = ARTIFACTS / "e2e-consumers.log"
    consumers = spawn([sys.executable, "-m", "consumers"], env_for(isolated), log)
    try:
        wait_for(
            lambda: db.technicians.count_documents({}) == TECHNICIANS,
            60,
            "the technicians read model to hold the published check-ins",
        )
        yield isolated
    finally:
        halt(consumers)


@pytest.fixture
def app_url(published: Settings) -> Iterator[str]:
    with running_dashboard(env_for(published), ARTIFACTS / "e2e-streamlit.log") as url:
        yield url


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium_page(950) as page:
        yield page


def metric_value(page: Page, label: str):
    metric = page.locator('[data-testid="stMetric"]').filter(has_text=label)
    return metric.locator('[data-testid="stMetricValue"]')


def test_map_shows_the_technicians_and_no_page_shows_an_exception(app_url, page):
    ARTIFACTS.mkdir(exist_ok=True)
    # A bookmark to a page, first request after a (re)start, still goes through the entry script.
    page.goto(f"{app_url}/events")
    expect(page.locator("h1", has_text="Event log")).to_be_visible(timeout=60_000)
    settled(page)
    nav = page.locator('[data-testid="stSidebarNav"]')
    expect(nav).to_contain_text("Live map")
    expect(nav).not_to_contain_text("streamlit app")

    page.goto(app_url)
    chart = page.locator('[data-testid="stDeckGlJsonChart"]')
    expect(chart.locator("canvas").first).to_be_visible(timeout=60_000)
    expect(page.get_by_text(f"{TECHNICIANS} technicians on the map")).to_be_visible(timeout=30_000)
    legend = page.locator(".checkin-legend")
    expect(legend).to_contain_text("onroute")
    expect(legend).to_contain_text("homecheckedin")
    settled(page)

    # The view is centred on the median technician (e2e_tech_2): hover it, then click it.
    canvas = chart.locator("canvas").first
    box = canvas.bounding_box()
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.move(*centre)
    tooltip = page.locator(".deck-tooltip")
    expect(tooltip).to_contain_text("e2e_tech_2", timeout=15_000)
    expect(tooltip).to_contain_text("order 5960915_2")
    page.mouse.click(*centre)
    expect(page.locator("h3", has_text="e2e_tech_2")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Recent check-ins")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "dashboard-map.png"), full_page=True)

    # Pan the map, let the live fragment refresh: the view must stay where the user put it.
    page.mouse.move(centre[0] - 300, centre[1] - 200)  # nothing there: no tooltip
    expect(tooltip).to_be_hidden(timeout=15_000)
    unpanned = chart.screenshot()
    page.mouse.move(centre[0] - 150, centre[1] + 120)
    page.mouse.down()
    page.mouse.move(centre[0] + 50, centre[1] + 120, steps=10)
    page.mouse.up()
    page.mouse.move(centre[0] - 300, centre[1] - 200)
    expect(tooltip).to_be_hidden(timeout=15_000)
    panned = chart.screenshot()
    assert panned != unpanned, "the drag did not move the map"
    status = page.get_by_text("last updated")
    before = status.inner_text()
    expect(status).not_to_have_text(before, timeout=30_000)  # the live fragment refreshed
    settled(page)
    assert chart.screenshot() == panned, "the refresh moved the map back"
    page.screenshot(path=str(ARTIFACTS / "dashboard-map-panned.png"), full_page=True)
    assert page.locator('[data-testid="stException"]').count() == 0

    links = page.locator('[data-testid="stSidebarNav"] a')
    expect(links.first).to_be_visible()
    targets = [
        (links.nth(i).inner_text().strip().splitlines()[-1], links.nth(i).get_attribute("href"))
        for i in range(links.count())
    ]
    assert {"Live map", "Overview", "Event log"} <= {title for title, _ in targets}
    for title, href in targets:
        page.goto(href if href.startswith("http") else app_url + href)
        expect(page.locator("h1").first).to_be_visible(timeout=60_000)
        settled(page)
        if title == "Overview":  # the consumers stored all and caught up (lag 0, refreshed live)
            expect(metric_value(page, "Events stored")).to_have_text(str(TECHNICIANS))
            expect(metric_value(page, "Consumer lag")).to_have_text("0", timeout=30_000)
            expect(metric_value(page, "MongoDB")).to_have_text("reachable")
        if title == "Event log":
            expect(page.get_by_text(f"Rows 1–{TECHNICIANS}, newest first")).to_be_visible()
        name = "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")
        page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)
        errors = page.locator('[data-testid="stException"]')
        assert errors.count() == 0, f"{title}: {errors.first.inner_text()}"

    # Every check-in in the window, from the check-in timeline the consumers keep (by URL).
    page.goto(f"{app_url}/?layer=All+check-ins+in+the+window&window=1+hour")
    expect(page.get_by_text(f"{TECHNICIANS} check-ins on the map")).to_be_visible(timeout=60_000)
    settled(page)
    # The event log's search keeps the rows holding the text (one order here).
    page.goto(f"{app_url}/events")
    expect(page.get_by_text(f"Rows 1–{TECHNICIANS}, newest first")).to_be_visible(timeout=60_000)
    search = page.get_by_label("Search orderNo, internetNo or staffCode")
    search.fill("5960915_3")
    search.press("Enter")
    expect(page.get_by_text("Rows 1–1, newest first")).to_be_visible(timeout=30_000)
    settled(page)
    assert page.locator('[data-testid="stException"]').count() == 0
