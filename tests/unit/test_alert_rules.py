"""Alert rules' `for` logic, table-driven: each case is a sequence of (seconds, condition)
samples, and the transitions expected at which sample."""

from __future__ import annotations

import pytest

from checkins.settings import Settings
from monitor import alerts
from monitor.report import GroupReport, PartitionReport


def partition(lag: int, time_lag: float | None = 0.0, status: str = "OK") -> PartitionReport:
    return PartitionReport(
        topic="T", partition=0, start=0, end=100, committed=100 - lag, lag=lag,
        time_lag_s=time_lag, time_lag_source="message", status=status, colour="", reason="r",
        member_id=None, client_id=None, host=None, last_commit_at=None, last_commit_age_s=None,
        commits=0,
    )  # fmt: skip


def report(status="OK", lag=0, members=1, time_lag=0.0, group="g") -> GroupReport:
    return GroupReport(
        group=group, at="2026-12-01T00:00:00+00:00", state="STABLE", members=members,
        assignor="range", status=status, colour="", reason=f"T[0]: {status} reason",
        total_lag=lag, worst_time_lag_s=time_lag, produced_per_s=None, consumed_per_s=None,
        samples=1, partitions=[partition(lag, time_lag, status)],
    )  # fmt: skip


def obs(at: float, **kw) -> alerts.Observation:
    return alerts.Observation(at=at, **kw)


BAD = {
    "status": lambda at: obs(at, reports={"g": report(status="STALL", lag=5)}),
    "time_lag": lambda at: obs(at, reports={"g": report(lag=5, time_lag=500.0)}),
    "no_members": lambda at: obs(at, reports={"g": report(lag=5, members=0)}),
    "dead_letters": lambda at: obs(at, dlq_topic="D", dlq_size=3, dlq_new=2),
    "freshness": lambda at: obs(at, freshness_s=900.0),
    "kafka": lambda at: obs(at, kafka_error="no answer"),
    "mongo": lambda at: obs(at, mongo_error="ServerSelectionTimeoutError"),
    "silent": lambda at: obs(at, silent=(("tech-1", 2700.0),), silent_after_s=1800),
}
GOOD = {
    "status": lambda at: obs(at, reports={"g": report()}),
    "time_lag": lambda at: obs(at, reports={"g": report(lag=5, time_lag=10.0)}),
    "no_members": lambda at: obs(at, reports={"g": report(lag=0, members=0)}),
    "dead_letters": lambda at: obs(at, dlq_topic="D", dlq_size=3, dlq_new=0),
    "freshness": lambda at: obs(at, freshness_s=5.0),
    "kafka": lambda at: obs(at),
    "mongo": lambda at: obs(at),
    "silent": lambda at: obs(at, silent=(), silent_after_s=1800),
}
RULE_OF = {
    "status": "ConsumerGroupStatus",
    "time_lag": "ConsumerGroupTimeLag",
    "no_members": "ConsumerGroupNoMembers",
    "dead_letters": "NewDeadLetters",
    "freshness": "PipelineFreshness",
    "kafka": "SamplerKafkaUnreachable",
    "mongo": "SamplerMongoUnreachable",
    "silent": "TechniciansSilent",
}
FOR_S = 10.0


def engine() -> alerts.Engine:
    s = Settings(
        alert_status_for_s=FOR_S, alert_time_lag_s=300, alert_time_lag_for_s=FOR_S,
        alert_no_members_for_s=FOR_S, alert_dead_letters_for_s=FOR_S,
        alert_freshness_s=120, alert_freshness_for_s=FOR_S, alert_unreachable_for_s=FOR_S,
        alert_silent_for_s=FOR_S,
    )  # fmt: skip
    return alerts.Engine(alerts.default_rules(s))


# (samples as (seconds, bad?), expected transitions as (seconds, kind))
CASES = {
    "a blip shorter than `for` fires nothing": (
        [(0, True), (5, True), (9, False), (20, False)],
        [],
    ),
    "fires once when held for `for`, once on resolve": (
        [(0, True), (5, True), (10, True), (15, True), (20, True), (25, False), (30, False)],
        [(10, "firing"), (25, "resolved")],
    ),
    "a gap restarts the pending clock": (
        [(0, True), (8, False), (9, True), (15, True), (19, True)],
        [(19, "firing")],
    ),
    "fires again after resolving, as a new alert": (
        [(0, True), (10, True), (11, False), (12, True), (22, True), (23, False)],
        [(10, "firing"), (11, "resolved"), (22, "firing"), (23, "resolved")],
    ),
    "never resolves while it holds": (
        [(0, True), (10, True), (100, True), (1000, True)],
        [(10, "firing")],
    ),
}


@pytest.mark.parametrize("rule", sorted(RULE_OF))
@pytest.mark.parametrize("case", sorted(CASES))
def test_rule_for_logic(rule: str, case: str) -> None:
    samples, expected = CASES[case]
    e = engine()
    seen = []
    for at, bad in samples:
        for t in e.evaluate((BAD if bad else GOOD)[rule](float(at))):
            seen.append((at, t.kind))
            assert t.alert.rule == RULE_OF[rule]
            assert "\n" not in t.text and t.alert.reason
    assert seen == expected


def test_for_zero_fires_on_the_first_sample() -> None:
    e = alerts.Engine([alerts.dead_letters_rule(300, 0.0)])
    fired = e.evaluate(BAD["dead_letters"](0.0))
    assert [t.kind for t in fired] == ["firing"]
    assert (
        fired[0].text
        == "[FIRING] NewDeadLetters: 2 new dead letter(s) on D in the last 300 s (3 kept)"
    )


def test_unanswered_round_resolves_nothing() -> None:
    """Kafka down: the group's alert stays firing (and the Kafka one starts pending)."""
    e = engine()
    e.evaluate(BAD["no_members"](0.0))
    assert [t.kind for t in e.evaluate(BAD["no_members"](10.0))] == ["firing"]
    assert e.evaluate(obs(11.0, kafka_error="no answer")) == []
    assert e.evaluate(obs(12.0, unread_groups=frozenset({"g"}))) == []
    assert [a.rule for a in e.active()] == ["ConsumerGroupNoMembers"]
    resolved = e.evaluate(GOOD["no_members"](13.0))
    assert [(t.kind, t.alert.rule) for t in resolved] == [("resolved", "ConsumerGroupNoMembers")]


def test_a_group_that_went_away_resolves() -> None:
    e = engine()
    e.evaluate(BAD["status"](0.0))
    e.evaluate(BAD["status"](10.0))
    assert [t.kind for t in e.evaluate(obs(11.0))] == ["resolved"]


def test_groups_are_separate_alerts_and_reasons_name_them() -> None:
    e = engine()
    two = {
        "a": report(status="STOP", lag=7, group="a"),
        "b": report(status="STOP", lag=9, group="b"),
    }
    e.evaluate(obs(0.0, reports=two))
    fired = e.evaluate(obs(10.0, reports=two))
    status = [t for t in fired if t.alert.rule == "ConsumerGroupStatus"]
    assert [t.alert.label_dict()["group"] for t in status] == ["a", "b"]
    assert "group a is STOP: T[0]: STOP reason; total lag 7" in status[0].text


def test_restored_alert_resolves_once() -> None:
    e = engine()
    e.evaluate(BAD["freshness"](0.0))
    (fired,) = e.evaluate(BAD["freshness"](10.0))
    again = engine()
    again.restore([fired.alert])
    assert again.evaluate(BAD["freshness"](20.0)) == []  # still firing: not sent again
    (resolved,) = again.evaluate(GOOD["freshness"](30.0))
    assert resolved.kind == "resolved" and resolved.alert.started_at == 10.0
