"""The dashboard's entry: `streamlit run streamlit_app.py`. One st.Page line per page."""

import streamlit as st

st.set_page_config(page_title="Check-in monitor", page_icon="📍", layout="wide")

page = st.navigation(
    [
        st.Page("pages/map.py", title="Live map", icon=":material/map:", default=True),
        st.Page("pages/overview.py", title="Overview", icon=":material/monitoring:"),
        st.Page("pages/events.py", title="Event log", icon=":material/list_alt:"),
        st.Page("pages/lag.py", title="Consumer lag", icon=":material/speed:"),
        st.Page("pages/publish.py", title="Publish demo events", icon=":material/send:"),
    ]
)
page.run()
