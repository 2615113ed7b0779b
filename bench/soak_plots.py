"""One small PNG per soak figure into bench-results/ (matplotlib, Agg: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the backend

from bench.soak_figures import series  # noqa: E402

# file stem, title, y label, the figures' dotted paths (a "*" takes every key under it)
PLOTS = [
    ("soak-rss", "Resident memory per service", "MB", ["rss_mb.*"]),
    ("soak-cpu", "CPU per service (% of one core)", "%", ["cpu_pct.*"]),
    ("soak-store", "Store on disk", "MB", ["store_mb", "wal_mb", "wal_mb_max"]),
    ("soak-kafka-log", "Kafka log on disk", "MB", ["kafka_log_mb"]),
    ("soak-lag", "Consumer lag", "messages", ["lag"]),
    (
        "soak-latency",
        "Produce to visible (API check-ins)",
        "ms",
        ["latency_ms.p50", "latency_ms.p95", "latency_ms.p99"],
    ),
    ("soak-dashboard", "Dashboard pages", "ms", ["pages.*.load_ms", "pages.*.live_ms_p50"]),
]


def expand(windows: list[dict[str, Any]], path: str) -> list[str]:
    """ "rss_mb.*" -> ["rss_mb.mongo", ...]; "pages.*.load_ms" -> ["pages.map.load_ms", ...]."""
    if "*" not in path:
        return [path]
    head, _, tail = path.partition(".*")
    keys: dict[str, None] = {}
    for window in windows:
        value: Any = window
        for key in head.split("."):
            value = value.get(key, {}) if isinstance(value, dict) else {}
        keys.update(dict.fromkeys(value))
    return [f"{head}.{key}{tail}" for key in keys]


def draw(windows: list[dict[str, Any]], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, title, unit, paths in PLOTS:
        fig, ax = plt.subplots(figsize=(6.4, 3.2), dpi=100)
        for path in [p for pattern in paths for p in expand(windows, pattern)]:
            points = [(w["t_s"] / 60, v[0]) for w in windows if (v := series([w], path))]
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, marker=".", label=path.split(".", 1)[-1] if "." in path else path)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("minutes into the run")
        ax.set_ylabel(unit)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
        fig.tight_layout()
        out = folder / f"{stem}.png"
        fig.savefig(out)
        plt.close(fig)
        written.append(out)
    return written
