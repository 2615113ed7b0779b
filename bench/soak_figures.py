"""Pure parts of the soak (bench/soak.py): percentiles, per-figure first/last/max, the bench.json
summary. No services, no clocks: tested in tests/unit/test_soak_figures.py."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

MB = 2**20


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, min(len(ordered), math.ceil(q / 100 * len(ordered)))) - 1]


def latency_window(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """Produce-to-visible latencies of one window (s) -> ms percentiles and the sample size."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        **{f"p{q}": _round(percentile(ms, q)) for q in (50, 95, 99)},
        "max": _round(max(ms)) if ms else None,
    }


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def series(windows: Sequence[dict[str, Any]], path: str) -> list[float]:
    """The values of one figure across the windows: "rss_mb.mongo" -> [w["rss_mb"]["mongo"], ...];
    windows without it (a service not yet up, no sample) are left out."""
    values = []
    for window in windows:
        value: Any = window
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            values.append(float(value))
    return values


def first_last_max(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"first": None, "last": None, "max": None}
    return {"first": values[0], "last": values[-1], "max": max(values)}


def figure_paths(windows: Sequence[dict[str, Any]]) -> list[str]:
    """Every numeric figure the windows hold, as dotted paths, in first-seen order."""
    paths: dict[str, None] = {}

    def walk(value: Any, prefix: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{prefix}.{key}" if prefix else key)
        elif isinstance(value, int | float) and not isinstance(value, bool) and prefix != "t_s":
            paths.setdefault(prefix, None)

    for window in windows:
        walk(window, "")
    return list(paths)


def summary_table(windows: Sequence[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """{figure: {first, last, max}} for every figure the windows hold."""
    return {path: first_last_max(series(windows, path)) for path in figure_paths(windows)}


def per_service(windows: Sequence[dict[str, Any]], figure: str, pick: str) -> dict[str, float]:
    """{service: first/last/max of figure} ("rss_mb", "last") -> {"mongo": 180.2, ...}."""
    services: dict[str, None] = {}
    for window in windows:
        services.update(dict.fromkeys(window.get(figure, {})))
    out = {}
    for service in services:
        value = first_last_max(series(windows, f"{figure}.{service}"))[pick]
        if value is not None:
            out[service] = value
    return out


def growth_per_hour(windows: Sequence[dict[str, Any]], path: str) -> float | None:
    """Least-squares slope of a figure over the windows' times, per hour (None: < 2 points)."""
    points = [(float(w["t_s"]), v[0]) for w in windows if (v := series([w], path))]
    if len(points) < 2:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return None
    slope = sum((t - mean_t) * (v - mean_v) for t, v in points) / spread
    return round(slope * 3600, 2)


def last_third_growth(values: Sequence[float]) -> float | None:
    """How much a figure still rose over the last third of the run: last - value at 2/3."""
    if len(values) < 3:
        return None
    return round(values[-1] - values[(2 * len(values)) // 3 - 1], 2)


_ACKED = re.compile(r"([\d,]+) acknowledged")


def acknowledged_in(log: str) -> int | None:
    """The simulator's last progress line -> how many check-ins Kafka acknowledged."""
    found = _ACKED.findall(log)
    return int(found[-1].replace(",", "")) if found else None


def lost(acknowledged: int, stored: int) -> int:
    """Acknowledged check-ins the store does not hold (event ids are unique and the consumers
    upsert by id, so stored can exceed acknowledged only by sends whose ack timed out)."""
    return max(0, acknowledged - stored)


def mb(nbytes: float) -> float:
    return round(nbytes / MB, 2)


def total(values: Iterable[float]) -> float:
    return round(sum(values), 2)
