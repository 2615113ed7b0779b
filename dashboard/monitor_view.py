"""The monitor's UI parts: alerts, delivery problems, time to catch up and group history.

The frames and texts are pure; the `show_*` functions draw them with Streamlit and are what
the lag page and the overview call (each a line there). All texts go out as plain text or
dataframes, never as HTML, so a group name or reason cannot inject markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pandas as pd
import streamlit as st
from pymongo.database import Database
from pymongo.errors import PyMongoError

from monitor import alert_log, catchup, group_events
from monitor.alerts import Alert
from monitor.catchup import GroupCatchUp
from monitor.group_events import GroupEvent

EVENTS_SHOWN = 30


def _time(at: float | None) -> str:
    return "-" if at is None else datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S")


def alert_line(a: Alert) -> str:
    return f"{a.severity.upper()} · {a.rule} since {_time(a.started_at)} UTC: {a.reason}"


def alerts_frame(alerts: Sequence[Alert]) -> pd.DataFrame:
    rows = [
        {
            "alert": a.rule,
            "state": "firing" if a.firing else "resolved",
            "severity": a.severity,
            "started (UTC)": _time(a.started_at),
            "ended (UTC)": _time(a.ended_at),
            "reason": a.reason,
        }
        for a in alerts
    ]
    columns = ["alert", "state", "severity", "started (UTC)", "ended (UTC)", "reason"]
    return pd.DataFrame(rows, columns=columns)


def delivery_problems(status: dict | None) -> list[str]:
    """One line per receiver whose last attempt failed after its last success."""
    out = []
    for name, r in sorted(((status or {}).get("receivers") or {}).items()):
        failed_at, sent_at = r.get("lastErrorAt"), r.get("lastSentAt")
        if failed_at and (sent_at is None or failed_at > sent_at):
            out.append(
                f"Alert receiver {name} is failing ({r.get('lastError')}, "
                f"{r.get('failedAttempts', 0)} failed attempts, {r.get('queued', 0)} waiting): "
                "alerts are retried and delivered once it answers."
            )
    return out


def events_frame(events: Sequence[GroupEvent]) -> pd.DataFrame:
    rows = [{"at (UTC)": _time(e.at), "event": e.kind, "what": e.text} for e in events]
    return pd.DataFrame(rows, columns=["at (UTC)", "event", "what"])


def timeline_lines(events: Sequence[GroupEvent]) -> list[str]:
    return [f"{_time(e.at)[11:]}  {e.kind:<10} {e.text}" for e in events]


def catch_up_text(cu: GroupCatchUp) -> str:
    g = cu.group
    if g.state == catchup.CATCHING_UP and g.seconds is not None:
        return f"catching up: lag 0 in about {g.seconds:,.0f} s"
    return g.state


def catch_up_frame(cu: GroupCatchUp) -> pd.DataFrame:
    rows = [
        {
            "partition": name,
            "state": p.state,
            "seconds to lag 0": None if p.seconds is None else round(p.seconds, 1),
            "produced/s": p.produced_per_s,
            "consumed/s": p.consumed_per_s,
        }
        for name, p in cu.partitions.items()
    ]
    columns = ["partition", "state", "seconds to lag 0", "produced/s", "consumed/s"]
    return pd.DataFrame(rows, columns=columns)


# --- Streamlit ----------------------------------------------------------------------------


def show_alerts(db: Database) -> None:
    """Alerts firing now, one line each, and receivers that are failing."""
    try:
        firing = alert_log.active(db)
        status = alert_log.read_status(db)
    except PyMongoError as exc:
        st.warning(f"Alerts unavailable: MongoDB did not answer ({type(exc).__name__}).")
        return
    for a in firing:
        st.error(alert_line(a), icon="🚨")
    for line in delivery_problems(status):
        st.warning(line)


def show_recent_alerts(db: Database) -> None:
    st.subheader("Recent alerts")
    try:
        latest = alert_log.recent(db)
    except PyMongoError as exc:
        st.warning(f"Alerts unavailable: MongoDB did not answer ({type(exc).__name__}).")
        return
    if latest:
        st.dataframe(alerts_frame(latest), hide_index=True, width="stretch")
    else:
        st.caption("No alert yet (the lag sampler evaluates its rules on every sample).")


def show_group_history(db: Database, group: str, seconds: float) -> None:
    st.markdown("**Group history**")
    try:
        events = group_events.latest(db, group, EVENTS_SHOWN, seconds)
    except PyMongoError as exc:
        st.warning(f"Group history unavailable: MongoDB did not answer ({type(exc).__name__}).")
        return
    if events:  # a timeline, newest first, as plain text (no markup from group or host names)
        st.text("\n".join(timeline_lines(events)))
    else:
        st.caption("No state change, rebalance or member change in this period.")


def show_catch_up(cu: GroupCatchUp) -> None:
    st.markdown(f"**Time to catch up:** {catch_up_text(cu)}")
    with st.expander("Per partition"):
        st.dataframe(catch_up_frame(cu), hide_index=True, width="stretch")
