"""Active and recent alerts in MongoDB (`alerts`), for the lag page, the overview and a
restarted sampler. One document per alert instance, written by the sampler only:

    {_id: "<rule>{labels}@<started ISO>", rule, labels, severity, summary, reason,
     startsAt, endsAt: <date or null>, state: "firing" | "resolved"}

Small by design (resolved alerts are pruned after `RETENTION_SECONDS`), so reading it whole
is cheap even where the store scans (FerretDB on SQLite uses no secondary index).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pymongo import DESCENDING
from pymongo.database import Database

from monitor.alerts import Alert, Transition

COLLECTION = "alerts"
RETENTION_SECONDS = 7 * 24 * 3600


def _date(at: float | None) -> datetime | None:
    return None if at is None else datetime.fromtimestamp(at, UTC)


def _seconds(at: datetime | None) -> float | None:
    if at is None:
        return None
    return (at.replace(tzinfo=UTC) if at.tzinfo is None else at).timestamp()


def doc_id(alert: Alert) -> str:
    started = datetime.fromtimestamp(alert.started_at or alert.pending_since, UTC)
    return f"{alert.key}@{started.isoformat(timespec='seconds')}"


def record(db: Database, transitions: list[Transition]) -> None:
    for t in transitions:
        a = t.alert
        db[COLLECTION].replace_one(
            {"_id": doc_id(a)},
            {
                "rule": a.rule,
                "labels": dict(a.labels),
                "severity": a.severity,
                "summary": a.summary,
                "reason": a.reason,
                "pendingSince": _date(a.pending_since),
                "startsAt": _date(a.started_at),
                "endsAt": _date(a.ended_at),
                "state": t.kind,
            },
            upsert=True,
        )


def _alert(doc: dict) -> Alert:
    return Alert(
        rule=doc["rule"],
        labels=tuple(sorted(doc.get("labels", {}).items())),
        severity=doc.get("severity", ""),
        summary=doc.get("summary", ""),
        reason=doc.get("reason", ""),
        pending_since=_seconds(doc.get("pendingSince")) or _seconds(doc["startsAt"]) or 0.0,
        started_at=_seconds(doc["startsAt"]),
        ended_at=_seconds(doc.get("endsAt")),
    )


def active(db: Database) -> list[Alert]:
    """Alerts firing now, oldest first."""
    docs = db[COLLECTION].find({"state": "firing"})
    return sorted((_alert(d) for d in docs), key=lambda a: a.started_at or 0.0)


def recent(db: Database, limit: int = 20) -> list[Alert]:
    """The newest alerts, firing or resolved, newest first."""
    docs = db[COLLECTION].find().sort("startsAt", DESCENDING).limit(limit)
    return [_alert(d) for d in docs]


def prune(db: Database, retention: int = RETENTION_SECONDS) -> int:
    cutoff = datetime.now(UTC) - timedelta(seconds=retention)
    result = db[COLLECTION].delete_many({"state": "resolved", "endsAt": {"$lt": cutoff}})
    return result.deleted_count


# The sampler's own health, for the UI: deliveries per receiver, last sample. One document.
STATUS = "monitor_status"


def write_status(db: Database, status: dict) -> None:
    db[STATUS].replace_one({"_id": "sampler"}, {**status, "at": datetime.now(UTC)}, upsert=True)


def read_status(db: Database) -> dict | None:
    return db[STATUS].find_one({"_id": "sampler"})
