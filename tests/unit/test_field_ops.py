"""Pure parts of field operations on the map: the silent rule, the fleet counts, trail
building and replay, and the basemap's style, probe and fallback grid."""

from __future__ import annotations

import json
import urllib.parse
from datetime import UTC, datetime, timedelta

import pytest

from dashboard import basemap, fleet, trails
from dashboard import map_layers as ml
from readmodels.technicians import is_silent, quiet_for, silent_oldest_first

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
AFTER = timedelta(minutes=30)


def tech(staff="s1", minutes_ago=0.0, status="working", lat=13.78, lon=100.55, order="o1"):
    return {
        "_id": f"{staff}-{minutes_ago}",
        "staffCode": staff,
        "jobStatus": status,
        "orderNo": order,
        "internetNo": "8850049302",
        "checkinLatitude": lat,
        "checkinLongitude": lon,
        "checkinDate": NOW - timedelta(minutes=minutes_ago),
    }


# -- silent ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quiet", "silent"),
    [
        (timedelta(0), False),
        (AFTER - timedelta(milliseconds=1), False),
        (AFTER, False),  # exactly the threshold: not yet
        (AFTER + timedelta(milliseconds=1), True),
        (timedelta(days=3), True),
    ],
)
def test_silent_only_beyond_the_threshold(quiet, silent):
    doc = {**tech(), "checkinDate": NOW - quiet}
    assert quiet_for(doc, NOW) == quiet
    assert is_silent(doc, NOW, AFTER) is silent


@pytest.mark.parametrize("status", ["completed", "Completed", "cancelled"])
def test_quiet_after_closing_the_order_is_not_silent(status):
    assert not is_silent(tech(minutes_ago=300, status=status), NOW, AFTER)


@pytest.mark.parametrize("status", ["assigned", "onroute", "on_the_way", "homecheckedin", "x"])
def test_any_open_order_can_go_silent(status):
    assert is_silent(tech(minutes_ago=31, status=status), NOW, AFTER)


def test_naive_bson_dates_are_utc():
    doc = {**tech(), "checkinDate": (NOW - timedelta(minutes=40)).replace(tzinfo=None)}
    assert is_silent(doc, NOW, AFTER)


def test_silent_ones_are_listed_the_longest_quiet_first():
    docs = [tech("a", 45), tech("b", 5), tech("c", 120), tech("d", 60, status="completed")]
    assert [d["staffCode"] for d in silent_oldest_first(docs, NOW, AFTER)] == ["c", "a"]


def test_a_silent_technician_is_grey_and_the_tooltip_says_when_it_was_last_seen():
    quiet, fresh = ml.map_rows([tech("a", 40), tech("b", 2)], NOW, "UTC", AFTER)
    assert quiet["color"][:3] == list(ml.SILENT_COLOUR) and quiet["silent"]
    assert quiet["silence"] == " · SILENT, last seen 40 min ago"
    assert fresh["silence"] == "" and fresh["color"][:3] == list(ml.KNOWN_COLOURS["working"])
    assert ml.SILENT_COLOUR not in ml.KNOWN_COLOURS.values()  # grey means silent only
    [checkin_row] = ml.map_rows([tech("a", 40)], NOW, "UTC")  # check-in layers: no rule
    assert not checkin_row["silent"] and checkin_row["silence"] == ""


# -- fleet ----------------------------------------------------------------------------------


def test_fleet_counts_per_status_then_silent_and_the_choice_filters():
    rows = ml.map_rows(
        [tech("a", 40), tech("b", 2), tech("c", 50, status="onroute"), tech("d", 1, "completed")],
        NOW,
        "UTC",
        AFTER,
    )
    counted = fleet.counts(rows)
    assert counted == {"completed": 1, "onroute": 1, "working": 2, "silent": 2}
    assert list(counted)[-1] == fleet.SILENT
    assert fleet.label("working", counted) == "working 2"
    assert [r["staffCode"] for r in fleet.keep(rows, fleet.SILENT)] == ["a", "c"]
    assert [r["staffCode"] for r in fleet.keep(rows, "working")] == ["a", "b"]
    assert len(fleet.keep(rows, None)) == 4
    assert fleet.choice_from_url({"fleet": ["silent"]}) == "silent"
    assert fleet.choice_from_url({}) is None


def test_the_silent_list_escapes_what_users_typed():
    entries = fleet.silent_list([tech("<script>x</script>", 40, order="o&1")], NOW, AFTER, "UTC")
    page = fleet.silent_list_html(entries)
    assert "<script>" not in page and "&lt;script&gt;" in page and "o&amp;1" in page
    assert "last seen 40 min ago" in page


# -- trails ---------------------------------------------------------------------------------


def test_a_trail_is_the_days_checkins_in_time_order_with_each_as_a_stop():
    points = [
        tech("a", 10, "working", lat=3.0),
        tech("b", 20, lat=9.0),
        tech("a", 50, "onroute", lat=1.0),
        tech("a", 30, "homecheckedin", lat=2.0),
        tech("a", 20, "homecheckedin", lat=2.0),  # still at the door: a stop, not a new bend
    ]
    [trail] = trails.build_trails(points, ["a"], NOW, "UTC")
    assert [s["jobStatus"] for s in trail.stops] == [
        "onroute",
        "homecheckedin",
        "homecheckedin",
        "working",
    ]
    assert trail.path == [[100.55, 1.0], [100.55, 2.0], [100.55, 3.0]]
    assert trail.stops[0]["time"] == "2026-12-01 11:10:00" and trail.stops[0]["orderNo"] == "o1"


def test_trails_keep_the_selection_order_and_skip_technicians_without_checkins():
    points = [tech("a", 10), tech("b", 20)]
    built = trails.build_trails(points, ["b", "nobody", "a", "b"], NOW, "UTC")
    assert [t.staff_code for t in built] == ["b", "a"]


def test_replay_cuts_every_trail_at_the_same_moment():
    points = [tech("a", 50), tech("a", 10, lat=2.0), tech("b", 30), tech("c", 5)]
    built = trails.build_trails(points, ["a", "b", "c"], NOW, "UTC")
    at = trails.up_to(built, NOW - timedelta(minutes=20))
    assert [(t.staff_code, len(t.stops)) for t in at] == [("a", 1), ("b", 1)]
    first, last = trails.span(built)
    assert last - first == 45 * 60
    assert trails.span([]) is None


def test_trail_layers_paths_unpickable_and_stops_with_the_tooltip_fields():
    [trail] = trails.build_trails([tech("a", 10), tech("a", 5, lat=13.8)], ["a"], NOW, "UTC")
    path, stops, heads = trails.layers([trail])
    assert path.type == "PathLayer" and not path.pickable
    assert stops.pickable and {"staffCode", "jobStatus", "orderNo", "time"} <= set(stops.data[0])
    assert heads.data == [trail.stops[-1]]
    assert trails.layers([]) == []


# -- basemap --------------------------------------------------------------------------------


def test_the_default_basemap_is_carto():
    base = basemap.basemap(None, (13.78, 100.55))
    assert base.style == basemap.CARTO_LIGHT == base.probe


def test_a_tile_template_becomes_a_raster_style_and_a_probe_of_the_tile_under_the_centre():
    template = "http://127.0.0.1:8080/osm/{z}/{x}/{y}.png"
    base = basemap.basemap(template, (13.78, 100.55))
    prefix, body = base.style.split(",", 1)
    assert prefix == "data:application/json"
    style = json.loads(urllib.parse.unquote(body))
    assert style["sources"]["tiles"] == {
        "type": "raster",
        "tiles": [template],
        "tileSize": 256,
        "maxzoom": 19,
    }
    assert base.probe == "http://127.0.0.1:8080/osm/11/1596/944.png"
    assert base.source == "127.0.0.1:8080"


@pytest.mark.parametrize(
    ("lat", "lon", "zoom", "xy"),
    [(0.0, 0.0, 1, (1, 1)), (85.1, -180.0, 3, (0, 0)), (-89.0, 179.999, 2, (3, 3))],
)
def test_tile_coordinates(lat, lon, zoom, xy):
    assert basemap.tile_xy(lat, lon, zoom) == xy


def test_an_unreachable_basemap_is_reported_as_not_loading():
    assert basemap.loads("http://127.0.0.1:9/11/1/1.png", timeout=1) is False
    assert basemap.loads("not a url") is False


def test_the_fallback_grid_is_one_km_squares_and_the_scale_five_km():
    from simulator.model import distance_m

    centre = (13.78, 100.55)
    lines = basemap.grid_lines(centre)
    verticals = sorted(ln["from"][0] for ln in lines if ln["from"][0] == ln["to"][0])
    assert distance_m(13.78, verticals[0], 13.78, verticals[1]) == pytest.approx(1000, rel=0.01)
    [bar], [label] = basemap.scale_bar(centre)
    (w, lat), (e, _) = bar["from"], bar["to"]
    assert distance_m(lat, w, lat, e) == pytest.approx(5000, rel=0.01)
    assert label["text"] == "5 km"
    assert [x.id for x in basemap.fallback_layers(centre)] == ["grid", "scale", "scale-label"]


# -- the publish page's place picker --------------------------------------------------------


def test_the_picker_covers_the_area_around_the_point_and_a_pick_gives_its_coordinates():
    from dashboard.publish import PICKER_LAYER, picked_place, picker_cells
    from simulator.model import distance_m

    cells = picker_cells(13.78, 100.55, spacing_m=50, each_side=2)
    assert len(cells) == 25 and [100.55, 13.78] in [c["position"] for c in cells]
    lons = sorted({c["position"][0] for c in cells})
    assert distance_m(13.78, lons[0], 13.78, lons[1]) == pytest.approx(50, rel=0.01)
    selection = {"indices": {PICKER_LAYER: [3]}, "objects": {PICKER_LAYER: [cells[3]]}}
    assert picked_place(selection) == (cells[3]["position"][1], cells[3]["position"][0])
    assert picked_place({"indices": {}, "objects": {}}) is None
    assert picked_place(None) is None
    assert picked_place({"objects": {"place": [{"position": [1, 2]}]}}) is None  # the marker
    assert picked_place({"objects": {PICKER_LAYER: [{"position": [500, 2]}]}}) is None
