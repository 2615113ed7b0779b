"""The publish page in a real browser (Debian's Chromium via Playwright) against a streamlit
process and `python -m consumers` of its own, on this test's own topics and database: a check-in
typed into the form reaches Kafka, the consumers project it and it shows on the map; raw junk is
dead-lettered by the consumers and shows in the lag page's dead-letter table."""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

from checkins.settings import Settings
from tests.browser import ARTIFACTS, chromium_page, running_dashboard, settled
from tests.subprocesses import env_for, halt, spawn
from tests.waiting import wait_for

ACKED = re.compile(r"topic (\S+), partition (\d+), offset (\d+)")


@pytest.fixture
def app(isolated: Settings) -> Iterator[tuple[str, Settings]]:
    """The dashboard and the consumers on this test's topics and database."""
    env = env_for(isolated)
    consumers = spawn(
        [sys.executable, "-m", "consumers"], env, ARTIFACTS / "e2e-publish-consumers.log"
    )
    try:
        with running_dashboard(env, ARTIFACTS / "e2e-publish-streamlit.log") as url:
            yield url, isolated
    finally:
        halt(consumers)


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium_page(1000) as page:
        yield page


def test_a_check_in_published_from_the_form_appears_on_the_map(app, page, mongo):
    url, settings = app
    ARTIFACTS.mkdir(exist_ok=True)
    staff = f"e2e*pub*{uuid.uuid4().hex[:6]}"  # markdown must show it literally
    when = datetime.now(UTC).astimezone().strftime("%Y-%m-%dT%H:%M:%S%z")

    page.goto(f"{url}/publish")
    expect(page.get_by_role("heading", name="Publish demo events")).to_be_visible(timeout=60_000)
    settled(page)
    staff_box = page.get_by_label("Staff code (the message key)")
    expect(staff_box).to_have_value("cs_eng_ftth")  # prefilled with the seed's sample
    staff_box.fill(staff)
    page.get_by_label("Latitude").fill("13.7301234")
    page.get_by_label("Longitude").fill("100.5234567")
    page.get_by_label(re.compile("^Check-in date")).fill(when)
    page.get_by_role("button", name="Publish check-in").click()

    acked = page.get_by_text(f"Kafka acknowledged the check-in of {staff}")
    expect(acked).to_be_visible(timeout=30_000)
    topic, partition, offset = ACKED.search(acked.inner_text()).groups()
    assert topic == settings.checkin_topic
    page.screenshot(path=str(ARTIFACTS / "publish-form-acknowledged.png"), full_page=True)

    stored = mongo[settings.mongodb_database].homecheckins
    doc = wait_for(
        lambda: stored.find_one({"staffCode": staff}), 60, "the consumers to store the check-in"
    )
    assert (doc["source"]["partition"], doc["source"]["offset"]) == (int(partition), int(offset))

    page.get_by_role("button", name="See it on the map").click()
    expect(page.get_by_role("heading", name="Live operations map")).to_be_visible(timeout=60_000)
    assert parse_qs(urlparse(page.url).query)["staff"] == [staff]
    expect(page.get_by_text("1 check-ins on the map")).to_be_visible(timeout=60_000)
    expect(page.get_by_label("staffCode contains")).to_have_value(staff)
    expect(page.locator('[data-testid="stDeckGlJsonChart"] canvas').first).to_be_visible()
    settled(page)
    page.screenshot(path=str(ARTIFACTS / "publish-on-the-map.png"), full_page=True)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_bad_field_shows_its_error_in_the_browser(app, page):
    url, _ = app
    page.goto(f"{url}/publish")
    expect(page.get_by_label("Latitude")).to_be_visible(timeout=60_000)
    settled(page)
    page.get_by_label("Latitude").fill("123")
    page.get_by_role("button", name="Publish check-in").click()
    expect(page.get_by_text("Input should be less than or equal to 90")).to_be_visible(
        timeout=30_000
    )
    assert page.get_by_text("Kafka acknowledged").count() == 0
    page.screenshot(path=str(ARTIFACTS / "publish-form-error.png"), full_page=True)


def test_the_simulator_runs_with_a_progress_bar_and_stops_on_request(app, page):
    url, settings = app
    page.goto(f"{url}/publish")
    expect(page.get_by_role("tab", name="Simulator")).to_be_visible(timeout=60_000)
    settled(page)
    page.get_by_role("tab", name="Simulator").click()
    page.get_by_label("Technicians").fill("5")
    page.get_by_label("Check-ins per second").fill("20")
    page.get_by_label("Duration (s)").fill("600")
    page.get_by_role("button", name="Start the simulator").click()

    bar = page.locator('[data-testid="stProgress"]')
    expect(bar).to_contain_text("running: sent", timeout=30_000)
    expect(page.get_by_role("button", name="Start the simulator")).to_be_disabled()

    def sent() -> int:
        found = re.search(r"sent ([\d,]+) of", bar.inner_text())
        return int(found.group(1).replace(",", "")) if found else 0

    first = sent()
    wait_for(lambda: sent() > first, 30, "the progress bar to move on its own")
    page.screenshot(path=str(ARTIFACTS / "publish-simulator-running.png"), full_page=True)
    page.get_by_role("button", name="Stop the simulator").click()
    expect(bar).to_contain_text("stopped: sent", timeout=30_000)
    expect(page.get_by_role("button", name="Start the simulator")).to_be_enabled()
    assert page.locator('[data-testid="stException"]').count() == 0


def test_raw_junk_ends_in_the_dead_letter_table_of_the_lag_page(app, page):
    url, settings = app
    marker = uuid.uuid4().hex[:10]
    junk = f'{{"A":"B","e2e":"{marker}"}}'

    page.goto(f"{url}/publish")
    expect(page.get_by_role("tab", name="Raw JSON")).to_be_visible(timeout=60_000)
    settled(page)
    page.get_by_role("tab", name="Raw JSON").click()
    page.get_by_label("Raw message value").fill(junk)
    page.get_by_role("button", name="Send raw bytes").click()
    expect(page.get_by_text(f"Kafka acknowledged {len(junk)} raw bytes")).to_be_visible(
        timeout=30_000
    )

    page.goto(f"{url}/lag")
    heading = page.get_by_text(f"Dead letters ({settings.checkin_dlq_topic})")
    # The dead-letter table is the page's last dataframe; a grid draws its cells (and their
    # accessible text) only once scrolled into view.
    tables = page.locator('[data-testid="stDataFrame"]')

    def shown() -> bool:
        page.reload()
        settled(page)
        heading.scroll_into_view_if_needed()
        if not tables.count():
            return False
        tables.last.scroll_into_view_if_needed()
        try:  # the grid fills in its accessible text a moment after it is drawn
            expect(tables.last).to_contain_text(marker, timeout=5_000)
        except AssertionError:
            return False
        return True

    wait_for(shown, 90, "the junk in the lag page's dead-letter table", interval=1)
    text = tables.last.text_content()
    assert "no check-in at payload.data" in text  # the consumers' reason, from the headers
    assert f"{settings.checkin_topic}[" in text  # where it came from
    expect(heading).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "publish-junk-in-dlq.png"))
