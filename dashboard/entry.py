"""Deep links on a freshly started server.

With a `pages/` folder next to the entry script, Streamlit runs a directly requested page script
on its own (its older folder-based multipage mode) until the entry script has called
`st.navigation` once in the process. A bookmark to /events right after a restart would then skip
`streamlit_app.py` (page config, navigation, titles). Each page calls `through_entry()` first: it
turns that mode off and reruns, so the entry script runs and routes to the same page."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def through_entry() -> None:
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
