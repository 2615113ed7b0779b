"""Pure: trails on the map. A technician's check-ins of the chosen day (the timeline read
model's points) become a path and its stops; the replay cuts every selected trail at the same
moment, so several technicians play together."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import pydeck as pdk

from checkins.times import utc
from dashboard.map_layers import dots, map_rows

# Trail colours by technician (the stops keep their status colours).
_TRAIL_COLOURS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14)]


@dataclass(frozen=True)
class Trail:
    staff_code: str
    stops: tuple[dict, ...]  # map rows (position, tooltip fields, t), oldest first

    @property
    def path(self) -> list[list[float]]:
        """The stops' positions in time order, a position repeated in a row kept once."""
        path: list[list[float]] = []
        for stop in self.stops:
            if not path or path[-1] != stop["position"]:
                path.append(stop["position"])
        return path


def trail_colour(staff_code: str) -> tuple[int, int, int]:
    digest = hashlib.sha1(staff_code.encode()).digest()[0]
    return _TRAIL_COLOURS[digest % len(_TRAIL_COLOURS)]


def build_trails(
    points: Iterable[dict], staff_codes: Sequence[str], now: datetime, zone_name: str
) -> list[Trail]:
    """One trail per selected technician with check-ins, in the order they were selected; the
    stops in time order (ties by event id, so the order is stable)."""
    by_staff: dict[str, list[dict]] = {}
    for point in points:
        by_staff.setdefault(str(point["staffCode"]), []).append(point)
    trails = []
    for code in dict.fromkeys(staff_codes):
        mine = sorted(by_staff.get(code, []), key=lambda p: (utc(p["checkinDate"]), str(p["_id"])))
        if mine:
            trails.append(Trail(code, tuple(map_rows(mine, now, zone_name))))
    return trails


def up_to(trails: Sequence[Trail], moment: datetime) -> list[Trail]:
    """Replay: every trail as it was at `moment` (its stops up to then; none yet, left out)."""
    limit = utc(moment).timestamp()
    cut = [replace(t, stops=tuple(s for s in t.stops if s["t"] <= limit)) for t in trails]
    return [t for t in cut if t.stops]


def span(trails: Sequence[Trail]) -> tuple[float, float] | None:
    """(first, last) check-in time of all trails, epoch seconds; None without stops."""
    times = [s["t"] for t in trails for s in t.stops]
    return (min(times), max(times)) if times else None


def layers(trails: Sequence[Trail]) -> list[pdk.Layer]:
    """The paths (not pickable) and their stops (the map's tooltip: time, status, order)."""
    if not trails:
        return []
    paths = [
        {"path": t.path, "color": [*trail_colour(t.staff_code), 200], "staffCode": t.staff_code}
        for t in trails
    ]
    stops = [stop for t in trails for stop in t.stops]
    heads = [t.stops[-1] for t in trails]  # where each one is at the end (or replay moment)
    return [
        pdk.Layer(
            "PathLayer",
            id="trails",
            data=paths,
            get_path="path",
            get_color="color",
            width_min_pixels=3,
            get_width=4,
            pickable=False,
        ),
        dots("trail-stops", stops, outline=[40, 40, 40], radius_px=(4, 10), radius_m=15),
        dots(
            "trail-heads",
            heads,
            outline=[0, 0, 0],
            radius_px=(8, 16),
            outline_px=2,
            highlight=False,
        ),
    ]
