"""Pure shaping for the event log: rows -> table, CSV."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import pandas as pd

from dashboard.formatting import age, local_time

SEARCH_FIELDS = ("orderNo", "internetNo", "staffCode")
# The searchable identifiers first: a narrow screen still shows them without scrolling.
COLUMNS = [
    "checkin time",
    "staffCode",
    "jobStatus",
    "orderNo",
    "internetNo",
    "age",
    "latitude",
    "longitude",
    "eventId",
]


# Fixed widths for the identifiers (long values are cut with an ellipsis; the cell shows all),
# so one long staffCode cannot push the other columns off screen.
COLUMN_WIDTHS = {
    "checkin time": 150,
    "staffCode": 160,
    "jobStatus": 120,
    "orderNo": 170,
    "internetNo": 120,
    "age": 90,
}


def page_cap(page: int, page_size: int) -> int:
    """How many newest rows to read for page `page` (0-based): the pages before it and itself.
    The reader's flag for rows beyond this cap is the "next page exists" flag."""
    return (max(page, 0) + 1) * page_size


def one_page(rows: list[dict], page: int, page_size: int) -> list[dict]:
    """Page `page` (0-based) of newest-first rows read with `page_cap`."""
    first = max(page, 0) * page_size
    return rows[first : first + page_size]


def read_stopped_early(rows: list[dict], cap: int, more: bool) -> bool:
    """`window_points` flagged more but found fewer than `cap`: it stopped at its read limit, so
    the older part of the window was not searched (not "the next page has rows")."""
    return more and len(rows) < cap


def table(rows: Iterable[dict], now: datetime, zone_name: str) -> pd.DataFrame:
    records = [
        {
            "checkin time": local_time(r.get("checkinDate"), zone_name),
            "age": age(r.get("checkinDate"), now),
            "staffCode": r.get("staffCode", ""),
            "jobStatus": r.get("jobStatus", ""),
            "orderNo": r.get("orderNo", ""),
            "internetNo": r.get("internetNo", ""),
            "latitude": r.get("checkinLatitude"),
            "longitude": r.get("checkinLongitude"),
            "eventId": str(r.get("_id", "")),
        }
        for r in rows
    ]
    return pd.DataFrame(records, columns=COLUMNS)


def timeline_table(history: Iterable[dict], zone_name: str) -> pd.DataFrame:
    records = [
        {
            "checkin time": local_time(h.get("checkinDate"), zone_name),
            "jobStatus": h.get("jobStatus", ""),
            "staffCode": h.get("staffCode", ""),
            "eventId": str(h.get("eventId", "")),
        }
        for h in history
    ]
    return pd.DataFrame(records, columns=["checkin time", "jobStatus", "staffCode", "eventId"])


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV for spreadsheets. Cells starting with = + - @ are prefixed with ' so a spreadsheet
    does not run user text as a formula."""
    return frame.map(_defuse).to_csv(index=False).encode("utf-8")


def _defuse(value: object) -> object:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
