"""Pure shaping for the overview page."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from checkins.event import zone
from checkins.times import utc

MINUTE = timedelta(minutes=1)
MinuteCounts = Mapping[datetime, Mapping[str, Any]]  # {minute (UTC): {n, byStatus}}


def per_minute(counts: MinuteCounts, now: datetime, minutes: int, zone_name: str):
    """Check-ins per minute over the last `minutes` whole minutes (empty minutes included), as a
    DataFrame indexed by local minute for st.bar_chart. `counts` is `timeline.minute_counts`."""
    end = utc(now).replace(second=0, microsecond=0) + MINUTE
    start = end - timedelta(minutes=minutes)
    by_minute = {utc(m): c["n"] for m, c in counts.items()}
    slots = [start + timedelta(minutes=i) for i in range(minutes)]
    tz = zone(zone_name)
    return pd.DataFrame(
        {"check-ins": [by_minute.get(s, 0) for s in slots]},
        index=pd.Index([s.astimezone(tz).strftime("%H:%M") for s in slots], name="minute"),
    )


def count_since(counts: MinuteCounts, since: datetime) -> int:
    """Check-ins in the minutes that end after `since`: per-minute counts cannot split a minute,
    so the minute holding `since` counts whole."""
    limit = utc(since)
    return sum(c["n"] for m, c in counts.items() if utc(m) + MINUTE > limit)


def counts_frame(counts: dict[str, int], label: str) -> pd.DataFrame:
    return pd.DataFrame({label: list(counts.keys()), "count": list(counts.values())}).sort_values(
        "count", ascending=False, ignore_index=True
    )
