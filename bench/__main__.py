"""python -m bench [section ...]: run every section (or the named ones), print a table, write
the figures as JSON to bench-results/bench.json. A section that fails is reported as failed,
in the table and the JSON, and makes the exit status 1; none is skipped silently.

Each section is a module `bench.<name>` with `run(settings) -> dict`, and optionally
`summary(figures) -> str` (printed after the table, e.g. a side-by-side comparison). A section
may raise `bench.SectionSkipped(reason)` when it cannot run here: it is reported as skipped, with
the reason. Sections take their own knobs from the environment (e.g. BENCH_PIPELINE_EVENTS,
BENCH_DASHBOARD_SCALE, BENCH_CONNECT_EVENTS).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import SectionSkipped
from checkins.settings import get_settings

SECTIONS = ["pipeline", "connect_sink", "api", "dashboard_queries", "monitoring", "soak"]
OUTPUT = Path(__file__).resolve().parent.parent / "bench-results" / "bench.json"


def flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """{'a': {'b': 1}, 'c': [1, 2]} -> [('a.b', '1'), ('c', '[1, 2]')] for the table."""
    if isinstance(value, dict):
        rows = []
        for key, inner in value.items():
            rows.extend(flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return rows
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return [(prefix, f"({len(value)} rows, in bench.json)")]
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return [(prefix, text)]


def table(results: dict[str, dict[str, Any]]) -> str:
    rows = [("section", "figure", "value")]
    for section, figures in results.items():
        rows.extend((section, name, text) for name, text in flatten(figures))
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    return "\n".join(f"{r[0].ljust(widths[0])}  {r[1].ljust(widths[1])}  {r[2]}" for r in rows)


def run_section(name: str, settings) -> dict[str, Any]:
    began = time.perf_counter()
    try:
        module = importlib.import_module(f"bench.{name}")
        figures = module.run(settings)
        status = "ok"
    except SectionSkipped as exc:
        print(f"bench: {name} skipped: {exc}", file=sys.stderr, flush=True)
        figures = {"reason": str(exc)}
        status = "skipped"
    except Exception as exc:  # noqa: BLE001 - a failed section is reported, never hidden
        traceback.print_exc()
        figures = {"error": f"{type(exc).__name__}: {exc}"}
        status = "failed"
    return {"status": status, "seconds": round(time.perf_counter() - began, 1), **figures}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("sections", nargs="*", metavar="section", help=f"default: {SECTIONS}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {unknown}; known: {SECTIONS}")
    chosen = args.sections or SECTIONS
    settings = get_settings()
    results: dict[str, dict[str, Any]] = {}
    for name in chosen:
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        results[name] = run_section(name, settings)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    report = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "sections": results}
    OUTPUT.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(table(results))
    for name, figures in results.items():
        if figures["status"] != "ok":
            continue
        summary = getattr(importlib.import_module(f"bench.{name}"), "summary", None)
        if summary is not None:
            print(f"\n{name}:\n{summary(figures)}")
    print(f"\nwritten to {OUTPUT}")
    return 0 if all(r["status"] in ("ok", "skipped") for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
