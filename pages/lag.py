"""Consumer lag: offsets, time lag, Burrow-style status, trend, throughput and dead letters."""

from __future__ import annotations

import streamlit as st
from pymongo.errors import PyMongoError

from checkins.settings import Settings
from dashboard import clients, lag_view
from monitor import dead_letters, offsets
from monitor import history as lag_history
from monitor.cli import collect, group_snapshot, own_offset_reset, restrict
from monitor.commits import CommitLog
from monitor.report import build, trend

REFRESH_S = 5
MAX_GROUPS = 20
settings = clients.settings()
admin = clients.kafka_admin(settings)
db = clients.database(settings)


@st.cache_resource(show_spinner=False)
def _reader(bootstrap: str) -> offsets.MessageTimes:
    return offsets.MessageTimes(settings)


@st.cache_resource(show_spinner=False)
def _commit_log(bootstrap: str) -> CommitLog:
    """Every group's commits (__consumer_offsets), tailed by one consumer for all sessions."""
    return CommitLog(settings)


@st.cache_data(ttl=30, show_spinner=False)
def _groups(bootstrap: str, topics: tuple[str, ...], any_group: bool) -> list[str]:
    found = offsets.groups_on_topics(admin, topics)
    if any_group:
        found += offsets.list_groups(admin)
    return sorted(set(found))


@st.cache_data(ttl=30, show_spinner=False)
def _topics(bootstrap: str) -> list[str]:
    return offsets.list_topic_names(admin)


def check_in_topics(config: Settings) -> tuple[str, ...]:
    return (config.checkin_topic, config.checkin_dlq_topic, config.status_topic)


st.title("Consumer lag")
with st.sidebar:
    any_group = st.toggle("Any group (not only the check-in topics')", key="lag_any_group")
    try:
        groups = _groups(settings.bootstrap_servers, check_in_topics(settings), any_group)
        topic_names = _topics(settings.bootstrap_servers)
    except offsets.LagReadError as exc:
        st.error(f"Kafka did not answer: {exc}")
        st.stop()
    options = [settings.consumer_group] + [g for g in groups if g != settings.consumer_group]
    group = st.selectbox("Consumer group", options, key="lag_group")
    topics = st.multiselect("Topics (empty: the group's own)", topic_names, key="lag_topics")
    trend_minutes = st.slider("Trend over minutes", 5, 60, 15, key="lag_trend")
    dlq_count = st.number_input("Latest dead letters", 5, 200, 20, key="lag_dlq_n")


@st.fragment(run_every=REFRESH_S)
def lag_panel() -> None:
    try:
        report, notes = collect(
            admin,
            group,
            topics or None,
            db,
            _reader(settings.bootstrap_servers),
            _commit_log(settings.bootstrap_servers),
            fallback_topic=settings.checkin_topic,
            offset_reset=own_offset_reset(settings, group),
        )
    except offsets.LagReadError as exc:
        st.error(f"Kafka did not answer: {exc}. Retrying every {REFRESH_S} s.")
        return
    for note in notes:
        st.warning(note)

    st.markdown(lag_view.badge(report.status, report.reason), unsafe_allow_html=True)
    cols = st.columns(6)
    cols[0].metric("Total lag", f"{report.total_lag:,}")
    cols[1].metric("Worst time lag", lag_view.seconds(report.worst_time_lag_s))
    cols[2].metric("Produced", lag_view.rate(report.produced_per_s))
    cols[3].metric("Consumed", lag_view.rate(report.consumed_per_s))
    cols[4].metric("Group state", report.state)
    cols[5].metric("Members", report.members)
    st.caption(
        f"Group {group} · assignor {report.assignor or '-'} · read at {report.at} · status over "
        f"{report.samples} sample(s) of the sampler's history · refreshes every {REFRESH_S} s"
    )
    frame = lag_view.partitions_frame(report)
    st.dataframe(
        frame.style.map(lag_view.status_style, subset=["status"]), hide_index=True, width="stretch"
    )

    st.subheader("Lag trend")
    try:
        since = trend_minutes * 60
        history = lag_history.recent(db, group, since)
        shown = {p.topic for p in report.partitions}
        if history:
            st.line_chart(lag_view.trend_frame(trend([restrict(s, shown) for s in history])))
        else:
            st.caption("No history yet: is the lag sampler running (python -m stack up)?")
    except PyMongoError as exc:
        st.warning(f"Lag history unavailable: MongoDB did not answer ({type(exc).__name__}).")

    groups_table()
    dead_letter_table()


def groups_table() -> None:
    st.subheader("Groups" if any_group else "Groups on the check-in topics")
    reports = []
    commit_log = _commit_log(settings.bootstrap_servers)  # refreshed by lag_panel's collect
    for name in options[:MAX_GROUPS]:  # the configured group first, even before it commits
        reset = own_offset_reset(settings, name)
        try:
            history = lag_history.recent(db, name, 300)
        except PyMongoError:
            history = []
        if history:  # the sampler's latest: no Kafka call per group per refresh
            reports.append(
                build(history[-1], history[:-1], None, commit_log.of(name), offset_reset=reset)
            )
            continue
        try:  # not sampled (no sampler running): read it now
            now = group_snapshot(admin, name, None, settings.checkin_topic)
        except offsets.LagReadError:
            continue
        reports.append(build(now, (), None, commit_log.of(name), offset_reset=reset))
    if reports:
        frame = lag_view.groups_frame(reports)
        st.dataframe(
            frame.style.map(lag_view.status_style, subset=["status"]),
            hide_index=True,
            width="stretch",
        )
    else:
        st.caption("No consumer group has offsets on the check-in topics yet.")


def dead_letter_table() -> None:
    topic = settings.checkin_dlq_topic
    st.subheader(f"Dead letters ({topic})")
    try:
        ends = offsets.topic_offsets(admin, topic)
    except offsets.LagReadError as exc:
        st.warning(str(exc))
        return
    size = sum(end - start for start, end in ends.values())
    st.metric("Dead letters kept", f"{size:,}")
    if size:
        letters = _latest_letters(topic, tuple(sorted(ends.items())), int(dlq_count))
        st.dataframe(lag_view.dead_letters_frame(letters), hide_index=True, width="stretch")


@st.cache_data(ttl=600, show_spinner=False)
def _latest_letters(topic: str, ends: tuple, count: int) -> list[dead_letters.DeadLetter]:
    """Read again only when the DLQ's offsets changed (they are part of the cache key)."""
    return dead_letters.latest(settings, topic, dict(ends), count)


lag_panel()
