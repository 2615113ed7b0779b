"""Every dashboard page, run by Streamlit's AppTest against the real store and broker, with
check-ins stored through the consumers' write path (tests/readmodels.py: `write_batch`), so the
technicians, orders and check-in timeline read models hold them as in production."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime, timedelta

import pytest
import streamlit as st
from confluent_kafka import Consumer, Producer, TopicPartition
from pymongo import MongoClient, monitoring
from pymongo.errors import ExecutionTimeout
from streamlit.testing.v1 import AppTest

from checkins.clients import kafka_config
from checkins.event import zone
from checkins.settings import Settings, get_settings
from dashboard import map_layers as ml
from dashboard.formatting import local_time
from readmodels import stats, store, technicians, timeline
from stack.paths import ROOT
from stack.services import DASHBOARD_ENTRY
from tests.readmodels import checkin, spread, write_checkins

APP = str(ROOT / DASHBOARD_ENTRY)
PAGES = ["pages/map.py", "pages/overview.py", "pages/events.py"]


def use(monkeypatch, settings: Settings) -> None:
    """Point the dashboard (which reads get_settings()) at these settings."""
    for name in ("mongodb_database", "checkin_topic", "checkin_dlq_topic", "consumer_group"):
        monkeypatch.setenv(name.upper(), str(getattr(settings, name)))
    get_settings.cache_clear()


@pytest.fixture
def board(isolated, mongo, monkeypatch):
    use(monkeypatch, isolated)
    yield isolated, mongo[isolated.mongodb_database]
    get_settings.cache_clear()


def open_page(page: str = "pages/map.py") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    if page != "pages/map.py":
        at.switch_page(f"../{page}").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def deck(at: AppTest) -> dict:
    [chart] = at.get("deck_gl_json_chart")
    return json.loads(chart.proto.json)


def points(at: AppTest) -> list[dict]:
    return deck(at)["layers"][0]["data"]


class CommandLog(monitoring.CommandListener):
    """The `maxTimeMS` of each find/aggregate/count command a client sent."""

    def __init__(self) -> None:
        self.limits: dict[str, object] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in ("find", "aggregate", "count"):
            self.limits[event.command_name] = event.command.get("maxTimeMS")

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [h.proto.body for h in at.get("html")]
    parts += [w.value for w in at.warning] + [e.value for e in at.error]
    return "\n".join(parts)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_an_empty_store(board, page):
    at = open_page(page)
    if page == "pages/map.py":
        assert points(at) == []
        assert "0 technicians on the map" in text(at)


def test_every_page_shows_the_stored_checkins(board):
    _, db = board
    write_checkins(db, spread(12, now=datetime.now(UTC)))
    at = open_page("pages/map.py")
    assert len(points(at)) == 12 and "12 technicians on the map" in text(at)
    at = open_page("pages/overview.py")
    assert {m.label: m.value for m in at.metric}["Events stored"] == "12"
    at = open_page("pages/events.py")
    assert len(at.dataframe[0].value) == 12


def test_map_shows_each_technicians_latest_position_with_escaped_tooltips(board):
    _, db = board
    now = datetime.now(UTC)
    write_checkins(
        db,
        [
            checkin("alice", at=now - timedelta(minutes=30), lat=13.70, lon=100.50),
            checkin(
                "alice", at=now - timedelta(minutes=2), lat=13.75, lon=100.55, status="onroute"
            ),
            checkin("<b>bob</b>", at=now - timedelta(minutes=5), lat=13.80, lon=100.60),
        ],
    )
    at = open_page()
    data = {p["staffCode"]: p for p in points(at)}
    assert set(data) == {"alice", "<b>bob</b>"}
    assert data["alice"]["position"] == [100.55, 13.75]
    assert data["alice"]["jobStatus"] == "onroute"
    assert data["alice"]["age"] == "2 min ago"
    [chart] = at.get("deck_gl_json_chart")
    assert json.loads(chart.proto.tooltip) == {
        "text": ml.TOOLTIP_TEXT,
        "style": {"fontSize": "12px"},
    }
    assert data["<b>bob</b>"]["staffCode"] == "<b>bob</b>"  # a text tooltip shows it as typed
    spec = deck(at)
    assert spec["layers"][0]["@@type"] == "ScatterplotLayer"
    assert spec["initialViewState"]["zoom"] == ml.CITY_ZOOM
    assert "2 technicians on the map" in text(at)
    assert "onroute" in text(at) and "homecheckedin" in text(at)  # the legend


def test_filters_change_what_the_map_layer_holds(board):
    _, db = board
    now = datetime.now(UTC)
    write_checkins(db, spread(9, now=now, minutes_apart=5))  # tech000 .. tech008, 0..40 min ago
    at = open_page()
    assert len(points(at)) == 9

    at.sidebar.multiselect(key="map_status").set_value(["onroute"]).run()
    assert {p["jobStatus"] for p in points(at)} == {"onroute"}
    assert len(points(at)) == 3

    at.sidebar.multiselect(key="map_status").set_value([]).run()
    at.sidebar.text_input(key="map_staff").set_value("ECH00").run()  # case-insensitive contains
    assert len(points(at)) == 9
    at.sidebar.text_input(key="map_staff").set_value("tech00.").run()  # a literal dot
    assert points(at) == []
    at.sidebar.text_input(key="map_staff").set_value("").run()

    at.sidebar.selectbox(key="map_window").set_value("15 min").run()
    assert sorted(p["staffCode"] for p in points(at)) == ["tech000", "tech001", "tech002"]
    assert not at.exception


def test_layer_choices_and_all_checkins_in_the_window(board):
    _, db = board
    now = datetime.now(UTC)
    write_checkins(
        db, [checkin("s1", at=now - timedelta(minutes=m), order=f"o{m}") for m in (1, 2, 3)]
    )
    at = open_page()
    assert len(points(at)) == 1  # latest positions: one technician
    at.sidebar.radio(key="map_layer_choice").set_value(ml.ALL_CHECKINS).run()
    assert len(points(at)) == 3
    for choice, kind in ((ml.HEATMAP, "HeatmapLayer"), (ml.HEXAGON, "HexagonLayer")):
        at.sidebar.radio(key="map_layer_choice").set_value(choice).run()
        assert deck(at)["layers"][0]["@@type"] == kind
        assert len(points(at)) == 3


def test_refresh_keeps_the_view_counts_arrivals_and_a_filter_change_moves_the_view(board):
    _, db = board
    now = datetime.now(UTC)
    write_checkins(db, [checkin("near", at=now - timedelta(minutes=1), lat=13.7, lon=100.5)])
    at = open_page()
    view = deck(at)["initialViewState"]
    write_checkins(
        db,
        [checkin(f"far{i}", at=now - timedelta(minutes=1), lat=18.8, lon=98.9) for i in range(3)],
    )
    at.run()  # what a refresh does
    assert len(points(at)) == 4
    assert deck(at)["initialViewState"] == view
    assert "3 new check-ins here since the previous refresh" in text(at)
    at.sidebar.text_input(key="map_staff").set_value("far").run()
    assert deck(at)["initialViewState"]["latitude"] == pytest.approx(18.8)


def test_the_page_says_when_it_capped_the_points(board, monkeypatch):
    _, db = board
    write_checkins(db, spread(8, now=datetime.now(UTC)))
    monkeypatch.setattr(technicians, "TECHNICIAN_CAP", 5)
    at = open_page()
    assert len(points(at)) == 5
    assert "Showing only the newest 5 matching technicians" in text(at)


def test_all_checkins_layer_caps_its_points_newest_first_and_says_so(board, monkeypatch):
    _, db = board
    now = datetime.now(UTC)
    write_checkins(
        db, [checkin("s1", at=now - timedelta(minutes=m), order=f"o{m}") for m in range(8)]
    )
    monkeypatch.setattr(timeline, "POINT_CAP", 5)
    at = open_page()
    at.sidebar.radio(key="map_layer_choice").set_value(ml.ALL_CHECKINS).run()
    assert sorted(p["orderNo"] for p in points(at)) == ["o0", "o1", "o2", "o3", "o4"]
    assert "Showing only the newest 5 matching check-ins" in text(at)
    at.sidebar.text_input(key="map_staff").set_value("nobody").run()
    assert points(at) == [] and "Showing only" not in text(at)


def test_all_checkins_layer_filters_each_checkin_by_status_staff_and_window(board):
    _, db = board
    now = datetime.now(UTC)
    write_checkins(
        db,
        [
            checkin("Alpha1", at=now - timedelta(minutes=50), status="onroute", order="a1"),
            checkin("Alpha1", at=now - timedelta(minutes=5), status="completed", order="a2"),
            checkin("beta2", at=now - timedelta(minutes=3), status="onroute", order="b1"),
            checkin("beta2", at=now - timedelta(hours=30), status="onroute", order="b0"),
        ],
    )
    at = open_page()
    at.sidebar.radio(key="map_layer_choice").set_value(ml.ALL_CHECKINS).run()
    assert sorted(p["orderNo"] for p in points(at)) == ["a1", "a2", "b1"]  # 24 hours
    at.sidebar.multiselect(key="map_status").set_value(["onroute"]).run()
    assert sorted(p["orderNo"] for p in points(at)) == ["a1", "b1"]
    at.sidebar.text_input(key="map_staff").set_value("ALPHA").run()  # case-insensitive contains
    assert [p["orderNo"] for p in points(at)] == ["a1"]
    at.sidebar.selectbox(key="map_window").set_value("15 min").run()
    assert points(at) == []
    at.sidebar.text_input(key="map_staff").set_value("").run()
    assert [p["orderNo"] for p in points(at)] == ["b1"]
    at.sidebar.selectbox(key="map_window").set_value("3 days").run()
    assert sorted(p["orderNo"] for p in points(at)) == ["a1", "b0", "b1"]
    assert "3 check-ins on the map" in text(at)
    assert not at.exception


def test_replay_shows_the_checkins_up_to_the_slider_moment(board):
    _, db = board
    now = datetime.now(UTC)
    write_checkins(
        db,
        [
            checkin("a", at=now - timedelta(minutes=50)),
            checkin("b", at=now - timedelta(minutes=10)),
        ],
    )
    at = open_page()
    at.sidebar.selectbox(key="map_window").set_value("1 hour").run()
    at.sidebar.toggle(key="map_replay").set_value(True).run()
    assert len(points(at)) == 2
    at.slider(key="replay_at").set_value(now - timedelta(minutes=30)).run()
    assert [p["staffCode"] for p in points(at)] == ["a"]


def test_overview_shows_the_figures_lag_and_dlq(board):
    settings, db = board
    now = datetime.now(UTC)
    events = spread(4, now=now, minutes_apart=2)  # 0, 2, 4, 6 min ago
    events.append(checkin("old", at=now - timedelta(hours=3), status="completed"))
    write_checkins(db, events)
    # The group has a position (offset 0) on every partition: lag counts from commits only,
    # as Kafka's own kafka-consumer-groups counts it.
    committer = Consumer(kafka_config(settings, **{"group.id": settings.consumer_group}))
    try:
        committer.commit(
            offsets=[
                TopicPartition(settings.checkin_topic, p, 0)
                for p in range(settings.checkin_partitions)
            ],
            asynchronous=False,
        )
    finally:
        committer.close()
    producer = Producer(kafka_config(settings))
    for i in range(3):
        producer.produce(settings.checkin_topic, value=b'{"A":"B"}', key=str(i).encode())
    producer.produce(settings.checkin_dlq_topic, value=b"junk")
    assert producer.flush(15) == 0

    at = open_page("pages/overview.py")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Events stored"] == "5"
    assert metrics["Check-ins, last 5 min"] == "3"
    assert metrics["Active technicians (15 min)"] == "4"
    assert metrics["Kafka"] == "reachable" and metrics["MongoDB"] == "reachable"
    assert metrics[f"Consumer lag ({settings.consumer_group})"] == "3"
    assert metrics["Dead-letter queue"] == "1"
    statuses = at.dataframe[-2].value.set_index("jobStatus")["count"].to_dict()
    assert statuses == {"onroute": 2, "homecheckedin": 1, "completed": 2}


def test_event_log_searches_shows_a_timeline_and_offers_a_csv(board):
    _, db = board
    now = datetime.now(UTC)
    write_checkins(
        db,
        [
            checkin("s1", at=now - timedelta(minutes=9), order="5960915_1", status="onroute"),
            checkin("s1", at=now - timedelta(minutes=5), order="5960915_1"),
            checkin("s2", at=now - timedelta(minutes=3), order="777", internet="99"),
        ],
    )
    at = open_page("pages/events.py")
    assert len(at.dataframe[0].value) == 3
    at.text_input(key="ev_search").set_value("5960915").run()
    table = at.dataframe[0].value
    assert set(table["orderNo"]) == {"5960915_1"} and len(table) == 2
    at.text_input(key="ev_search").set_value("").run()
    at.text_input(key="ev_order").set_value("5960915_1").run()
    timeline = at.dataframe[1].value
    assert list(timeline["jobStatus"]) == ["onroute", "homecheckedin"]
    at.button(key="ev_csv").click().run()
    assert not at.exception
    assert at.get("download_button"), "the CSV download is offered"


def test_pages_say_what_is_unreachable_and_do_not_crash(monkeypatch, isolated):
    use(monkeypatch, isolated)
    monkeypatch.setenv("MONGODB_URI", "mongodb://127.0.0.1:9/")  # discard port: nothing listens
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
    get_settings.cache_clear()
    try:
        at = open_page("pages/overview.py")
        assert "Unreachable: Kafka and MongoDB" in text(at)
        assert {m.label: m.value for m in at.metric}["MongoDB"] == "UNREACHABLE"
        for page in ("pages/map.py", "pages/events.py"):
            at.switch_page(f"../{page}").run()
            assert not at.exception
            assert "MongoDB is unreachable" in text(at)
    finally:
        get_settings.cache_clear()
        st.cache_resource.clear()  # drop the clients that point at nothing


def test_filters_go_into_the_url_and_a_reload_from_that_url_restores_them(board):
    _, db = board
    write_checkins(db, spread(6, now=datetime.now(UTC), minutes_apart=5))
    at = open_page()
    at.sidebar.selectbox(key="map_window").set_value("15 min").run()
    at.sidebar.multiselect(key="map_status").set_value(["onroute"]).run()
    at.sidebar.radio(key="map_layer_choice").set_value(ml.ALL_CHECKINS).run()
    url = {k: at.query_params[k] for k in at.query_params}
    assert url["window"] in ("15 min", ["15 min"]) and "onroute" in str(url["status"])

    reloaded = AppTest.from_file(APP, default_timeout=60)  # a new browser session
    for key, value in url.items():
        reloaded.query_params[key] = value
    reloaded.run()
    assert reloaded.sidebar.selectbox(key="map_window").value == "15 min"
    assert reloaded.sidebar.multiselect(key="map_status").value == ["onroute"]
    assert reloaded.sidebar.radio(key="map_layer_choice").value == ml.ALL_CHECKINS
    assert [p["staffCode"] for p in points(reloaded)] == ["tech000"]


def test_filters_survive_a_visit_to_another_page(board):
    _, db = board
    write_checkins(db, spread(6, now=datetime.now(UTC)))
    at = open_page()
    at.sidebar.text_input(key="map_staff").set_value("tech00").run()
    at.switch_page("../pages/events.py").run()
    at.switch_page("../pages/map.py").run()
    assert at.sidebar.text_input(key="map_staff").value == "tech00"


def test_replay_play_advances_the_moment_each_refresh(board):
    _, db = board
    now = datetime.now(UTC)
    write_checkins(db, [checkin("a", at=now - timedelta(minutes=40))])
    at = open_page()
    at.sidebar.selectbox(key="map_window").set_value("1 hour").run()
    at.sidebar.toggle(key="map_replay").set_value(True).run()
    start = (now - timedelta(minutes=45)).replace(second=0, microsecond=0)
    at.slider(key="replay_at").set_value(start).run()
    assert points(at) == []
    at.toggle(key="replay_playing").set_value(True).run()
    moments = [at.slider(key="replay_at").value]
    for _ in range(6):
        at.run()  # what each 1 s tick of the playing fragment does
        moments.append(at.slider(key="replay_at").value)
    assert moments == sorted(moments) and moments[-1] > moments[0]
    assert moments[-1] - moments[0] == timedelta(minutes=6)  # one step (1 min) per tick
    assert [p["staffCode"] for p in points(at)] == ["a"]


def test_a_date_range_of_local_days_filters_the_map(board):
    _, db = board
    now = datetime.now(UTC)
    write_checkins(
        db,
        [
            checkin("today", at=now - timedelta(minutes=1)),
            checkin("old", at=now - timedelta(days=5)),
        ],
    )
    at = open_page()
    at.sidebar.selectbox(key="map_window").set_value("7 days").run()
    assert len(points(at)) == 2
    at.sidebar.selectbox(key="map_window").set_value("date range").run()
    [days] = at.sidebar.date_input
    assert [p["staffCode"] for p in points(at)] == ["today"]  # default: yesterday and today
    old_day = (now - timedelta(days=5)).astimezone(zone("Asia/Bangkok")).date()
    days.set_value((old_day, old_day)).run()
    assert [p["staffCode"] for p in points(at)] == ["old"]


def test_event_log_is_paged(board):
    _, db = board
    now = datetime.now(UTC)
    write_checkins(db, [checkin(f"p{i:03d}", at=now - timedelta(seconds=i)) for i in range(205)])
    at = open_page("pages/events.py")
    first = at.dataframe[0].value
    assert len(first) == 200 and first.loc[0, "staffCode"] == "p000"
    assert "more on the next page" in text(at)
    at.number_input(key="ev_page").set_value(2).run()
    second = at.dataframe[0].value
    assert list(second["staffCode"]) == ["p200", "p201", "p202", "p203", "p204"]
    assert "more on the next page" not in text(at)


def test_event_log_says_when_its_read_stopped_before_the_older_checkins(board, monkeypatch):
    _, db = board
    now = datetime.now(UTC)
    write_checkins(
        db,
        [checkin(f"n{i}", at=now - timedelta(minutes=1)) for i in range(4)]
        + [checkin("old-one", at=now - timedelta(hours=3), order="wanted")],
    )
    at = open_page("pages/events.py")
    at.text_input(key="ev_search").set_value("wanted").run()
    assert list(at.dataframe[0].value["staffCode"]) == ["old-one"]
    assert "were searched" not in text(at)
    # A read limit of 4 points: the newest hour is read whole, the older one is left.
    monkeypatch.setattr(
        timeline, "collect_points", functools.partial(timeline.collect_points, read_cap=4)
    )
    at.run()
    assert len(at.dataframe[0].value) == 0
    assert "Only the newest check-ins of the window were searched" in text(at)
    assert "more on the next page" not in text(at)
    at.text_input(key="ev_search").set_value("").run()
    at.button(key="ev_csv").click().run()
    assert "The CSV holds the newest 4 matching rows" in text(at)


def over_time_limit(*_args, **_kwargs):
    """What pymongo raises when the store stops a query at its `maxTimeMS`."""
    raise ExecutionTimeout("operation exceeded time limit", 50)


def test_dashboard_queries_carry_the_time_limit(board):
    """Every scan the dashboard may run is bounded on the server (maxTimeMS), so a slow store
    makes a page say "took too long" instead of piling up refreshes."""
    settings, db = board
    write_checkins(db, spread(3, now=datetime.now(UTC)))
    seen = CommandLog()
    client = MongoClient(settings.mongo_uri, tz_aware=True, event_listeners=[seen])
    try:
        watched = client[settings.mongodb_database]
        technicians.latest_positions(watched, {})
        technicians.active_since(watched, datetime.now(UTC) - timedelta(hours=1))
        technicians.status_breakdown(watched)
    finally:
        client.close()
    assert seen.limits == {
        "find": store.TIME_LIMIT_MS,
        "aggregate": store.TIME_LIMIT_MS,
    }


def test_a_query_over_its_time_limit_is_named_and_the_window_views_do_not_scan(board, monkeypatch):
    _, db = board
    now = datetime.now(UTC)
    write_checkins(db, [checkin(f"s{i}", at=now - timedelta(seconds=i)) for i in range(3000)])
    monkeypatch.setattr(technicians, "latest_positions", over_time_limit)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    assert "MongoDB took too long to answer (ExecutionTimeout)" in text(at)
    assert not at.get("deck_gl_json_chart")  # the error instead of a map
    # The check-ins in a window come from the timeline (lookups by _id): no limit to hit.
    at.sidebar.radio(key="map_layer_choice").set_value(ml.ALL_CHECKINS).run()
    assert len(points(at)) == 3000
    assert "took too long" not in text(at)
    at.switch_page("../pages/events.py").run()
    assert not at.exception
    assert list(at.dataframe[0].value["staffCode"][:3]) == ["s0", "s1", "s2"]
    assert "took too long" not in text(at)


def test_overview_counts_recent_checkins_from_the_timeline_when_a_scan_is_too_slow(
    board, monkeypatch
):
    _, db = board
    now = datetime.now(UTC)
    recent = [checkin(f"r{i}", at=now - timedelta(seconds=30)) for i in range(1000)]
    old = [checkin(f"o{i}", at=now - timedelta(hours=2)) for i in range(2000)]
    write_checkins(db, recent + old)
    monkeypatch.setattr(technicians, "active_since", over_time_limit)
    at = open_page("pages/overview.py")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Check-ins, last 5 min"] == "1,000"
    assert metrics["Events stored"] == "3,000"  # $collStats: no scan, no lock
    assert metrics["Active technicians (15 min)"] == "-"
    assert "MongoDB took too long to answer" in text(at)


def test_overview_shows_orders_by_status_as_of_the_samplers_last_recount(board):
    settings, db = board
    now = datetime.now(UTC)
    write_checkins(db, spread(5, now=now))  # orders: onroute 2, homecheckedin 2, completed 1
    at = open_page("pages/overview.py")
    assert at.dataframe[-1].value.set_index("jobStatus")["count"].to_dict() == {
        "onroute": 2,
        "homecheckedin": 2,
        "completed": 1,
    }
    assert "counted live just now" in text(at)  # no sampler: the live aggregate

    recount = stats.recount(db)  # what the lag sampler's thread does
    write_checkins(db, [checkin("late", at=now, status="cancelled", order="o-late")])
    at = open_page("pages/overview.py")
    shown = at.dataframe[-1].value.set_index("jobStatus")["count"].to_dict()
    assert shown == {"onroute": 2, "homecheckedin": 2, "completed": 1}  # as counted, not live
    assert f"as of {local_time(recount['at'], settings.checkin_timezone)}" in text(at)


def test_clicking_a_technician_shows_its_recent_checkins_and_orders(board):
    _, db = board
    now = datetime.now(UTC)
    write_checkins(
        db,
        [
            checkin("tech-a", at=now - timedelta(minutes=m), status=s, order=f"o{m // 2}")
            for m, s in enumerate(["completed", "onroute", "homecheckedin", "assigned"])
        ],
    )
    at = open_page()
    at.session_state["map_picked"] = "tech-a"  # what a click on its point sets
    at.run()
    assert not at.exception
    recent, orders = (d.value for d in at.dataframe[-2:])
    assert list(recent["status"]) == ["completed", "onroute", "homecheckedin", "assigned"]
    assert list(recent["order"]) == ["o0", "o0", "o1", "o1"]
    assert orders.to_dict("records") == [
        {"order": "o0", "status": "completed"},
        {"order": "o1", "status": "homecheckedin"},
    ]
