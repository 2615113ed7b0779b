"""What `python -m dashboard.lag` adds to a group's report: time to catch up (per group and
partition), the group's latest history events and the alerts firing now. Read from the
sampler's history and collections; a store that does not answer is a note, not a failure."""

from __future__ import annotations

from datetime import UTC, datetime

from pymongo.database import Database
from pymongo.errors import PyMongoError

from monitor import alert_log, catchup, group_events
from monitor import history as lag_history
from monitor.alerts import iso
from monitor.report import RATE_WINDOW_SECONDS, GroupReport

EVENTS_SHOWN = 10


def extras(db: Database, report: GroupReport) -> tuple[dict, list[str]]:
    """({"catch_up", "group_events", "alerts"}, notes) for the JSON and the text."""
    notes: list[str] = []
    now_at = datetime.fromisoformat(report.at).timestamp()
    try:
        history = lag_history.recent(db, report.group, 2 * RATE_WINDOW_SECONDS)
        events = group_events.latest(db, report.group, EVENTS_SHOWN)
        firing = [
            a for a in alert_log.active(db) if dict(a.labels).get("group") in (None, report.group)
        ]
    except PyMongoError as exc:
        notes.append(f"no catch-up, group history or alerts: MongoDB did not answer "
                     f"({type(exc).__name__})")  # fmt: skip
        history, events, firing = [], [], []
    return {
        "catch_up": catchup.estimate(report, history, now_at).as_dict(),
        "group_events": [
            {"at": iso(e.at), "kind": e.kind, "text": e.text, "member": e.member} for e in events
        ],
        "alerts": [
            {
                "alertname": a.rule,
                "severity": a.severity,
                "since": iso(a.started_at),
                "reason": a.reason,
            }  # fmt: skip
            for a in firing
        ],
    }, notes


def render(more: dict) -> list[str]:
    cu = more["catch_up"]
    seconds = "-" if cu["seconds"] is None else f"{cu['seconds']:.0f} s"
    lines = ["", f"time to catch up: {cu['state']} ({seconds})"]
    for name, p in cu["partitions"].items():
        if p["state"] not in (catchup.CAUGHT_UP, catchup.IDLE):
            s = "-" if p["seconds"] is None else f"{p['seconds']:.0f} s"
            lines.append(f"  {name} {p['state']} ({s})")
    if more["alerts"]:
        lines += ["", "alerts firing:"]
        lines += [f"  {a['alertname']} since {a['since']}: {a['reason']}" for a in more["alerts"]]
    lines += ["", "group history (newest first):"]
    if not more["group_events"]:
        lines.append("  (none recorded: is the lag sampler running?)")
    for e in more["group_events"]:
        at = datetime.fromisoformat(e["at"]).astimezone(UTC).strftime("%H:%M:%S")
        lines.append(f"  {at} {e['kind']}: {e['text']}")
    return lines
