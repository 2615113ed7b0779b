"""Pure: the fleet counts bar above the map (technicians per jobStatus, and silent), the map's
filter by one of them, and the silent list (oldest first). Rows are `map_layers.map_rows` of the
technicians' latest positions (with `silent` set)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from dashboard.formatting import age, escape, local_time
from readmodels.technicians import silent_oldest_first

SILENT = "silent"  # the bar's entry for silent technicians (no jobStatus is called "silent")
URL_KEY = "fleet"


def counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """{jobStatus: n} sorted by status, then {SILENT: n} (silent ones count in their status too:
    a silent technician is still, say, `working`)."""
    rows = list(rows)
    by_status = Counter(str(r["jobStatus"]) for r in rows)
    out = dict(sorted(by_status.items()))
    out[SILENT] = sum(1 for r in rows if r.get("silent"))
    return out


def label(choice: str, counted: Mapping[str, int]) -> str:
    return f"{choice} {counted.get(choice, 0):,}"


def keep(rows: Sequence[dict], choice: str | None) -> list[dict]:
    """The rows the bar's choice shows: all (None), the silent ones, or one jobStatus."""
    if not choice:
        return list(rows)
    if choice == SILENT:
        return [r for r in rows if r.get("silent")]
    return [r for r in rows if r["jobStatus"] == choice]


def choice_from_url(params: Mapping[str, list[str]]) -> str | None:
    values = params.get(URL_KEY) or []
    return values[0][:40] if values and values[0] else None


def silent_list(
    docs: Iterable[Mapping[str, Any]], now: datetime, silent_after, zone_name: str
) -> list[dict[str, str]]:
    """The silent technicians among `docs` (technician documents), oldest first, as text."""
    return [
        {
            "staffCode": str(d.get("staffCode", "")),
            "jobStatus": str(d.get("jobStatus", "")),
            "orderNo": str(d.get("orderNo", "")),
            "lastSeen": local_time(d.get("checkinDate"), zone_name, "%m-%d %H:%M"),
            "age": age(d.get("checkinDate"), now),
        }
        for d in silent_oldest_first(docs, now, silent_after)
    ]


def silent_list_html(entries: Sequence[Mapping[str, str]], limit: int = 50) -> str:
    """The list as HTML, every field escaped (staff codes and orders are user text)."""
    items = "".join(
        f"<li><b>{escape(e['staffCode'])}</b> · {escape(e['jobStatus'])} · order "
        f"{escape(e['orderNo'])} · last seen {escape(e['age'])} ({escape(e['lastSeen'])})</li>"
        for e in entries[:limit]
    )
    more = f"<li>… and {len(entries) - limit:,} more</li>" if len(entries) > limit else ""
    return f'<ol class="silent-list">{items}{more}</ol>'
