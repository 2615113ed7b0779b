"""The dashboard's entry: `streamlit run dashboard/app.py` (the stack's dashboard service).

It lives here, not beside `pages/`: a `pages/` folder next to the entry script puts Streamlit in
its older folder-based multipage mode until `st.navigation` has run once in the process, so a
bookmark to /events right after a restart would skip this script (page config, navigation).
Away from `pages/`, st.navigation alone routes every URL, deep links included."""

import streamlit as st

from dashboard import navigation

st.set_page_config(page_title="Check-in monitor", page_icon="📍", layout="wide")
st.navigation(navigation.pages()).run()
