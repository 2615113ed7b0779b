"""The publish page's widgets: the check-in form, the raw-JSON box and the simulator's controls.

Everything that decides something lives in `dashboard.publish` and `simulator.model`
(pure); this module only draws and calls the producer. Publishing happens in button callbacks,
so the outcome (or the schema's errors) is in session state before the page draws the fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from threading import Event, Thread

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

from checkins.event import SAMPLE, CheckIn
from checkins.producer import CheckInProducer, PublishError
from checkins.settings import Settings
from dashboard import navigation
from dashboard.formatting import markdown_literal
from dashboard.page_state import seed_widget
from dashboard.publish import (
    FIELDS,
    FORM_ERROR,
    LABELS,
    SAMPLE_JUNK,
    checkin_from_form,
    delivery_summary,
    describe_raw,
    fresh_event_id,
    map_query,
    raw_bytes,
    sample_values,
)
from simulator.cli import Progress, start_in_background
from simulator.model import LIFECYCLE, Simulation

_NUMBERS = ("checkinLatitude", "checkinLongitude")


@st.cache_resource(show_spinner=False)
def _producer(bootstrap: str, topic: str, _settings: Settings) -> CheckInProducer:
    # One per process and per target (bootstrap, topic are the cache key); Kafka acks each send.
    return CheckInProducer(_settings, **{"client.id": "checkin-dashboard"})


def producer(settings: Settings) -> CheckInProducer:
    return _producer(settings.bootstrap_servers, settings.checkin_topic, settings)


def _key(name: str) -> str:
    return f"pub_{name}"


# --- the form -----------------------------------------------------------------------------


def checkin_form(kafka: CheckInProducer, settings: Settings) -> None:
    state = st.session_state
    if "publish_values" not in state:  # survives page switches (widget keys do not)
        state.publish_values = sample_values()
    for name in FIELDS:
        seed_widget(_key(name), state.publish_values[name])
    seed_widget("pub_event_id", fresh_event_id())
    errors: dict[str, str] = state.get("publish_errors", {})

    left, right = st.columns([1, 1])
    left.button(
        "Send the seed's example",
        key="pub_send_sample",
        on_click=_send_sample,
        args=(kafka, settings),
        help="Publishes the seed's sample check-in as it is, with a new event id.",
    )
    right.button("Reset the form to the sample", key="pub_reset", on_click=_reset_form)

    with st.form("publish_form"):
        st.caption(
            f"Published to **{settings.checkin_topic}** with key = staffCode. "
            "Dates without a zone are read in "
            f"{settings.checkin_timezone}."
        )
        text_col, place_col = st.columns(2)
        for name in FIELDS:
            column = place_col if name in (*_NUMBERS, "checkinDate") else text_col
            with column:
                if name in _NUMBERS:
                    st.number_input(LABELS[name], key=_key(name), format="%.7f", step=0.0001)
                else:
                    st.text_input(LABELS[name], key=_key(name), max_chars=400)
                if name in errors:
                    st.error(errors[name], icon=":material/error:")
        with place_col:
            st.map(pd.DataFrame([_point(state)]), zoom=12, height=180, size=40)
        st.text_input("Event id (generated, new after each publish)", key="pub_event_id")
        st.caption(f"jobStatus values the simulator uses: {', '.join(LIFECYCLE)}")
        st.form_submit_button(
            "Publish check-in", type="primary", on_click=_submit, args=(kafka, settings)
        )
    if FORM_ERROR in errors:
        st.error(errors[FORM_ERROR])
    _outcome(settings)


def _point(state) -> dict[str, float]:
    """Where the small map points: the coordinates in the form, if they are sensible."""
    lat, lon = state.get(_key("checkinLatitude")), state.get(_key("checkinLongitude"))
    if isinstance(lat, float) and isinstance(lon, float) and abs(lat) <= 90 and abs(lon) <= 180:
        return {"lat": lat, "lon": lon}
    return {"lat": SAMPLE["checkinLatitude"], "lon": SAMPLE["checkinLongitude"]}


def _submit(kafka: CheckInProducer, settings: Settings) -> None:
    state = st.session_state
    values = {name: state[_key(name)] for name in FIELDS}
    state.publish_values = values
    result = checkin_from_form(values, settings.checkin_timezone)
    state.publish_errors = result.errors
    if result.ok and result.checkin is not None:
        _publish(kafka, result.checkin, state.pub_event_id.strip() or fresh_event_id())


def _send_sample(kafka: CheckInProducer, settings: Settings) -> None:
    st.session_state.publish_errors = {}
    sample = CheckIn.model_validate(SAMPLE, context={"timezone": settings.checkin_timezone})
    _publish(kafka, sample, fresh_event_id())


def _publish(kafka: CheckInProducer, checkin: CheckIn, event_id: str) -> None:
    state = st.session_state
    try:
        delivery = kafka.publish(checkin, event_id=event_id)
    except PublishError as exc:
        state.publish_outcome = {"error": str(exc)}
        return
    state.publish_outcome = {"delivery": delivery, "checkin": checkin}
    state.pub_event_id = fresh_event_id()  # the next publish is a new event


def _reset_form() -> None:
    state = st.session_state
    state.publish_values = sample_values()
    for name in FIELDS:
        state[_key(name)] = SAMPLE[name]
    state.publish_errors = {}
    state.pub_event_id = fresh_event_id()


def _outcome(settings: Settings) -> None:
    outcome = st.session_state.get("publish_outcome")
    if not outcome:
        return
    if "error" in outcome:
        st.error(f"Not published: {outcome['error']}. Nothing was confirmed; try again.")
        return
    delivery, checkin = outcome["delivery"], outcome["checkin"]
    st.success(
        f"Kafka acknowledged the check-in of **{markdown_literal(checkin.staffCode)}**: "
        f"topic {delivery.topic}, partition {delivery.partition}, offset {delivery.offset}."
    )
    st.dataframe([delivery_summary(delivery)], hide_index=True)
    if st.button("See it on the map", key="pub_to_map", icon=":material/map:"):
        # The map reads its filters from the URL when it has none remembered: forget them.
        for name in ("map_filters", "map_layer"):
            st.session_state.pop(name, None)
        st.switch_page(navigation.MAP, query_params=map_query(checkin, settings.checkin_timezone))


# --- raw JSON -------------------------------------------------------------------------------


def raw_json(kafka: CheckInProducer, settings: Settings) -> None:
    st.caption(
        "Sends the bytes exactly as typed, so a bad message can be sent on purpose: the consumers "
        f"put it on **{settings.checkin_dlq_topic}** with the reason, shown on the lag page."
    )
    seed_widget("pub_raw", SAMPLE_JUNK)
    text = st.text_area("Raw message value", key="pub_raw", height=120, max_chars=70_000)
    st.text_input("Key (optional)", key="pub_raw_key", max_chars=128)
    st.caption(describe_raw(text))
    st.button("Send raw bytes", key="pub_raw_send", on_click=_send_raw, args=(kafka,))
    outcome = st.session_state.get("raw_outcome")
    if outcome and "error" in outcome:
        st.error(f"Not sent: {outcome['error']}")
    elif outcome:
        st.success(f"Kafka acknowledged {outcome['bytes']:,} raw bytes on {kafka.topic}.")
        _lag_link()


def _send_raw(kafka: CheckInProducer) -> None:
    state = st.session_state
    value = raw_bytes(state.pub_raw)
    key = state.get("pub_raw_key", "").strip()
    try:
        kafka.produce_raw(value, key=key.encode() if key else None)
    except PublishError as exc:
        state.raw_outcome = {"error": str(exc)}
        return
    state.raw_outcome = {"bytes": len(value)}


def _lag_link() -> None:
    try:
        st.page_link(
            navigation.LAG, label="See the dead letters on the lag page", icon=":material/speed:"
        )
    except StreamlitAPIException:  # the lag page is not in this app's navigation
        st.caption("The dead letters are listed on the lag page.")


# --- the simulator --------------------------------------------------------------------------


@dataclass
class SimulatorRun:
    thread: Thread
    stop: Event
    progress: Progress
    technicians: int
    rate: float

    @property
    def running(self) -> bool:
        return self.thread.is_alive()


def simulator(kafka: CheckInProducer) -> None:
    st.caption(
        "Technicians drive to their customers' homes around Bangkok (near the seed's check-in) "
        f"and move their orders through {' → '.join(LIFECYCLE)}, then take a new order."
    )
    run: SimulatorRun | None = st.session_state.get("sim_run")
    busy = bool(run and run.running)
    with st.form("sim_form"):
        cols = st.columns(5)
        cols[0].number_input("Technicians", 1, 5000, 200, key="sim_technicians")
        cols[1].number_input("Check-ins per second", 1, 2000, 50, key="sim_rate")
        cols[2].number_input("Duration (s)", 1, 3600, 60, key="sim_duration")
        cols[3].number_input(
            "Speed-up",
            1,
            120,
            1,
            key="sim_speedup",
            help="Simulated seconds per real second. Above 1, whole lifecycles fit in a short "
            "run and check-in dates run ahead of the clock by as much.",
        )
        cols[4].number_input("Seed", 0, 2**31 - 1, 0, key="sim_seed")
        st.form_submit_button(
            "Start the simulator",
            disabled=busy,
            type="primary",
            on_click=_start_simulator,
            args=(kafka,),
        )
    if run:
        st.fragment(run_every=1.0 if busy else None)(_progress)()


def _start_simulator(kafka: CheckInProducer) -> None:
    # A callback: it runs before the page is drawn, so Start is already disabled in that run.
    state = st.session_state
    current: SimulatorRun | None = state.get("sim_run")
    if current and current.running:
        return
    technicians, rate = int(state.sim_technicians), float(state.sim_rate)
    thread, stop, progress = start_in_background(
        kafka,
        Simulation(technicians, seed=int(state.sim_seed)),
        rate=rate,
        duration=float(state.sim_duration),
        speedup=float(state.sim_speedup),
    )
    state.sim_run = SimulatorRun(thread, stop, progress, technicians, rate)


def _progress() -> None:
    run: SimulatorRun | None = st.session_state.get("sim_run")
    if run is None:
        return
    progress = run.progress
    st.progress(progress.fraction, text=progress.summary())
    if run.running:
        if st.button("Stop the simulator", key="sim_stop", icon=":material/stop_circle:"):
            run.stop.set()
            st.caption("Stopping after the check-ins already queued are acknowledged…")
    else:
        if progress.last_error:
            st.warning(progress.last_error)
        if st.session_state.get("sim_seen_done") is not run:
            st.session_state.sim_seen_done = run
            st.rerun()  # a full rerun stops this fragment's timer and re-enables Start
