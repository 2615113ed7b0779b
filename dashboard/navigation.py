"""The dashboard's pages, once: their scripts (in the top-level `pages/` folder), titles and
icons, for `st.navigation` (dashboard/app.py) and for links between pages."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"
MAP = PAGES_DIR / "map.py"
OVERVIEW = PAGES_DIR / "overview.py"
EVENTS = PAGES_DIR / "events.py"
LAG = PAGES_DIR / "lag.py"
PUBLISH = PAGES_DIR / "publish.py"


def pages() -> list[st.Page]:
    return [
        st.Page(MAP, title="Live map", icon=":material/map:", default=True),
        st.Page(OVERVIEW, title="Overview", icon=":material/monitoring:"),
        st.Page(EVENTS, title="Event log", icon=":material/list_alt:"),
        st.Page(LAG, title="Consumer lag", icon=":material/speed:"),
        st.Page(PUBLISH, title="Publish demo events", icon=":material/send:"),
    ]
