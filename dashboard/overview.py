"""Pure shaping for the overview page."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

import pandas as pd

from checkins.event import zone
from dashboard.formatting import as_utc


def per_minute(times: Iterable[datetime], now: datetime, minutes: int, zone_name: str):
    """Check-ins per minute over the last `minutes` whole minutes (empty minutes included), as a
    DataFrame indexed by local minute for st.bar_chart."""
    end = as_utc(now).replace(second=0, microsecond=0) + timedelta(minutes=1)
    start = end - timedelta(minutes=minutes)
    counts = Counter(
        as_utc(t).replace(second=0, microsecond=0) for t in times if start <= as_utc(t) < end
    )
    slots = [start + timedelta(minutes=i) for i in range(minutes)]
    tz = zone(zone_name)
    return pd.DataFrame(
        {"check-ins": [counts.get(s, 0) for s in slots]},
        index=pd.Index([s.astimezone(tz).strftime("%H:%M") for s in slots], name="minute"),
    )


def count_since(times: Iterable[datetime], since: datetime) -> int:
    return sum(1 for t in times if as_utc(t) >= as_utc(since))


def counts_frame(counts: dict[str, int], label: str) -> pd.DataFrame:
    return pd.DataFrame({label: list(counts.keys()), "count": list(counts.values())}).sort_values(
        "count", ascending=False, ignore_index=True
    )
