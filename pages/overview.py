"""Overview: how much is flowing, who is active, and whether Kafka and MongoDB answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st
from pymongo.errors import PyMongoError

from dashboard import clients, cluster_panel, fleet, monitor_view
from dashboard.formatting import local_time, store_problem
from dashboard.overview import count_since, counts_frame, per_minute
from monitor import offsets
from readmodels import disk, events, orders, store, technicians, timeline

settings = clients.settings()
tz = settings.checkin_timezone

st.title("Overview")
with st.sidebar:
    active_minutes = st.number_input("Active = seen in the last N minutes", 1, 1440, 15, key="ov_n")
    chart_minutes = st.number_input("Per-minute chart over N minutes", 5, 240, 30, key="ov_chart")


@st.cache_data(ttl=events.COUNT_EVERY_S, show_spinner=False)
def events_stored(database: str) -> int:
    """One count for every session, at most every COUNT_EVERY_S (a table walk on FerretDB)."""
    return events.events_stored(clients.database(settings))


@st.fragment(run_every=5)
def overview() -> None:
    now = datetime.now(UTC)
    db = clients.database(settings)
    admin = clients.kafka_admin(settings)
    kafka_up = offsets.reachable(admin)
    try:
        store.ping(db)
        mongo_up = True
    except PyMongoError:
        mongo_up = False

    down = [name for name, up in (("Kafka", kafka_up), ("MongoDB", mongo_up)) if not up]
    if down:
        st.error(f"Unreachable: {' and '.join(down)}. Retrying every 5 s.")
    if mongo_up:
        monitor_view.show_alerts(db)  # what the lag sampler's rules say now
    k, m = st.columns(2)
    k.metric("Kafka", "reachable" if kafka_up else "UNREACHABLE")
    k.caption(f"brokers {settings.bootstrap_servers}")
    m.metric("MongoDB", "reachable" if mongo_up else "UNREACHABLE")
    m.caption(f"database {settings.mongodb_database}")  # never the URI: it may hold a password

    if kafka_up:
        view = cluster_panel.read(admin, settings.bootstrap_servers)
        if view is not None:
            cluster_panel.banner(view)
            with st.expander(f"Kafka brokers ({view.status})", expanded=view.status != "OK"):
                cluster_panel.brokers(view)
        try:
            lag = offsets.group_lag(admin, settings.consumer_group, settings.checkin_topic)
            dlq = offsets.topic_size(admin, settings.checkin_dlq_topic)
        except Exception as exc:  # noqa: BLE001 - any Kafka error is shown, never raised
            st.error(f"Could not read Kafka offsets ({type(exc).__name__}); retrying.")
        else:
            a, b = st.columns(2)
            a.metric(f"Consumer lag ({settings.consumer_group})", f"{lag:,}")
            b.metric(
                "Dead-letter queue", f"{dlq:,}", help=f"messages in {settings.checkin_dlq_topic}"
            )

    if mongo_up:
        show_store_figures(db, now)


def figure(read, *args):
    """One store figure; a failing one is named and the others still show."""
    try:
        return read(*args)
    except PyMongoError as exc:
        st.error(f"{store_problem(exc)}; retrying every 5 s.")
        return None


def show_store_figures(db, now: datetime) -> None:
    # One read of per-minute counts (the timeline's day documents, no scan of homecheckins)
    # serves both the 5-minute count and the chart.
    since = now - timedelta(minutes=max(5, int(chart_minutes)))
    counts = figure(timeline.minute_counts, db, since, now)
    stored = figure(events_stored, settings.mongodb_database)
    active = figure(technicians.active_since, db, now - timedelta(minutes=int(active_minutes)))
    silent = figure(technicians.silent_technicians, db, now, settings.silent_after)
    cols = st.columns(5)
    cols[0].metric(
        "Events stored",
        "-" if stored is None else f"{stored:,}",
        help=f"counted every {events.COUNT_EVERY_S:.0f} s",
    )
    on_disk, parts = disk.describe(disk.local_database_use(settings))
    cols[1].metric("Store on disk", on_disk, help="the local store's database file and its WAL")
    cols[1].caption(parts)
    last5 = None if counts is None else count_since(counts, now - timedelta(minutes=5))
    cols[2].metric("Check-ins, last 5 min", "-" if last5 is None else f"{last5:,}")
    active_label = f"Active technicians ({int(active_minutes)} min)"
    cols[3].metric(active_label, "-" if active is None else f"{active:,}")
    silent_minutes = int(settings.silent_after.total_seconds() // 60)
    cols[4].metric(
        f"Silent technicians (> {silent_minutes} min)",
        "-" if silent is None else f"{len(silent[0]):,}{'+' if silent[1] else ''}",
        help="No check-in for longer than SILENT_AFTER while the current order is not completed",
    )
    if silent and silent[0]:
        with st.expander(f"Silent technicians, the longest quiet first ({len(silent[0]):,})"):
            entries = fleet.silent_list(silent[0], now, settings.silent_after, tz)
            st.html(fleet.silent_list_html(entries))
    if counts is not None:
        st.subheader("Check-ins per minute")
        st.bar_chart(per_minute(counts, now, int(chart_minutes), tz))
    left, right = st.columns(2)
    with left:
        st.subheader("Technicians by jobStatus")
        by_job = figure(technicians.status_breakdown, db)
        if by_job is not None:
            st.dataframe(counts_frame(by_job, "jobStatus"), hide_index=True)
    with right:
        st.subheader("Orders by status")
        counted = figure(orders.orders_by_status, db)
        if counted is not None:
            by_status, as_of = counted
            st.dataframe(counts_frame(by_status, "jobStatus"), hide_index=True)
            # The lag sampler recounts every minute or so (a scan); live only without it.
            st.caption(f"as of {local_time(as_of, tz)}" if as_of else "counted live just now")


overview()
