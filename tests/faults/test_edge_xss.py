"""Item 7: script in a staffCode (and jobStatus, orderNo, internetNo, a dead letter's value and
header) shows as text in a real browser and never runs.

The check-ins go the real way (CheckInProducer -> Kafka -> `python -m consumers` -> FerretDB);
the dashboard runs as `streamlit run` and Debian's Chromium opens it. Every payload sets
`window.__xss` and calls `alert()` if it runs, so the test checks that no dialog ever opened and
`window.__xss` stayed undefined, and that each payload is visible character for character: in
the map's tooltip (hovered), the legend, the technician details (clicked), the event log table,
the overview's table and the lag page's dead-letter table."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect

from checkins.event import SAMPLE, CheckIn
from checkins.producer import CheckInProducer
from checkins.settings import Settings
from stack.paths import ROOT
from tests.browser import chromium_page, running_dashboard, settled
from tests.faults.edge_support import child_env, end_offsets, running
from tests.integration.api_server import own_topics
from tests.waiting import wait_for

ARTIFACTS = ROOT / "test-artifacts"
STAFF = [
    "<img src=x onerror=\"window.__xss='img';alert(1)\">",
    "<script>window.__xss='script';alert(2)</script>",
    '"><svg onload="window.__xss=\'svg\';alert(3)">',
    "[click me](javascript:window.__xss='link';alert(4))",
    "javascript:window.__xss='js';alert(5)",
    "**bold** :red[red] ~~gone~~ `code` \\<i\\>",
]
STATUS = "<img src=x onerror=window.__xss=6>"  # jobStatus: 40 characters at most
ORDER = "<b onmouseover=window.__xss=7>ord</b>"
INTERNET = "<a href=javascript:alert(8)>net</a>"
DLQ_VALUE = "<img src=x onerror=\"window.__xss='dlq';alert(9)\"> not json"
DLQ_HEADER = "<script>window.__xss='header'</script>"


@pytest.fixture(scope="module")
def app(stack, mongo, tmp_path_factory) -> Iterator[tuple[str, Settings]]:
    logs = tmp_path_factory.mktemp("xss")
    with own_topics(stack) as settings:
        now = datetime.now(UTC)
        producer = CheckInProducer(settings)
        for i, staff in enumerate(STAFF):
            data = {
                **SAMPLE,
                "staffCode": staff,
                "jobStatus": STATUS if i == 0 else "onroute",
                "orderNo": ORDER if i == 0 else f"order_{i}",
                "internetNo": INTERNET if i == 0 else f"88500{i}",
                "checkinLatitude": 13.70 + i * 0.05,
                "checkinLongitude": 100.50 + i * 0.05,
                "checkinDate": (now - timedelta(minutes=i + 1)).isoformat(),
            }
            producer.publish(CheckIn.model_validate(data))
        producer._producer.produce(
            settings.checkin_topic,
            value=DLQ_VALUE.encode(),
            key=b"<b>key</b>",
            headers=[("__connect.errors.exception.message", DLQ_HEADER.encode())],
        )
        assert producer.flush(15) == 0
        db = mongo[settings.mongodb_database]
        env = child_env(settings)
        try:
            with running(["-m", "consumers"], env, logs / "consumers.log"):
                wait_for(
                    lambda: db.technicians.count_documents({}) == len(STAFF),
                    60,
                    "the consumers to store the check-ins",
                )
                wait_for(
                    lambda: sum(end_offsets(settings, settings.checkin_dlq_topic).values()) == 1,
                    60,
                    "the malicious raw message in the DLQ",
                )
                with running_dashboard(env, logs / "streamlit.log") as url:
                    yield url, settings
        finally:
            mongo.drop_database(settings.mongodb_database)


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium_page() as page:
        yield page


class Watch:
    """Records every dialog (and dismisses it) on a page."""

    def __init__(self, page: Page):
        self.page = page
        self.dialogs: list[str] = []
        page.on("dialog", self._dialog)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def nothing_ran(self, where: str) -> None:
        assert self.dialogs == [], f"{where}: dialogs {self.dialogs}"
        assert self.page.evaluate("typeof window.__xss") == "undefined", where
        # no element the payloads would have created
        for selector in ("img[src=x]", "svg[onload]", "b[onmouseover]", "a[href^=javascript]"):
            assert self.page.locator(selector).count() == 0, f"{where}: {selector}"


def open_map_of(page: Page, url: str, staff: str) -> None:
    query = urlencode({"window": "24 hours", "staff": staff})
    page.goto(f"{url}/?{query}")
    expect(page.get_by_text("1 technicians on the map")).to_be_visible(timeout=60_000)
    # Pause the live refresh: a refresh redraws the deck, and a loaded machine then lost the
    # hover before the tooltip showed.
    page.locator('[data-testid="stSidebar"]').get_by_text("Pause", exact=True).click()
    expect(page.get_by_text("Live refresh paused.")).to_be_visible(timeout=60_000)
    settled(page)


def centre_of(canvas) -> tuple[float, float]:
    box = canvas.bounding_box()
    return (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def hovered(page: Page, canvas, text: str) -> bool:
    """Hover the map's centre (where the view puts the technician); True once the tooltip shows
    `text`. The centre is measured each time: the canvas may still move while the page lays out."""
    centre = centre_of(canvas)
    page.mouse.move(centre[0] - 5, centre[1] - 5)  # a move makes deck.gl pick again
    page.mouse.move(*centre)
    tooltip = page.locator(".deck-tooltip")
    return tooltip.is_visible() and text in tooltip.inner_text()


def test_payloads_show_as_text_on_the_map_tooltip_legend_and_details(app, page):
    url, _ = app
    watch = Watch(page)
    for i, staff in enumerate(STAFF):
        open_map_of(page, url, staff)
        chart = page.locator('[data-testid="stDeckGlJsonChart"]')
        canvas = chart.locator("canvas").first
        expect(canvas).to_be_visible(timeout=60_000)
        tooltip = page.locator(".deck-tooltip")
        wait_for(
            partial(hovered, page, canvas, staff), 30, f"the tooltip of {staff!r}", interval=0.5
        )
        centre = centre_of(canvas)
        assert tooltip.locator("img, script, svg, a, b").count() == 0
        if i == 0:
            text = tooltip.inner_text()
            assert STATUS in text and ORDER in text and INTERNET in text, text
            expect(page.locator(".checkin-legend")).to_contain_text(STATUS)
            page.screenshot(path=str(ARTIFACTS / "xss-map-tooltip.png"), full_page=True)
        watch.nothing_ran(f"map tooltip of {staff!r}")

        page.mouse.click(*centre)
        heading = page.locator('[data-testid="stHeading"] h3').last
        expect(heading).to_have_text(staff, timeout=30_000)
        expect(page.get_by_text("Recent check-ins")).to_be_visible()
        settled(page)
        if i == 0:
            details = page.locator('[data-testid="stDataFrame"]', has_text=ORDER)
            expect(details.first).to_be_attached(timeout=30_000)
        watch.nothing_ran(f"technician details of {staff!r}")
    assert page.locator('[data-testid="stException"]').count() == 0


def test_payloads_show_as_text_in_the_event_log_overview_and_dead_letters(app, page):
    url, settings = app
    watch = Watch(page)

    page.goto(f"{url}/events")
    settled(page)
    table = page.locator('[data-testid="stDataFrame"]').first
    expect(table).to_be_attached(timeout=60_000)
    # The grid's DOM holds its first columns only (internetNo is checked in the tooltip).
    for text in [*STAFF, STATUS, ORDER]:
        expect(table).to_contain_text(text, timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "xss-event-log.png"), full_page=True)
    watch.nothing_ran("event log")

    page.goto(f"{url}/overview")
    settled(page)
    statuses = page.locator('[data-testid="stDataFrame"]', has_text="onroute").first
    expect(statuses).to_contain_text(STATUS, timeout=60_000)
    watch.nothing_ran("overview")

    page.goto(f"{url}/lag")
    expect(page.get_by_text(f"Dead letters ({settings.checkin_dlq_topic})")).to_be_visible(
        timeout=60_000
    )
    letters = page.locator('[data-testid="stDataFrame"]', has_text="not valid JSON")
    expect(letters.first).to_contain_text(DLQ_VALUE, timeout=60_000)
    # the forged reason header lost to the consumers' own (the last header of a name wins)
    expect(letters.first).not_to_contain_text(DLQ_HEADER)
    page.screenshot(path=str(ARTIFACTS / "xss-dead-letters.png"), full_page=True)
    watch.nothing_ran("lag page")
    assert page.locator('[data-testid="stException"]').count() == 0


def test_the_watch_sees_a_payload_that_does_run(page):
    """Control: were a payload inserted as HTML, the checks above would see it."""
    watch = Watch(page)
    page.set_content(f"<div>{STAFF[0]}</div>")
    wait_for(lambda: watch.dialogs, 10, "the control payload's alert")
    with pytest.raises(AssertionError):
        watch.nothing_ran("control")
