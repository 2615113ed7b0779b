"""Live operations map: where technicians are, refreshed in place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st
from pymongo.errors import PyMongoError

from checkins.event import zone
from dashboard import basemap, clients, fleet, trails
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
silent_after = settings.silent_after
silent_minutes = int(silent_after.total_seconds() // 60)

st.title("Live operations map")

# Filters: remembered across reruns, page switches and reloads (URL).
saved: Filters = remembered("map_filters", from_query_params)
saved_layer = remembered("map_layer", lambda p: (p.get("layer") or [ml.LATEST])[0])
saved_layer = saved_layer if saved_layer in ml.LAYER_CHOICES else ml.LATEST
remembered("map_fleet", fleet.choice_from_url)
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
fleet_url = {fleet.URL_KEY: st.session_state.map_fleet} if st.session_state.map_fleet else {}
remember("map_filters", filters, {**to_query_params(filters), "layer": layer, **fleet_url})
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


def _pick_fleet() -> None:
    """The counts bar's callback: the choice filters the map and goes into the URL."""
    choice = st.session_state.get("map_fleet_pick")
    st.session_state.map_fleet = choice
    if choice:
        st.query_params[fleet.URL_KEY] = choice
    elif fleet.URL_KEY in st.query_params:
        del st.query_params[fleet.URL_KEY]


def fleet_bar(rows: list[dict]) -> list[dict]:
    """Technicians per jobStatus and silent; clicking one shows only those (kept in the URL)."""
    counted = fleet.counts(rows)
    chosen = st.session_state.get("map_fleet")
    options = list(counted) if chosen in counted or not chosen else [*counted, chosen]
    if st.session_state.get("map_fleet_pick") != chosen:
        st.session_state.map_fleet_pick = chosen
    st.pills(
        "Fleet",
        options,
        format_func=lambda o: fleet.label(o, counted),
        key="map_fleet_pick",
        on_change=_pick_fleet,
        help=f"Click one to show only those technicians; silent = no check-in for over "
        f"{silent_minutes} min with the order not completed.",
    )
    return fleet.keep(rows, chosen)


def trail_day_bounds(day) -> tuple[datetime, datetime]:
    """[start, end] (UTC, inclusive) of a local day, for the timeline read model."""
    one_day = Filters(window=DATE_RANGE, start_day=day, end_day=day)
    return window_bounds(one_day, datetime.now(UTC), tz)


def trail_controls(on_map: list[str]) -> tuple[list[str], datetime, datetime]:
    chosen = st.session_state.get("map_trails", [])
    options = sorted(set(on_map) | set(chosen))
    seed_widget("map_trail_pick", list(chosen))
    pick_col, day_col = st.columns([3, 1])
    picked = pick_col.multiselect(
        "Trails: technicians",
        options,
        key="map_trail_pick",
        accept_new_options=True,
        placeholder="Choose technicians (or click one on the map)",
        help="Draws each one's path for the day, a stop per check-in; Replay plays them together.",
    )
    st.session_state.map_trails = list(picked)
    today = datetime.now(zone(tz)).date()
    day = day_col.date_input("Trail day", value=today, max_value=today, key="map_trail_day")
    start, end = trail_day_bounds(day)
    return list(picked), start, end


def live_map() -> None:
    now = datetime.now(UTC)
    since, until = time_bounds(filters, now, tz)
    latest = layer == ml.LATEST and not replay
    try:
        if latest:
            found, capped = technicians.latest_positions(db, mongo_filter(filters, now, tz))
        else:  # every check-in in the window: the timeline read model, not a homecheckins scan
            start, end = window_bounds(filters, now, tz)
            found, capped = timeline.window_points(db, start, end, point_predicate(filters))
    except PyMongoError as exc:
        st.error(f"{store_problem(exc)}; the map retries on every refresh.")
        return
    rows = ml.map_rows(found, now, tz, silent_after if latest else None)
    if latest:
        rows = fleet_bar(rows)
    trail_codes, trail_start, trail_end = trail_controls(sorted({r["staffCode"] for r in rows}))
    shown_trails: list[trails.Trail] = []
    if trail_codes:
        try:
            points, _ = timeline.technician_points(db, trail_codes, trail_start, trail_end)
        except PyMongoError as exc:
            st.error(f"{store_problem(exc)}; the trails retry on every refresh.")
            points = []
        shown_trails = trails.build_trails(points, trail_codes, now, tz)
    if replay:
        play_col, _ = st.columns([1, 5])
        play_col.toggle("Play", key="replay_playing")
        if shown_trails:  # replay the trails' day, all selected technicians together
            since, until = trail_start, trail_end
        # Whole minutes, so the slider's range stays put between refreshes.
        end = min(until, now).replace(second=0, microsecond=0) + timedelta(minutes=1)
        moment = replay_moment(since.replace(second=0, microsecond=0), end)
        rows = ml.up_to(rows, moment)
        if layer == ml.LATEST:
            rows = ml.latest_per_staff(rows)
        shown_trails = trails.up_to(shown_trails, moment)

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
    legend = ml.legend(r["jobStatus"] for r in rows if not r.get("silent"))
    st.html(ml.legend_html(legend + ml.silent_legend(rows)))

    if shown_trails:
        st.caption(
            "Trails: "
            + "; ".join(
                f"{markdown_literal(t.staff_code)} {len(t.stops)} stops" for t in shown_trails
            )
        )
    elif trail_codes:
        st.caption("No check-ins on the trail day for the chosen technicians.")

    view = st.session_state.map_view
    base = basemap.basemap(settings.map_tiles_url, (view["latitude"], view["longitude"]))
    backdrop = []
    if not basemap_loads(base.probe):
        st.warning(
            f"The basemap could not load ({base.source} did not answer): the light grid of "
            f"{basemap.GRID_M // 1000} km squares and the {basemap.SCALE_M // 1000} km scale "
            "are drawn by the app. Set MAP_TILES_URL to a tile server this machine can reach."
        )
        backdrop = basemap.fallback_layers((view["latitude"], view["longitude"]))
    map_col, detail_col = st.columns([3, 1])
    with map_col:
        deck = ml.deck(
            ml.LayerSpec(layer, rows),
            view,
            backdrop=backdrop,
            over=trails.layers(shown_trails),
            map_style=base.style,
        )
        event = st.pydeck_chart(
            deck, on_select="rerun", selection_mode="single-object", key="live_map", height=560
        )
    picked = [o for objs in (event.selection.objects or {}).values() for o in objs]
    if picked and picked[0].get("staffCode"):
        st.session_state.map_picked = picked[0]["staffCode"]
    with detail_col:
        show_technician(st.session_state.get("map_picked"))
    if latest:
        show_silent(found, now)


@st.cache_data(ttl=60, show_spinner=False)
def basemap_loads(probe: str) -> bool:
    return basemap.loads(probe)


def show_silent(found: list[dict], now: datetime) -> None:
    """The silent technicians on this map, the longest quiet first (escaped HTML)."""
    entries = fleet.silent_list(found, now, silent_after, tz)
    st.markdown(
        f"**{len(entries):,} silent technicians** on this map: no check-in for over "
        f"{silent_minutes} min with the order not completed, the longest quiet first."
    )
    if entries:
        st.html(fleet.silent_list_html(entries))


def _add_trail(staff_code: str) -> None:
    trail_list = st.session_state.get("map_trails", [])
    if staff_code not in trail_list:
        st.session_state.map_trails = [*trail_list, staff_code]
    st.session_state.pop("map_trail_pick", None)  # the multiselect takes the new default


def show_technician(staff_code: str | None) -> None:
    if not staff_code:
        st.caption("Click a technician on the map to see their recent check-ins and orders.")
        return
    st.subheader(markdown_literal(staff_code))
    st.button("Show trail", key="map_add_trail", on_click=_add_trail, args=(staff_code,))
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
