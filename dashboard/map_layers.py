"""Pure: check-in rows -> pydeck layers, colours, legend, tooltip and view state."""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pydeck as pdk

from checkins.times import utc
from dashboard.formatting import age, escape, local_time
from readmodels.technicians import is_silent

LATEST = "Latest positions"
ALL_CHECKINS = "All check-ins in the window"
HEATMAP = "Heatmap"
HEXAGON = "Hexagon aggregation"
LAYER_CHOICES = (LATEST, ALL_CHECKINS, HEATMAP, HEXAGON)

# Carto's public style: no token. Without internet the style fails to load and deck.gl still
# draws its layers on a blank background.
MAP_STYLE = pdk.map_styles.CARTO_LIGHT
CITY_ZOOM = 11
DEFAULT_CENTER = (13.7563, 100.5018)  # Bangkok, where the legacy system's check-ins are

KNOWN_COLOURS: dict[str, tuple[int, int, int]] = {
    "assigned": (23, 190, 207),  # not grey: grey means silent
    "onroute": (31, 119, 180),
    "on_the_way": (31, 119, 180),  # the simulator's name for onroute
    "homecheckedin": (44, 160, 44),
    "inprogress": (255, 127, 14),
    "working": (255, 127, 14),  # the simulator's name for inprogress
    "completed": (148, 103, 189),
    "cancelled": (214, 39, 40),
}
_PALETTE = [(188, 189, 34), (227, 119, 194), (140, 86, 75), (44, 62, 80), (255, 187, 120)]
SILENT_COLOUR = (150, 150, 150)  # a silent technician (readmodels.technicians.is_silent)

# A text tooltip: Streamlit puts it in with innerText, so no field is ever parsed as HTML (in
# "html" mode Streamlit 1.67 escapes the fields itself, and pre-escaped text showed as &lt;...).
# `silence` is empty, or " · SILENT, last seen 42 min ago" for a silent technician.
TOOLTIP_TEXT = (
    "{staffCode} · {jobStatus}{silence}\norder {orderNo}\ninternet {internetNo}\n{time} ({age})"
)


def status_colour(status: str) -> tuple[int, int, int]:
    """A fixed colour for known statuses; a stable colour (hash of the name) for others."""
    key = (status or "").lower()
    if key in KNOWN_COLOURS:
        return KNOWN_COLOURS[key]
    digest = hashlib.sha1(key.encode()).digest()[0]
    return _PALETTE[digest % len(_PALETTE)]


def legend(statuses: Iterable[str]) -> list[tuple[str, str]]:
    """[(status, '#rrggbb')] sorted by name, for the statuses on the map."""
    return [(s, "#{:02x}{:02x}{:02x}".format(*status_colour(s))) for s in sorted(set(statuses))]


def silent_legend(rows: Iterable[dict]) -> list[tuple[str, str]]:
    """The grey chip, when the map shows a silent technician."""
    if any(r.get("silent") for r in rows):
        return [("silent", "#{:02x}{:02x}{:02x}".format(*SILENT_COLOUR))]
    return []


def legend_html(entries: Sequence[tuple[str, str]]) -> str:
    chips = (
        f'<span style="display:inline-block;margin-right:12px">'
        f'<span style="display:inline-block;width:11px;height:11px;border-radius:50%;'
        f'background:{colour};margin-right:4px"></span>{escape(status)}</span>'
        for status, colour in entries
    )
    return '<div class="checkin-legend">' + "".join(chips) + "</div>"


def map_rows(
    rows: Iterable[dict[str, Any]],
    now: datetime,
    zone_name: str,
    silent_after: timedelta | None = None,
) -> list[dict]:
    """Check-in rows -> what the browser gets: position, colour and the tooltip's plain text.
    Only these fields are sent, so the page never ships whole documents. With `silent_after`
    (technicians' latest positions) a silent technician is grey and says when it was last seen."""
    out = []
    for row in rows:
        moment = row.get("checkinDate")
        silent = bool(silent_after and moment and is_silent(row, now, silent_after))
        colour = SILENT_COLOUR if silent else status_colour(row.get("jobStatus", ""))
        out.append(
            {
                "position": [float(row["checkinLongitude"]), float(row["checkinLatitude"])],
                "color": [*colour, 220],
                "silent": silent,
                "silence": f" · SILENT, last seen {age(moment, now)}" if silent else "",
                "staffCode": str(row.get("staffCode", "")),
                "jobStatus": str(row.get("jobStatus", "")),
                "t": utc(moment).timestamp() if moment else 0.0,
                "orderNo": str(row.get("orderNo", "")),
                "internetNo": str(row.get("internetNo", "")),
                "time": local_time(moment, zone_name),
                "age": age(moment, now),
            }
        )
    return out


def replay_step(since: datetime, until: datetime) -> timedelta:
    """About 300 slider steps over the window, in whole minutes (at least one)."""
    minutes = max(1, round((until - since).total_seconds() / 60 / 300))
    return timedelta(minutes=minutes)


def arrival_marks(found: Sequence[dict]) -> dict[str, Any]:
    """What the next refresh compares against: each technician's check-in count (technicians
    rows) and the newest storedAt (check-in rows)."""
    counts = {r["staffCode"]: r["checkinCount"] for r in found if "checkinCount" in r}
    stored = [utc(r["storedAt"]) for r in found if r.get("storedAt")]
    return {"counts": counts, "stored": max(stored) if stored else None}


def arrivals(previous: dict[str, Any] | None, found: Sequence[dict]) -> int:
    """Check-ins on this map that arrived since the previous refresh, from the rows the map
    already read (no count over all events: that scans them on FerretDB). A technician new to
    the map counts one."""
    if previous is None:
        return 0
    counts, since = previous["counts"], previous["stored"]
    total = 0
    for row in found:
        if "checkinCount" in row:
            before = counts.get(row["staffCode"])
            total += 1 if before is None else max(0, row["checkinCount"] - before)
        elif row.get("storedAt") and (since is None or utc(row["storedAt"]) > since):
            total += 1
    return total


def up_to(rows: Sequence[dict], moment: datetime) -> list[dict]:
    """Replay: the rows whose check-in time is not after `moment`."""
    limit = utc(moment).timestamp()
    return [r for r in rows if r["t"] <= limit]


def latest_per_staff(rows: Sequence[dict]) -> list[dict]:
    """Each technician's newest row (replay of 'latest positions' at a past moment)."""
    newest: dict[str, dict] = {}
    for row in rows:
        kept = newest.get(row["staffCode"])
        if kept is None or row["t"] > kept["t"]:
            newest[row["staffCode"]] = row
    return list(newest.values())


def view_for(rows: Sequence[dict]) -> dict[str, float]:
    """Centre on the median point (robust to a stray far-away check-in), at city zoom."""
    if not rows:
        lat, lon = DEFAULT_CENTER
    else:
        lon = statistics.median(r["position"][0] for r in rows)
        lat = statistics.median(r["position"][1] for r in rows)
    return {"latitude": round(lat, 5), "longitude": round(lon, 5), "zoom": CITY_ZOOM}


@dataclass(frozen=True)
class LayerSpec:
    choice: str
    rows: Sequence[dict]


def layers(spec: LayerSpec) -> list[pdk.Layer]:
    if spec.choice == HEATMAP:
        return [
            pdk.Layer(
                "HeatmapLayer",
                id="heatmap",
                data=list(spec.rows),
                get_position="position",
                radius_pixels=40,
                aggregation="SUM",
            )
        ]
    if spec.choice == HEXAGON:
        return [
            pdk.Layer(
                "HexagonLayer",
                id="hexagon",
                data=list(spec.rows),
                get_position="position",
                radius=300,
                elevation_scale=4,
                extruded=False,
                opacity=0.6,
                coverage=0.9,
            )
        ]
    layer_id = "checkins" if spec.choice == ALL_CHECKINS else "technicians"
    return [dots(layer_id, list(spec.rows), outline=[255, 255, 255], radius_px=(5, 30))]


def dots(
    layer_id: str,
    rows: list[dict],
    *,
    outline: list[int],
    radius_px: tuple[int, int],
    radius_m: int = 40,
    outline_px: int = 1,
    highlight: bool = True,
) -> pdk.Layer:
    """Pickable dots coloured by each row's `color`, at least/most `radius_px` pixels wide."""
    return pdk.Layer(
        "ScatterplotLayer",
        id=layer_id,
        data=rows,
        get_position="position",
        get_fill_color="color",
        get_line_color=outline,
        line_width_min_pixels=outline_px,
        stroked=True,
        get_radius=radius_m,
        radius_min_pixels=radius_px[0],
        radius_max_pixels=radius_px[1],
        pickable=True,
        auto_highlight=highlight,
    )


def deck(
    spec: LayerSpec,
    view: dict[str, float],
    *,
    backdrop: Sequence[pdk.Layer] = (),
    over: Sequence[pdk.Layer] = (),
    map_style: str = MAP_STYLE,
) -> pdk.Deck:
    """The map: the check-ins' layer first (`layers[0]`, what the page's tests read), then
    `backdrop` (the app's own translucent grid and scale when the basemap cannot load), then
    `over` (trails); `map_style` from `dashboard.basemap`."""
    return pdk.Deck(
        layers=[*layers(spec), *backdrop, *over],
        initial_view_state=pdk.ViewState(**view),
        map_provider="carto",
        map_style=map_style,
        tooltip={"text": TOOLTIP_TEXT, "style": {"fontSize": "12px"}},
    )
