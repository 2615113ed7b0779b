import json
from datetime import UTC, datetime, timedelta

from dashboard import map_layers as ml

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def row(staff="s1", status="homecheckedin", minutes_ago=3, lat=13.78, lon=100.55, order="o1"):
    return {
        "staffCode": staff,
        "jobStatus": status,
        "orderNo": order,
        "internetNo": "8850049302",
        "checkinLatitude": lat,
        "checkinLongitude": lon,
        "checkinDate": NOW - timedelta(minutes=minutes_ago),
    }


def test_map_rows_hold_position_colour_and_readable_tooltip_text():
    [r] = ml.map_rows([row()], NOW, "Asia/Bangkok")
    assert r["position"] == [100.55, 13.78]
    assert r["color"][:3] == list(ml.KNOWN_COLOURS["homecheckedin"])
    assert r["time"] == "2026-03-01 18:57:00"  # Bangkok local time
    assert r["age"] == "3 min ago"


def test_the_tooltip_is_plain_text_never_html():
    evil = '<img src=x onerror="alert(1)">&'
    [r] = ml.map_rows([row(staff=evil, order=evil)], NOW, "UTC")
    assert r["staffCode"] == r["orderNo"] == evil  # shown as typed (innerText, not innerHTML)
    tooltip = ml.deck(ml.LayerSpec(ml.LATEST, [r]), ml.view_for([r]))._tooltip
    assert "html" not in tooltip
    # deck.gl fills {field} from the hovered row: the user's text comes out as typed.
    shown = tooltip["text"].format(**r)
    assert shown.startswith(f"{evil} · homecheckedin\norder {evil}")


def test_unknown_statuses_get_a_colour_of_their_own_that_the_legend_shows():
    rows = ml.map_rows([row(staff="a", status="weird"), row(staff="b", status="weird")], NOW, "UTC")
    colour = tuple(rows[0]["color"][:3])
    assert tuple(rows[1]["color"][:3]) == colour  # every "weird" dot alike
    assert colour not in ml.KNOWN_COLOURS.values()  # never mistaken for a known status
    entries = dict(ml.legend(["weird", "onroute", "onroute"]))
    assert list(entries) == ["onroute", "weird"]
    assert entries["weird"] == "#{:02x}{:02x}{:02x}".format(*colour)  # the chip matches the dots
    assert "&lt;b&gt;" in ml.legend_html(ml.legend(["<b>"]))


def test_replay_keeps_rows_up_to_the_moment_and_latest_per_staff():
    rows = ml.map_rows(
        [row("a", minutes_ago=30, lat=1), row("a", minutes_ago=10, lat=2), row("b", minutes_ago=5)],
        NOW,
        "UTC",
    )
    early = ml.up_to(rows, NOW - timedelta(minutes=20))
    assert [r["staffCode"] for r in early] == ["a"]
    latest = ml.latest_per_staff(ml.up_to(rows, NOW - timedelta(minutes=7)))
    assert [(r["staffCode"], r["position"][1]) for r in latest] == [("a", 2.0)]


def test_view_centres_on_the_median_at_city_zoom():
    rows = ml.map_rows([row(lat=13.7), row(lat=13.8), row(lat=60.0, lon=10.0)], NOW, "UTC")
    view = ml.view_for(rows)
    assert view["latitude"] == 13.8 and view["longitude"] == 100.55
    assert view["zoom"] == ml.CITY_ZOOM
    assert ml.view_for([])["latitude"] == ml.DEFAULT_CENTER[0]


def test_each_layer_choice_builds_its_deck_layer_with_a_carto_basemap():
    rows = ml.map_rows([row()], NOW, "UTC")
    kinds = {}
    for choice in ml.LAYER_CHOICES:
        spec = json.loads(ml.deck(ml.LayerSpec(choice, rows), ml.view_for(rows)).to_json())
        kinds[choice] = spec["layers"][0]["@@type"]
        assert spec["mapStyle"].startswith("https://basemaps.cartocdn.com/")
        assert len(spec["layers"][0]["data"]) == 1
    assert kinds == {
        ml.LATEST: "ScatterplotLayer",
        ml.ALL_CHECKINS: "ScatterplotLayer",
        ml.HEATMAP: "HeatmapLayer",
        ml.HEXAGON: "HexagonLayer",
    }


def test_replay_steps_are_whole_minutes_about_300_per_window():
    assert ml.replay_step(NOW - timedelta(minutes=15), NOW) == timedelta(minutes=1)
    assert ml.replay_step(NOW - timedelta(days=7), NOW) == timedelta(minutes=34)


def test_arrivals_count_new_checkins_from_the_rows_the_map_read():
    techs = [
        {"staffCode": "a", "checkinCount": 3},
        {"staffCode": "b", "checkinCount": 1},
    ]
    marks = ml.arrival_marks(techs)
    assert ml.arrivals(None, techs) == 0  # first refresh: nothing to compare with
    later = [
        {"staffCode": "a", "checkinCount": 5},
        *techs[1:],
        {"staffCode": "c", "checkinCount": 9},
    ]
    assert ml.arrivals(marks, later) == 2 + 0 + 1  # a: two more; c: new on the map

    events = [{"staffCode": "a", "storedAt": NOW - timedelta(seconds=s)} for s in (30, 20)]
    marks = ml.arrival_marks(events)
    newer = [{"staffCode": "a", "storedAt": NOW - timedelta(seconds=s)} for s in (30, 20, 5, 1)]
    assert ml.arrivals(marks, newer) == 2


def test_every_simulator_status_has_a_fixed_colour():
    from dashboard.map_layers import KNOWN_COLOURS
    from simulator.model import LIFECYCLE

    assert set(LIFECYCLE) <= set(KNOWN_COLOURS)
