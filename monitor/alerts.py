"""Alert rules and their `for` logic, evaluated by the sampler on every sample. Pure.

A rule looks at one `Observation` (what the sampler saw this round) and returns the findings
that hold now: one per group for group rules, one at most for the others. The `Engine` keeps,
per alert (rule + labels), since when its condition has held; like a Prometheus rule it
becomes *firing* once the condition has held for the rule's `for_s`, and *resolved* at the
first sample it no longer holds. Each alert yields exactly two transitions, one when it fires
and one when it resolves, whatever the number of samples in between.

A rule that cannot judge this round (Kafka did not answer, a group's read failed) leaves its
alerts as they are: an unanswered question resolves nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from monitor.report import GroupReport

OK = "OK"
# Burrow's group status for a group without any commit (the lag fix's report): nothing to judge.
NOT_JUDGED = {OK, "NOTFOUND"}


@dataclass(frozen=True)
class Observation:
    """What one sampling round saw. `reports` holds the groups read this round."""

    at: float  # epoch seconds
    reports: Mapping[str, GroupReport] = field(default_factory=dict)
    unread_groups: frozenset[str] = frozenset()  # sampled groups whose read failed
    kafka_error: str | None = None  # why Kafka did not answer (an exception class), if it didn't
    mongo_error: str | None = None
    dlq_topic: str = ""
    dlq_size: int | None = None  # messages kept on the DLQ now
    dlq_new: int | None = None  # dead letters written within the rule's window
    freshness_s: float | None = None
    # Silent technicians (staffCode, seconds quiet), the longest first; None: not read.
    silent: tuple[tuple[str, float], ...] | None = None
    silent_after_s: float = 0.0


@dataclass(frozen=True)
class Finding:
    labels: tuple[tuple[str, str], ...]  # sorted (name, value) pairs, besides alertname
    reason: str  # one line: the group, partitions and figures


@dataclass(frozen=True)
class Rule:
    name: str  # the alertname
    for_s: float
    severity: str
    summary: str
    check: Callable[[Observation], Iterable[Finding]]
    # Whether this round can tell that an alert with these labels no longer holds.
    can_judge: Callable[[Observation, Mapping[str, str]], bool] = lambda obs, labels: True


@dataclass(frozen=True)
class Alert:
    rule: str
    labels: tuple[tuple[str, str], ...]
    severity: str
    summary: str
    reason: str
    pending_since: float
    started_at: float | None = None  # when it fired
    ended_at: float | None = None  # when it resolved

    @property
    def key(self) -> str:
        return alert_key(self.rule, self.labels)

    @property
    def firing(self) -> bool:
        return self.started_at is not None and self.ended_at is None

    def label_dict(self) -> dict[str, str]:
        return {"alertname": self.rule, **dict(self.labels)}


@dataclass(frozen=True)
class Transition:
    kind: str  # "firing" or "resolved"
    alert: Alert

    @property
    def text(self) -> str:
        """The one line a person reads (a webhook's `text`)."""
        mark = "FIRING" if self.kind == "firing" else "RESOLVED"
        return f"[{mark}] {self.alert.rule}: {self.alert.reason}"


def alert_key(rule: str, labels: Iterable[tuple[str, str]]) -> str:
    return rule + "{" + ",".join(f"{k}={v}" for k, v in sorted(labels)) + "}"


def labels_of(**values: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(values.items()))


class Engine:
    """Per alert, pending -> firing -> resolved; `evaluate` returns the transitions of a round."""

    def __init__(self, rules: Sequence[Rule]):
        self.rules = {r.name: r for r in rules}
        self.alerts: dict[str, Alert] = {}  # pending or firing, by key

    def restore(self, firing: Iterable[Alert]) -> None:
        """Alerts left firing by a previous run: they resolve (once) when the rule says so."""
        for alert in firing:
            if alert.rule in self.rules and alert.firing:
                self.alerts[alert.key] = alert

    def active(self) -> list[Alert]:
        return sorted((a for a in self.alerts.values() if a.firing), key=lambda a: a.key)

    def evaluate(self, obs: Observation) -> list[Transition]:
        out: list[Transition] = []
        seen: set[str] = set()
        for rule in self.rules.values():
            for finding in rule.check(obs):
                key = alert_key(rule.name, finding.labels)
                seen.add(key)
                current = self.alerts.get(key)
                if current is None:
                    current = Alert(
                        rule.name,
                        finding.labels,
                        rule.severity,
                        rule.summary,
                        finding.reason,
                        pending_since=obs.at,
                    )
                elif not current.firing:
                    current = replace(current, reason=finding.reason)
                # A firing alert keeps the reason it fired with: that is what was sent.
                if not current.firing and obs.at - current.pending_since >= rule.for_s:
                    current = replace(current, started_at=obs.at)
                    out.append(Transition("firing", current))
                self.alerts[key] = current
        for key, current in list(self.alerts.items()):
            if key in seen:
                continue
            rule = self.rules[current.rule]
            if not rule.can_judge(obs, dict(current.labels)):
                continue
            del self.alerts[key]
            if current.firing:
                out.append(Transition("resolved", replace(current, ended_at=obs.at)))
        return out


# --- the rules ---------------------------------------------------------------------------


def _partitions(report: GroupReport, wanted: Callable) -> str:
    names = [f"{p.topic}[{p.partition}]" for p in report.partitions if wanted(p)]
    shown = ", ".join(names[:6])
    return shown + (f" (+{len(names) - 6} more)" if len(names) > 6 else "")


def _group_judged(obs: Observation, labels: Mapping[str, str]) -> bool:
    return obs.kafka_error is None and labels.get("group") not in obs.unread_groups


def status_rule(for_s: float) -> Rule:
    def check(obs: Observation) -> Iterable[Finding]:
        for group, r in sorted(obs.reports.items()):
            if r.status not in NOT_JUDGED:
                yield Finding(
                    labels_of(group=group),
                    f"group {group} is {r.status}: {r.reason}; total lag {r.total_lag or 0:,}",
                )

    return Rule(
        "ConsumerGroupStatus",
        for_s,
        "warning",
        "A consumer group's Burrow-style status is not OK",
        check,
        _group_judged,
    )


def time_lag_rule(threshold_s: float, for_s: float) -> Rule:
    def check(obs: Observation) -> Iterable[Finding]:
        for group, r in sorted(obs.reports.items()):
            worst = r.worst_time_lag_s
            if worst is not None and worst > threshold_s:
                over = _partitions(
                    r, lambda p: p.time_lag_s is not None and p.time_lag_s > threshold_s
                )
                yield Finding(
                    labels_of(group=group),
                    f"group {group}: worst time lag {worst:.0f} s > {threshold_s:.0f} s "
                    f"on {over}; total lag {r.total_lag or 0:,}",
                )

    return Rule(
        "ConsumerGroupTimeLag",
        for_s,
        "warning",
        "A consumer group is too far behind in time",
        check,
        _group_judged,
    )


def no_members_rule(for_s: float) -> Rule:
    def check(obs: Observation) -> Iterable[Finding]:
        for group, r in sorted(obs.reports.items()):
            if r.members == 0 and (r.total_lag or 0) > 0:
                lagging = _partitions(r, lambda p: (p.lag or 0) > 0)
                yield Finding(
                    labels_of(group=group),
                    f"group {group} has no members while lag is {r.total_lag:,} on {lagging}",
                )

    return Rule(
        "ConsumerGroupNoMembers",
        for_s,
        "critical",
        "A consumer group has lag and nobody consuming",
        check,
        _group_judged,
    )


def dead_letters_rule(window_s: float, for_s: float) -> Rule:
    def check(obs: Observation) -> Iterable[Finding]:
        if obs.dlq_new:
            yield Finding(
                labels_of(topic=obs.dlq_topic),
                f"{obs.dlq_new:,} new dead letter(s) on {obs.dlq_topic} in the last "
                f"{window_s:.0f} s ({obs.dlq_size or 0:,} kept)",
            )

    return Rule(
        "NewDeadLetters",
        for_s,
        "warning",
        "Messages the consumers could not process went to the dead-letter topic",
        check,
        lambda obs, labels: obs.kafka_error is None and obs.dlq_new is not None,
    )


def freshness_rule(threshold_s: float, for_s: float) -> Rule:
    def check(obs: Observation) -> Iterable[Finding]:
        if obs.freshness_s is not None and obs.freshness_s > threshold_s:
            yield Finding(
                (),
                f"the read models are {obs.freshness_s:.0f} s behind what Kafka accepted "
                f"(threshold {threshold_s:.0f} s)",
            )

    return Rule(
        "PipelineFreshness",
        for_s,
        "warning",
        "What the dashboard shows is behind what Kafka has accepted",
        check,
        lambda obs, labels: obs.freshness_s is not None,
    )


def silent_rule(for_s: float) -> Rule:
    """One alert for the fleet (not one per technician, which would page once per device):
    it fires when someone goes silent and resolves when no one is."""

    def check(obs: Observation) -> Iterable[Finding]:
        if obs.silent:
            oldest = ", ".join(f"{staff} {quiet / 60:.0f} min" for staff, quiet in obs.silent[:5])
            more = f" (+{len(obs.silent) - 5} more)" if len(obs.silent) > 5 else ""
            yield Finding(
                (),
                f"{len(obs.silent)} technician(s) silent for over "
                f"{obs.silent_after_s / 60:.0f} min with an open order: {oldest}{more}",
            )

    return Rule(
        "TechniciansSilent",
        for_s,
        "warning",
        "Technicians have not checked in for longer than SILENT_AFTER",
        check,
        lambda obs, labels: obs.silent is not None,
    )


def unreachable_rules(for_s: float) -> list[Rule]:
    def kafka(obs: Observation) -> Iterable[Finding]:
        if obs.kafka_error:
            yield Finding((), f"the lag sampler cannot reach Kafka ({obs.kafka_error})")

    def mongo(obs: Observation) -> Iterable[Finding]:
        if obs.mongo_error:
            yield Finding((), f"the lag sampler cannot reach MongoDB ({obs.mongo_error})")

    return [
        Rule(
            "SamplerKafkaUnreachable",
            for_s,
            "critical",
            "The lag sampler cannot reach Kafka",
            kafka,
        ),
        Rule(
            "SamplerMongoUnreachable",
            for_s,
            "critical",
            "The lag sampler cannot reach MongoDB",
            mongo,
        ),
    ]


def default_rules(settings) -> list[Rule]:
    """The rules with the settings' thresholds and durations (`ALERT_*`)."""
    return [
        status_rule(settings.alert_status_for_s),
        time_lag_rule(settings.alert_time_lag_s, settings.alert_time_lag_for_s),
        no_members_rule(settings.alert_no_members_for_s),
        dead_letters_rule(settings.alert_dead_letters_window_s, settings.alert_dead_letters_for_s),
        freshness_rule(settings.alert_freshness_s, settings.alert_freshness_for_s),
        *unreachable_rules(settings.alert_unreachable_for_s),
        silent_rule(settings.alert_silent_for_s),
    ]


def iso(at: float | None) -> str | None:
    return None if at is None else datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")
