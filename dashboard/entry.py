"""Deep links on a freshly started server.

With a `pages/` folder next to the entry script, Streamlit runs a directly requested page script
on its own (its older folder-based multipage mode) until the entry script has called
`st.navigation` once in the process. A bookmark to /events right after a restart would then skip
`streamlit_app.py` (page config, navigation, titles). Each page calls `through_entry()` first: in
that mode it turns the mode off and runs the entry script in place, whose `st.navigation` routes
to this same page (in the same run, so a clicked button's value is not lost), then stops."""

from __future__ import annotations

import runpy
from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

ENTRY = Path(__file__).resolve().parent.parent / "streamlit_app.py"


def through_entry() -> None:
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        runpy.run_path(str(ENTRY), run_name="__main__")
        st.stop()
