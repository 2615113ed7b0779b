"""The lag page's tables and badges, from a `GroupReport`. Pure (pandas and strings, no st.*)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pandas as pd

from dashboard.formatting import escape
from monitor.burrow import COLOURS, Status, age
from monitor.dead_letters import DeadLetter
from monitor.report import GroupReport


def badge(status: str, reason: str) -> str:
    """A coloured status pill and its reason, as HTML; both texts escaped."""
    colour = COLOURS[Status(status)] if status in Status.__members__ else "#555"
    return (
        f'<span style="background:{colour};color:white;padding:2px 10px;border-radius:10px;'
        f'font-weight:600">{escape(status)}</span> {escape(reason)}'
    )


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 120:
        return f"{value:.1f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}/s"


def partitions_frame(report: GroupReport) -> pd.DataFrame:
    rows = [
        {
            "topic": p.topic,
            "partition": p.partition,
            "log start": p.start,
            "log end": p.end,
            "committed": p.committed,
            "lag": p.lag,
            "time lag": ("≥ " if p.time_lag_source == "history, at least" else "")
            + seconds(p.time_lag_s),
            "status": p.status,
            "reason": p.reason,
            "last commit": "never"
            if p.committed is None
            else "-"
            if p.last_commit_age_s is None
            else f"{age(p.last_commit_age_s)} ago",
            "member id": p.member_id or "-",
            "client id": p.client_id or "-",
            "host": p.host or "-",
        }
        for p in report.partitions
    ]
    columns = ["topic", "partition", "log start", "log end", "committed", "lag", "time lag"]
    columns += ["status", "reason", "last commit", "member id", "client id", "host"]
    frame = pd.DataFrame(rows, columns=columns)
    # No commit: committed and lag show as empty, not NaN (and not 0: Kafka's tool shows "-").
    frame["committed"] = frame["committed"].astype("Int64")
    frame["lag"] = frame["lag"].astype("Int64")
    return frame


def status_style(value: str) -> str:
    """CSS for a status cell (pandas Styler.map)."""
    colour = COLOURS.get(Status(value)) if value in Status.__members__ else None
    return f"background-color:{colour};color:white" if colour else ""


def groups_frame(reports: Sequence[GroupReport]) -> pd.DataFrame:
    rows = [
        {
            "group": r.group,
            "status": r.status,
            "reason": r.reason,
            "state": r.state,
            "members": r.members,
            "total lag": r.total_lag,
            "worst time lag": seconds(r.worst_time_lag_s),
        }
        for r in reports
    ]
    columns = ["group", "status", "reason", "state", "members", "total lag", "worst time lag"]
    return pd.DataFrame(rows, columns=columns)


def trend_frame(rows: Sequence[dict]) -> pd.DataFrame:
    """Wide: one column per series (total first), one row per sample time."""
    if not rows:
        return pd.DataFrame(columns=["total"])
    frame = pd.DataFrame(rows).pivot_table(index="at", columns="series", values="lag")
    ordered = ["total"] + sorted(c for c in frame.columns if c != "total")
    return frame[ordered]


def dead_letters_frame(letters: Sequence[DeadLetter]) -> pd.DataFrame:
    rows = [
        {
            "at (UTC)": "-"
            if d.at is None
            else datetime.fromtimestamp(d.at, UTC).strftime("%Y-%m-%d %H:%M:%S"),
            "dlq partition": d.partition,
            "dlq offset": d.offset,
            "from": d.origin,
            "reason": d.reason,
            "message": d.preview,
        }
        for d in letters
    ]
    # What failed and why first: a wide grid draws only the columns in view.
    columns = ["at (UTC)", "reason", "message", "from", "dlq partition", "dlq offset"]
    return pd.DataFrame(rows, columns=columns)
