"""Event log: recent check-ins, searchable, one order's timeline, CSV of the filtered rows."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st
from pymongo.errors import PyMongoError

from dashboard import clients, eventlog
from dashboard.filters import (
    WINDOWS,
    Filters,
    all_of,
    point_predicate,
    search_predicate,
    window_bounds,
)
from dashboard.formatting import store_problem
from readmodels import orders, technicians, timeline

PAGE_SIZE = 200
CSV_CAP = 50_000
settings = clients.settings()
tz = settings.checkin_timezone
db = clients.database(settings)

st.title("Event log")
c1, c2, c3 = st.columns([1, 1, 2])
window = c1.selectbox(
    "Time window", list(WINDOWS), index=list(WINDOWS).index("7 days"), key="ev_window"
)
try:
    options = technicians.known_statuses(db)
except PyMongoError:
    options = []
statuses = c2.multiselect("jobStatus", options, key="ev_status")
text = c3.text_input("Search orderNo, internetNo or staffCode", key="ev_search", max_chars=128)

now = datetime.now(UTC)
# The timeline read model (no scan of homecheckins); filters and search test each point.
filters = Filters(window=window, statuses=tuple(statuses))
start, end = window_bounds(filters, now, tz)
keep = all_of(point_predicate(filters), search_predicate(text, eventlog.SEARCH_FIELDS))
page_col, _ = st.columns([1, 4])
page = int(page_col.number_input("Page", min_value=1, value=1, step=1, key="ev_page")) - 1

try:
    newest, more = timeline.window_points(
        db, start, end, keep, cap=eventlog.page_cap(page, PAGE_SIZE)
    )
except PyMongoError as exc:
    st.error(f"{store_problem(exc)}. Reload to retry.")
    st.stop()

rows = eventlog.one_page(newest, page, PAGE_SIZE)
frame = eventlog.table(rows, now, tz)
first = page * PAGE_SIZE
stopped = eventlog.read_stopped_early(newest, eventlog.page_cap(page, PAGE_SIZE), more)
st.caption(
    f"Rows {first + 1 if rows else 0:,}–{first + len(rows):,}, newest first; times in {tz}"
    + (" · more on the next page" if more and not stopped else "")
)
if stopped:
    st.warning(
        "Only the newest check-ins of the window were searched (each read stops after a set "
        "number): choose a shorter time window to search older ones."
    )
st.dataframe(
    frame,
    hide_index=True,
    width="stretch",
    column_config={
        name: st.column_config.Column(width=px) for name, px in eventlog.COLUMN_WIDTHS.items()
    },
)

if st.button("Prepare CSV of all filtered rows", key="ev_csv"):
    try:
        all_rows, capped = timeline.window_points(db, start, end, keep, cap=CSV_CAP)
    except PyMongoError as exc:
        st.error(f"{store_problem(exc)}.")
    else:
        if capped:
            st.warning(
                f"The CSV holds the newest {len(all_rows):,} matching rows; narrow the time "
                "window or the filters for the rest."
            )
        st.download_button(
            "Download CSV",
            eventlog.csv_bytes(eventlog.table(all_rows, now, tz)),
            file_name="checkins.csv",
            mime="text/csv",
        )

st.subheader("One order's timeline")
order_no = st.text_input("orderNo", key="ev_order", max_chars=128).strip()
if order_no:
    try:
        history = orders.order_timeline(db, order_no)
    except PyMongoError as exc:
        st.error(f"{store_problem(exc)}.")
    else:
        if history:
            st.dataframe(eventlog.timeline_table(history, tz), hide_index=True)
        else:
            st.info("No check-ins for that order.")
