"""Field operations in a real browser (Debian's Chromium via Playwright) against a streamlit
process of its own, whose MAP_TILES_URL points at a loopback tile server of the test's own.
Check-ins are stored through the consumers' write path (tests/readmodels.py). One server and
one page for all of it: browser tests are slow on a small machine."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from checkins.settings import Settings
from tests.browser import ARTIFACTS, chromium_page, running_dashboard, settled
from tests.readmodels import checkin, write_checkins
from tests.subprocesses import env_for
from tests.tiles import TileServer, tile_server
from tests.waiting import wait_for


@pytest.fixture
def tiles() -> Iterator[TileServer]:
    with tile_server() as server:
        yield server


@pytest.fixture
def seeded(isolated: Settings, mongo) -> Settings:
    """Three technicians in a row, the silent one in the middle (the view's median centre),
    and a walker with a trail of three check-ins today."""
    now = datetime.now(UTC)
    write_checkins(
        mongo[isolated.mongodb_database],
        [
            checkin("e2e_west", at=now - timedelta(minutes=2), status="onroute", lon=100.50),
            checkin("e2e_silent", at=now - timedelta(minutes=40), status="working", lon=100.55),
            checkin("e2e_walker", at=now - timedelta(minutes=9), status="onroute", lon=100.56),
            checkin("e2e_walker", at=now - timedelta(minutes=6), lat=13.80, lon=100.58),
            checkin("e2e_walker", at=now - timedelta(minutes=3), status="working", lon=100.60),
        ],
    )
    return isolated


@pytest.fixture
def app_url(seeded: Settings, tiles: TileServer) -> Iterator[str]:
    env = {**env_for(seeded), "MAP_TILES_URL": tiles.template}
    with running_dashboard(env, ARTIFACTS / "e2e-fieldops-streamlit.log") as url:
        yield url


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium_page(1100) as page:
        yield page


def canvas_centre(page: Page):
    canvas = page.locator('[data-testid="stDeckGlJsonChart"] canvas').first
    box = canvas.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def pixel(page: Page, x: float, y: float) -> tuple[int, int, int]:
    shot = Image.open(io.BytesIO(page.screenshot(clip={"x": x, "y": y, "width": 1, "height": 1})))
    return shot.convert("RGB").getpixel((0, 0))


def test_silent_fleet_counts_trails_and_own_tiles_in_the_browser(app_url, page, tiles):
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{app_url}/?layer=Latest+positions&window=1+hour")
    chart = page.locator('[data-testid="stDeckGlJsonChart"]')
    expect(chart.locator("canvas").first).to_be_visible(timeout=60_000)
    expect(page.get_by_text("3 technicians on the map")).to_be_visible(timeout=30_000)
    page.get_by_label("Pause").check(force=True)  # the live refresh must not redraw mid-hover
    settled(page)

    # Tiles come from MAP_TILES_URL's server.
    wait_for(lambda: any(p.startswith("/tiles/") for p in tiles.requested), 30, "tile requests")

    # The silent technician: listed, grey, and "last seen" in the tooltip.
    expect(page.locator(".silent-list")).to_contain_text("e2e_silent", timeout=30_000)
    expect(page.locator(".silent-list")).to_contain_text("last seen 40 min ago")
    expect(page.get_by_text("1 silent technicians")).to_be_visible()
    expect(page.locator(".checkin-legend")).to_contain_text("silent")
    x, y = canvas_centre(page)
    page.mouse.move(x, y)
    tooltip = page.locator(".deck-tooltip")
    expect(tooltip).to_contain_text("e2e_silent", timeout=15_000)
    expect(tooltip).to_contain_text("SILENT, last seen 40 min ago")
    page.mouse.move(x + 5, y - 200)  # off the point: the tooltip goes, the point shows
    expect(tooltip).to_be_hidden(timeout=15_000)
    r, g, b = pixel(page, x, y)
    assert abs(r - g) < 12 and abs(g - b) < 12 and r < 200, (r, g, b)  # grey, not a status
    page.screenshot(path=str(ARTIFACTS / "fieldops-map-tiles.png"), full_page=True)

    # A fleet count filters the map and goes into the URL.
    page.get_by_role("radio", name="silent 1").click()
    expect(page.get_by_text("1 technicians on the map")).to_be_visible(timeout=30_000)
    wait_for(lambda: "fleet=silent" in page.url, 15, "fleet=silent in the URL")
    page.get_by_role("radio", name="silent 1").click()  # again: all of them
    expect(page.get_by_text("3 technicians on the map")).to_be_visible(timeout=30_000)
    settled(page)

    # A trail for a selected technician.
    before = chart.screenshot()
    picker = page.get_by_role("combobox", name="Trails: technicians")
    picker.click()
    page.get_by_role("option", name="e2e_walker").click()
    page.keyboard.press("Escape")
    expect(page.get_by_text("Trails: e2e_walker 3 stops")).to_be_visible(timeout=30_000)
    settled(page)
    assert chart.screenshot() != before, "the trail did not draw"
    page.screenshot(path=str(ARTIFACTS / "fieldops-trail.png"), full_page=True)
    assert page.locator('[data-testid="stException"]').count() == 0

    # The publish page: a click on the small map north-east of its point sets the coordinates.
    page.goto(f"{app_url}/publish")
    latitude = page.get_by_label("Latitude")
    longitude = page.get_by_label("Longitude")
    expect(latitude).to_have_value("13.7827811", timeout=60_000)
    settled(page)
    small_map = page.locator('[data-testid="stDeckGlJsonChart"] canvas').first
    expect(small_map).to_be_visible(timeout=30_000)
    box = small_map.bounding_box()
    target = (box["x"] + box["width"] / 2 + 60, box["y"] + box["height"] / 2 - 40)
    page.mouse.move(*target)  # a pointer hovers before it clicks: deck.gl picks on hover
    expect(page.locator(".deck-tooltip")).to_contain_text("Click to set", timeout=15_000)
    page.mouse.click(*target)
    expect(latitude).not_to_have_value("13.7827811", timeout=30_000)
    assert float(latitude.input_value()) > 13.7827811
    assert float(longitude.input_value()) > 100.5465937
