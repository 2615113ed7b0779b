"""Field operations on the map and the overview, by Streamlit's AppTest against the real store:
silent technicians (grey, "last seen", listed oldest first), the fleet counts bar and its URL,
trails read from the check-in timeline, and the basemap setting (MAP_TILES_URL)."""

from __future__ import annotations

import json
import urllib.parse
from datetime import UTC, datetime, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from checkins.settings import Settings, get_settings
from dashboard import fleet
from dashboard import map_layers as ml
from stack.paths import ROOT
from stack.services import DASHBOARD_ENTRY
from tests.readmodels import checkin, write_checkins

APP = str(ROOT / DASHBOARD_ENTRY)


def use(monkeypatch, settings: Settings, **env: str) -> None:
    for name in ("mongodb_database", "checkin_topic", "checkin_dlq_topic", "consumer_group"):
        monkeypatch.setenv(name.upper(), str(getattr(settings, name)))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


@pytest.fixture
def board(isolated, mongo, monkeypatch):
    use(monkeypatch, isolated)
    yield mongo[isolated.mongodb_database]
    get_settings.cache_clear()


def open_page(page: str = "pages/map.py", url: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in (url or {}).items():
        at.query_params[key] = value
    at.run()
    if page != "pages/map.py":
        at.switch_page(f"../{page}").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def deck(at: AppTest) -> dict:
    [chart] = at.get("deck_gl_json_chart")
    return json.loads(chart.proto.json)


def layer(at: AppTest, layer_id: str) -> dict | None:
    return next((x for x in deck(at)["layers"] if x.get("id") == layer_id), None)


def points(at: AppTest) -> dict[str, dict]:
    return {p["staffCode"]: p for p in deck(at)["layers"][0]["data"]}


def html(at: AppTest) -> str:
    return "\n".join(h.proto.body for h in at.get("html"))


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    return "\n".join(parts + [w.value for w in at.warning] + [html(at)])


def seed_fleet(db, now: datetime) -> None:
    write_checkins(
        db,
        [
            checkin("quiet<b>", at=now - timedelta(minutes=40), status="working", lat=13.70),
            checkin("quieter", at=now - timedelta(minutes=90), status="onroute", lat=13.71),
            checkin("done_early", at=now - timedelta(minutes=90), status="completed", lat=13.72),
            checkin("busy", at=now - timedelta(minutes=2), status="working", lat=13.73),
            checkin("busy2", at=now - timedelta(minutes=3), status="onroute", lat=13.74),
        ],
    )


def test_a_silent_technician_is_grey_says_when_last_seen_and_is_listed_oldest_first(board):
    now = datetime.now(UTC)
    seed_fleet(board, now)
    at = open_page()
    shown = points(at)
    assert shown["quiet<b>"]["color"][:3] == list(ml.SILENT_COLOUR)
    assert shown["quiet<b>"]["silence"] == " · SILENT, last seen 40 min ago"
    assert shown["quieter"]["silent"] and not shown["busy"]["silent"]
    assert not shown["done_early"]["silent"]  # quiet after completing: between jobs
    assert shown["busy"]["color"][:3] == list(ml.KNOWN_COLOURS["working"])
    assert "{silence}" in json.loads(at.get("deck_gl_json_chart")[0].proto.tooltip)["text"]
    page = texts(at)
    assert "2 silent technicians" in page
    listed = html(at)
    assert listed.index("quieter") < listed.index("quiet&lt;b&gt;")  # oldest first, escaped
    assert "quiet<b>" not in listed and "last seen 40 min ago" in listed

    overview = open_page("pages/overview.py")
    metric = next(m for m in overview.metric if m.label.startswith("Silent technicians"))
    assert metric.value == "2"
    assert html(overview).index("quieter") < html(overview).index("quiet&lt;b&gt;")


def test_the_fleet_bar_counts_each_status_and_silent_and_a_click_filters_the_map(board):
    now = datetime.now(UTC)
    seed_fleet(board, now)
    at = open_page()
    bar = at.get("button_group")[0]
    labels = list(bar.proto.options)
    assert [o.content for o in labels] == ["completed 1", "onroute 2", "working 2", "silent 2"]

    bar.set_value(fleet.SILENT).run()
    assert set(points(at)) == {"quiet<b>", "quieter"}
    assert at.query_params["fleet"] == fleet.SILENT
    at.get("button_group")[0].set_value(None).run()
    assert len(points(at)) == 5 and "fleet" not in at.query_params
    reloaded = open_page(url={"fleet": "onroute"})  # a shared link keeps the choice
    assert set(points(reloaded)) == {"quieter", "busy2"}
    assert reloaded.query_params["fleet"] == "onroute"


def test_a_trail_draws_the_technicians_day_in_time_order_with_its_stops(board):
    now = datetime.now(UTC).replace(microsecond=0)
    day = [now - timedelta(minutes=m) for m in (50, 30, 10)]
    write_checkins(
        board,
        [
            checkin("walker", at=day[1], status="homecheckedin", lat=13.71, lon=100.51),
            checkin("walker", at=day[0], status="onroute", lat=13.70, lon=100.50, order="o-1"),
            checkin("walker", at=day[2], status="working", lat=13.72, lon=100.52),
            checkin("other", at=day[1], lat=13.9, lon=100.9),
        ],
    )
    at = open_page()
    at.multiselect(key="map_trail_pick").set_value(["walker"]).run()
    assert not at.exception
    [path] = layer(at, "trails")["data"]
    assert path["path"] == [[100.50, 13.70], [100.51, 13.71], [100.52, 13.72]]
    stops = layer(at, "trail-stops")["data"]
    assert [s["jobStatus"] for s in stops] == ["onroute", "homecheckedin", "working"]
    assert stops[0]["orderNo"] == "o-1" and stops[0]["staffCode"] == "walker"
    assert "walker 3 stops" in texts(at)


def test_map_tiles_url_points_the_basemap_at_that_server_and_says_when_it_cannot_load(
    isolated, mongo, monkeypatch
):
    template = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"  # nothing listens on port 9
    use(monkeypatch, isolated, MAP_TILES_URL=template)
    try:
        write_checkins(mongo[isolated.mongodb_database], [checkin("t", at=datetime.now(UTC))])
        at = open_page()
        style = deck(at)["mapStyle"]
        assert style.startswith("data:application/json,")
        document = json.loads(urllib.parse.unquote(style.split(",", 1)[1]))
        assert document["sources"]["tiles"]["tiles"] == [template]
        assert any("basemap could not load (127.0.0.1:9" in w.value for w in at.warning)
        assert layer(at, "grid")["data"] and layer(at, "scale-label")["data"][0]["text"] == "5 km"
    finally:
        get_settings.cache_clear()
