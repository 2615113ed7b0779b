"""Group history diffs, notification payloads and retries, the metrics' text, freshness and
new dead letters: the monitor's pure parts (and a loopback HTTP receiver, no services)."""

from __future__ import annotations

import threading
import time

from prometheus_client import generate_latest

from monitor import alerts, catchup, group_events, notify
from monitor.group_events import Member, Membership
from monitor.metrics import Latest, SamplerCollector, registry
from monitor.offsets import GroupSnapshot, PartitionOffsets
from monitor.report import build
from monitor.watch import Throttled, freshness, new_dead_letters
from tests.monitoring.services import Receiver
from tests.waiting import wait_for


def member(mid: str, *parts: str) -> Member:
    return Member(mid, f"client-{mid}", "/10.0.0.1", frozenset(parts))


def test_group_changes_name_state_members_and_assignment() -> None:
    before = Membership("g", "STABLE", {"a": member("a", "T[0]", "T[1]"), "b": member("b", "T[2]")})
    after = Membership("g", "STABLE", {"a": member("a", "T[0]", "T[1]", "T[2]")})
    kinds = [(e.kind, e.text) for e in group_events.changes(before, after, 10.0)]
    assert kinds[0] == ("rebalance", "rebalance: 2 -> 1 members (+0 joined, -1 left, 1 reassigned)")
    assert kinds[1] == ("left", "client-b@/10.0.0.1 (b) left, owned T[2]")
    assert kinds[2] == ("assignment", "client-a@/10.0.0.1 (a): T[0], T[1] -> T[0], T[1], T[2]")
    empty = Membership("g", "EMPTY", {})
    assert [e.kind for e in group_events.changes(after, empty, 11.0)] == [
        "state",
        "rebalance",
        "left",
    ]
    assert group_events.changes(None, after, 12.0) == []  # first sight: nothing changed
    assert group_events.changes(after, after, 13.0) == []


def firing_transition() -> alerts.Transition:
    a = alerts.Alert("ConsumerGroupNoMembers", (("group", "g"),), "critical", "s", "why", 0.0, 60.0)
    return alerts.Transition("firing", a)


def test_payloads_webhook_text_and_alertmanager_times() -> None:
    t = firing_transition()
    hook = notify.webhook_payload(t)
    assert hook["text"] == "[FIRING] ConsumerGroupNoMembers: why"
    assert hook["labels"] == {"alertname": "ConsumerGroupNoMembers", "group": "g"}
    (am,) = notify.alertmanager_payload([t.alert], now=100.0, resend_s=60.0)
    assert am["startsAt"] == "1970-01-01T00:01:00+00:00"
    assert am["endsAt"] == "1970-01-01T00:05:40+00:00"  # now + 4 resend intervals
    assert am["labels"]["severity"] == "critical" and am["annotations"]["description"] == "why"


def test_dispatcher_retries_until_the_receiver_answers_and_never_blocks() -> None:
    receiver = Receiver()
    receiver.start()
    port = receiver.port
    receiver.stop()  # down at first
    d = notify.Dispatcher([notify.webhook_receiver(f"http://127.0.0.1:{port}/h")], clock=time.time,
                          max_backoff_s=0.5)  # fmt: skip
    try:
        started = time.monotonic()
        d.submit("webhook", firing_transition())
        assert time.monotonic() - started < 0.1  # submit returns at once
        wait_for(lambda: d.stats()["webhook"].failed_attempts >= 2, 10, "failed attempts")
        assert d.stats()["webhook"].last_error and d.stats()["webhook"].sent == 0
        back = Receiver(port)
        back.start()
        try:
            wait_for(lambda: back.on("/h"), 10, "the delivery once the receiver is back")
            assert back.on("/h")[0][1]["status"] == "firing"
            wait_for(lambda: d.stats()["webhook"].sent == 1, 5, "the success counted")
        finally:
            back.stop()
    finally:
        d.close()
    assert not [t for t in threading.enumerate() if t.name == "notify-webhook" and t.is_alive()]


def snap(at: float, committed: int | None, end: int = 100) -> GroupSnapshot:
    row = PartitionOffsets("T", 0, 0, end, committed, "c1", "/10.0.0.1")
    return GroupSnapshot("g", at, "STABLE", 1, "range", (row,))


def test_metrics_text_has_the_exporter_names_and_the_reports_values() -> None:
    then, now = snap(1000.0, 10, 80), snap(1010.0, 40, 100)
    report = build(now, [then])
    cu = catchup.estimate(report, [then], now.at)
    latest = Latest(at=1010.0, took_s=0.2, reports={"g": report}, catch_up={"g": cu},
                    dlq_topic="D", dlq_size=3, events_stored=7, freshness_s=1.5)  # fmt: skip
    collector = SamplerCollector(
        "local", lambda: latest, lambda: {"kafka": 1}, dict, lambda: 1012.0
    )
    text = generate_latest(registry(collector)).decode()
    assert (
        'kafka_consumergroup_group_lag{client_id="c1",cluster_name="local",consumer_id="",'
        'group="g",member_host="/10.0.0.1",partition="0",topic="T"} 60.0' in text
    )
    assert 'kafka_consumergroup_group_sum_lag{cluster_name="local",group="g"} 60.0' in text
    assert 'kafka_consumergroup_group_max_lag{cluster_name="local",group="g"} 60.0' in text
    assert (
        'kafka_partition_latest_offset{cluster_name="local",partition="0",topic="T"} 100.0' in text
    )
    assert 'checkin_consumergroup_status{group="g",status="OK"} 1.0' in text
    # 60 behind, +2/s produced, +3/s consumed: 60 s to catch up
    assert 'checkin_consumergroup_catchup_seconds{group="g",state="catching up"} 60.0' in text
    assert 'checkin_dead_letters{topic="D"} 3.0' in text
    assert "checkin_sampler_last_sample_age_seconds 2.0" in text
    assert 'checkin_sampler_errors_total{source="kafka"} 1.0' in text


def test_growing_catch_up_is_infinite_in_the_metrics() -> None:
    then, now = snap(1000.0, 10, 50), snap(1010.0, 10, 100)
    report = build(now, [then])
    cu = catchup.estimate(report, [then], now.at)
    assert cu.group.state == "growing"
    text = generate_latest(
        registry(
            SamplerCollector(
                "x", lambda: Latest(reports={"g": report}, catch_up={"g": cu}), dict, dict
            )
        )  # fmt: skip
    ).decode()
    assert 'checkin_consumergroup_catchup_seconds{group="g",state="growing"} +Inf' in text


def test_freshness_is_the_newest_accepted_against_the_oldest_unread() -> None:
    now = snap(1000.0, 40, 100)
    report = build(now, [], {("T", 0): 970.0})  # oldest unread written at 970
    assert freshness(report, {("T", 0): 995.0}, 1000.0) == 25.0  # newest accepted at 995
    assert freshness(build(snap(1000.0, 100)), {}, 1000.0) == 0.0  # nothing unread
    assert freshness(report, {}, 1000.0) is None  # lagging, newest unknown


def test_new_dead_letters_within_the_window() -> None:
    ends = [(0.0, 5), (10.0, 5), (20.0, 8)]
    assert new_dead_letters(ends, 20.0, 30.0) == 3
    assert new_dead_letters(ends, 20.0, 5.0) == 0  # only the last sample in the window
    assert new_dead_letters([], 20.0, 5.0) is None


def test_message_time_reads_are_merged_per_partition() -> None:
    from monitor.watch import batches

    wanted = {"a": {("T", 0): 5, ("U", 0): 1}, "b": {("T", 0): 5}, "c": {("T", 0): 9}}
    assert batches(wanted) == [{("T", 0): 5, ("U", 0): 1}, {("T", 0): 9}]


def test_a_failing_webhook_never_logs_its_url(caplog) -> None:
    from checkins.settings import Settings

    url = "http://127.0.0.1:1/services/T000/B000/secret-token-123"
    settings = Settings(alert_webhook_url=url)
    assert "secret-token-123" not in repr(settings)
    notifier = notify.Notifier(settings, time.time)
    try:
        with caplog.at_level("WARNING", logger="lag-sampler.notify"):
            notifier.publish([firing_transition()], [])
            wait_for(lambda: notifier.stats()["webhook"].failed_attempts >= 1, 10, "a failure")
            wait_for(lambda: "alert receiver webhook" in caplog.text, 5, "the failure logged")
    finally:
        notifier.close()
    assert "secret-token-123" not in caplog.text and "127.0.0.1:1" not in caplog.text
    assert "secret-token-123" not in str(notifier.stats())


def test_a_throttled_store_read_runs_at_most_once_a_period_and_retries_after_a_failure():
    reads: list[float] = []

    def read() -> int:
        reads.append(1)
        return len(reads)

    counted = Throttled(30)
    assert [counted.get(t, read) for t in (0, 10, 29.9, 30, 45)] == [1, 1, 1, 2, 2]
    failing = Throttled(30)
    assert failing.get(0, lambda: None) is None
    assert failing.get(1, read) == 3  # a failed read is tried again at the next round
