"""Live operations map: where technicians are, refreshed in place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st
from pymongo.errors import PyMongoError

from checkins.event import zone
from dashboard import clients
from dashboard import map_layers as ml
from dashboard.filters import (
    DATE_RANGE,
    WINDOWS,
    Filters,
    from_query_params,
    mongo_filter,
    point_predicate,
    time_bounds,
    to_query_params,
    window_bounds,
)
from dashboard.formatting import local_time, markdown_literal, store_problem
from dashboard.page_state import remember, remembered, seed_widget
from readmodels import orders, technicians, timeline

INTERVALS = {"2 s": 2, "5 s": 5, "10 s": 10, "30 s": 30, "60 s": 60}
settings = clients.settings()
tz = settings.checkin_timezone
db = clients.database(settings)

st.title("Live operations map")

# Filters: remembered across reruns, page switches and reloads (URL).
saved: Filters = remembered("map_filters", from_query_params)
saved_layer = remembered("map_layer", lambda p: (p.get("layer") or [ml.LATEST])[0])
saved_layer = saved_layer if saved_layer in ml.LAYER_CHOICES else ml.LATEST
for key, value in {
    "map_window": saved.window,
    "map_status": list(saved.statuses),
    "map_staff": saved.staff,
    "map_layer_choice": saved_layer,
    "map_interval": "5 s",
    **st.session_state.get("map_live", {}),  # interval, pause, replay: kept across pages
}.items():
    seed_widget(key, value)

try:
    status_options = sorted(set(technicians.known_statuses(db)) | set(saved.statuses))
except PyMongoError:
    status_options = sorted(saved.statuses)

with st.sidebar:
    st.header("Map filters")
    window = st.selectbox("Time window", [*WINDOWS, DATE_RANGE], key="map_window")
    days = ()
    if window == DATE_RANGE:
        today = datetime.now(zone(tz)).date()  # the days are local days
        chosen = (today - timedelta(days=1), today)
        if saved.start_day:
            chosen = (saved.start_day, saved.end_day or saved.start_day)
        days = st.date_input("Days (local time)", value=chosen, max_value=today)
    statuses = st.multiselect("jobStatus", status_options, key="map_status")
    staff = st.text_input("staffCode contains", key="map_staff", max_chars=128)
    layer = st.radio("Layer", ml.LAYER_CHOICES, key="map_layer_choice")
    st.header("Live")
    interval = st.selectbox("Refresh every", list(INTERVALS), key="map_interval")
    paused = st.toggle("Pause", key="map_paused")
    replay = st.toggle("Replay", key="map_replay", help="A time slider over the window")

days = tuple(days) if isinstance(days, (tuple, list)) else (days,)
filters = Filters(
    window=window if window != DATE_RANGE or days else saved.window,
    start_day=days[0] if days else None,
    end_day=days[1] if len(days) > 1 else None,
    statuses=tuple(statuses),
    staff=staff,
)
remember("map_filters", filters, {**to_query_params(filters), "layer": layer})
st.session_state["map_layer"] = layer
st.session_state["map_live"] = {
    "map_interval": interval,
    "map_paused": paused,
    "map_replay": replay,
}


def replay_moment(since: datetime, until: datetime) -> datetime:
    """The replay slider (with play): a moment between since and until, in minutes."""
    step = ml.replay_step(since, until)
    if st.session_state.get("replay_playing") and "replay_at" in st.session_state:
        nxt = st.session_state.replay_at + step
        st.session_state.replay_at = since if nxt > until else nxt
    current = st.session_state.get("replay_at")
    if current is None or not since <= current <= until:
        st.session_state.replay_at = until
    return st.slider(
        "Replay: check-ins up to",
        min_value=since,
        max_value=until,
        step=step,
        key="replay_at",
        format="YYYY-MM-DD HH:mm",
    )


def live_map() -> None:
    now = datetime.now(UTC)
    since, until = time_bounds(filters, now, tz)
    try:
        if layer == ml.LATEST and not replay:
            found, capped = technicians.latest_positions(db, mongo_filter(filters, now, tz))
        else:  # every check-in in the window: the timeline read model, not a homecheckins scan
            start, end = window_bounds(filters, now, tz)
            found, capped = timeline.window_points(db, start, end, point_predicate(filters))
    except PyMongoError as exc:
        st.error(f"{store_problem(exc)}; the map retries on every refresh.")
        return
    rows = ml.map_rows(found, now, tz)
    if replay:
        play_col, _ = st.columns([1, 5])
        play_col.toggle("Play", key="replay_playing")
        # Whole minutes, so the slider's range stays put between refreshes.
        end = min(until, now).replace(second=0, microsecond=0) + timedelta(minutes=1)
        moment = replay_moment(since.replace(second=0, microsecond=0), end)
        rows = ml.up_to(rows, moment)
        if layer == ml.LATEST:
            rows = ml.latest_per_staff(rows)

    signature = (filters, layer)
    if st.session_state.get("map_view_for") != signature or not st.session_state.get(
        "map_view_has_points"
    ):
        # Only a filter change (or the first points) moves the view: refreshes keep pan/zoom.
        st.session_state.map_view = ml.view_for(rows)
        st.session_state.map_view_for = signature
        st.session_state.map_view_has_points = bool(rows)

    marks = st.session_state.get("map_marks")
    arrived = ml.arrivals(marks[1] if marks and marks[0] == signature else None, found)
    st.session_state.map_marks = (signature, ml.arrival_marks(found))
    what = "technicians" if layer == ml.LATEST else "check-ins"
    st.markdown(
        f"**{len(rows):,} {what} on the map** · last updated "
        f"{local_time(now, tz, '%H:%M:%S')} ({tz}) · "
        f"{arrived:,} new check-ins here since the previous refresh"
    )
    if capped:
        st.warning(
            f"Showing only the newest {len(found):,} matching {what}: narrow the time window "
            "or the filters to see the rest."
        )
    # st.html, not Markdown: the escaped statuses must not be read as Markdown either.
    st.html(ml.legend_html(ml.legend(r["jobStatus"] for r in rows)))

    map_col, detail_col = st.columns([3, 1])
    with map_col:
        deck = ml.deck(ml.LayerSpec(layer, rows), st.session_state.map_view)
        event = st.pydeck_chart(
            deck, on_select="rerun", selection_mode="single-object", key="live_map", height=560
        )
    picked = [o for objs in (event.selection.objects or {}).values() for o in objs]
    if picked and picked[0].get("staffCode"):
        st.session_state.map_picked = picked[0]["staffCode"]
    with detail_col:
        show_technician(st.session_state.get("map_picked"))


def show_technician(staff_code: str | None) -> None:
    if not staff_code:
        st.caption("Click a technician on the map to see their recent check-ins and orders.")
        return
    st.subheader(markdown_literal(staff_code))
    try:
        recent = technicians.recent_checkins_of(db, staff_code, limit=10)
        their_orders = orders.orders_of(db, staff_code, limit=10)
    except PyMongoError as exc:
        st.error(store_problem(exc))
        return
    st.caption("Recent check-ins")
    st.dataframe(
        [
            {
                "time": local_time(r.get("checkinDate"), tz, "%m-%d %H:%M"),
                "status": r.get("jobStatus"),
                "order": r.get("orderNo"),
            }
            for r in recent
        ],
        hide_index=True,
    )
    st.caption("Orders")
    st.dataframe(
        [{"order": o.get("orderNo"), "status": o.get("jobStatus")} for o in their_orders],
        hide_index=True,
    )


playing = replay and st.session_state.get("replay_playing")
run_every = None if paused else (1 if playing else INTERVALS[interval])
st.fragment(run_every=run_every)(live_map)()
if paused:
    st.caption("Live refresh paused.")
