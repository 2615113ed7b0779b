"""Publish demo events: a check-in form, the seed's example, raw bytes for the dead-letter path,
and a simulator. Writes can be switched off with DEMO_PUBLISH_ENABLED=false."""

from __future__ import annotations

import streamlit as st

from dashboard import clients, publish_view

settings = clients.settings()

st.title("Publish demo events")
if not settings.demo_publish_enabled:
    st.info(
        "Publishing demo events is switched off on this dashboard (DEMO_PUBLISH_ENABLED=false): "
        "no form, no simulator. The other pages still show what arrives."
    )
    st.stop()

kafka = publish_view.producer(settings)
form_tab, raw_tab, simulator_tab = st.tabs(["Check-in form", "Raw JSON", "Simulator"])
with form_tab:
    publish_view.checkin_form(kafka, settings)
with raw_tab:
    publish_view.raw_json(kafka, settings)
with simulator_tab:
    publish_view.simulator(kafka)
