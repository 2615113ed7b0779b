"""The lag sampler seen by the tools ops teams run: a real Prometheus scraping its /metrics and
a real Alertmanager receiving its alerts, both Debian's, on loopback with temp dirs and free
ports; the consumers and the sampler run as the project's own processes.

One module-scoped setup (topics, sampler, Prometheus, Alertmanager, receiver); the tests run
in file order and each one sets the consumers to the state it needs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from checkins.settings import Settings
from monitor import alert_log
from stack import install
from tests import kafka_tool
from tests.isolation import own_topics_and_database
from tests.monitoring import services
from tests.monitoring.services import Receiver, consumers, produce, promql
from tests.subprocesses import free_port
from tests.waiting import wait_for

INTERVAL_S = 1.0  # the sampler's
FOR_S = 3.0  # ConsumerGroupNoMembers' `for`
# Delivery slack on a loaded 2-core machine: the sampler's round itself (several Kafka calls),
# Alertmanager's flush, one HTTP hop.
SLACK_S = 5.0
RULE = "ConsumerGroupNoMembers"


@dataclass
class Monitored:
    settings: Settings
    tmp: Path
    metrics_url: str
    prometheus: str
    alertmanager: str
    am: services.Alertmanager
    receiver: Receiver
    db: object


@pytest.fixture(scope="module")
def monitored(stack, mongo, tmp_path_factory):
    install.ensure_kafka_jars()  # Kafka's own kafka-consumer-groups, for the broker's figure
    tmp = tmp_path_factory.mktemp("monitoring")
    receiver = Receiver()
    receiver.start()
    metrics_port, prom_port, am_port = free_port(), free_port(), free_port()
    am = services.Alertmanager(tmp, am_port, receiver.url("/am"))
    am_url = am.url
    am.start()
    try:
        with (
            own_topics_and_database(stack, "mon", mongo) as settings,
            services.sampler(
                settings,
                tmp,
                metrics_port,
                sampler_interval_s=INTERVAL_S,
                alert_no_members_for_s=FOR_S,
                # The subject here is the no-members rule. SAMPLE's check-ins are years old,
                # so the silent-technicians rule would fire beside it.
                alert_status_for_s=3600,
                alert_silent_for_s=3600,
                # No periodic re-send during the tests: what reaches Alertmanager after it was
                # down is the retried delivery itself.
                alertmanager_resend_s=3600,
                alert_webhook_url=receiver.url("/hook"),
                alertmanager_url=am_url,
            ),
            services.prometheus(tmp, prom_port, metrics_port) as prom_url,
        ):
            with consumers(settings, tmp):
                produce(settings, 60)  # 60 staff codes: every partition gets a commit
                wait_for(lambda: broker_sum_lag(settings) == 0, 90, "a first catch-up", 1.0)
            yield Monitored(
                settings,
                tmp,
                f"http://127.0.0.1:{metrics_port}/metrics",
                prom_url,
                am_url,
                am,
                receiver,
                mongo[settings.mongodb_database],
            )
    finally:
        am.stop()
        receiver.stop()


def broker_sum_lag(settings: Settings) -> int:
    """Kafka's own figure: the LAG column of kafka-consumer-groups --describe, summed."""
    rows = kafka_tool.describe_group(settings.bootstrap_servers, settings.consumer_group)
    rows = [r for r in rows if r.topic == settings.checkin_topic]
    assert len(rows) == settings.checkin_partitions, rows
    assert all(r.lag is not None for r in rows), rows  # every partition has a commit
    return sum(r.lag for r in rows)


def prom_sum_lag(m: Monitored) -> float | None:
    group = m.settings.consumer_group
    result = promql(m.prometheus, f'kafka_consumergroup_group_sum_lag{{group="{group}"}}')
    return float(result[0]["value"][1]) if result else None


def caught_up(m: Monitored) -> None:
    wait_for(lambda: broker_sum_lag(m.settings) == 0, 90, "the consumers to catch up", 1.0)


def drained(m: Monitored) -> None:
    """No backlog to start from, even after an earlier test failed with the consumers stopped."""
    if broker_sum_lag(m.settings) != 0:
        with consumers(m.settings, m.tmp):
            caught_up(m)


def test_prometheus_sum_lag_equals_the_brokers_figure(monitored: Monitored) -> None:
    m = monitored
    drained(m)
    produce(m.settings, 240)
    stopped = broker_sum_lag(m.settings)
    assert stopped == 240
    wait_for(lambda: prom_sum_lag(m) == stopped, 30, f"PromQL sum lag = {stopped}", 0.5)
    # The same sample's partition series add up, and the topic's offsets are there too.
    group = m.settings.consumer_group
    parts = promql(m.prometheus, f'sum(kafka_consumergroup_group_lag{{group="{group}"}})')
    assert float(parts[0]["value"][1]) == stopped
    ends = promql(
        m.prometheus, f'sum(kafka_partition_latest_offset{{topic="{m.settings.checkin_topic}"}})'
    )
    rows = kafka_tool.describe_group(m.settings.bootstrap_servers, group)
    assert float(ends[0]["value"][1]) == sum(r.log_end_offset for r in rows)
    # /metrics shows what `python -m dashboard.lag --json` prints (offsets stand still).
    cli = json.loads(
        subprocess.run(
            [sys.executable, "-m", "dashboard.lag", "--json"],
            env=services.sampler_env(m.settings),
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    )
    scraped = lag_series(services.get_text(m.metrics_url), group)
    assert scraped == {(p["topic"], p["partition"]): p["lag"] for p in cli["partitions"]}
    assert sum(scraped.values()) == cli["total_lag"] == stopped

    with consumers(m.settings, m.tmp):
        caught_up(m)
        wait_for(lambda: prom_sum_lag(m) == 0, 30, "PromQL sum lag = 0", 0.5)
        assert broker_sum_lag(m.settings) == 0


def lag_series(text: str, group: str) -> dict[tuple[str, int], int]:
    """{(topic, partition): lag} of `group` from /metrics' kafka_consumergroup_group_lag."""
    out = {}
    for family in text_string_to_metric_families(text):
        if family.name != "kafka_consumergroup_group_lag":
            continue
        for sample in family.samples:
            if sample.labels["group"] == group:
                out[(sample.labels["topic"], int(sample.labels["partition"]))] = int(sample.value)
    return out


def fired(m: Monitored, path: str, kind: str, since: float) -> list[float]:
    """Times the receiver got `RULE` as `kind` (firing/resolved) at `path` after `since`."""
    group = m.settings.consumer_group
    out = []
    for at, body in m.receiver.on(path):
        if at < since:
            continue
        if path == "/hook":
            ok = body["alertname"] == RULE and body["labels"]["group"] == group
            ok = ok and body["status"] == kind
        else:  # Alertmanager's webhook: {status, alerts: [{status, labels}]}
            ok = any(
                a["labels"].get("alertname") == RULE
                and a["labels"].get("group") == group
                and a["status"] == kind
                for a in body["alerts"]
            )
        if ok:
            out.append(at)
    return out


def test_alert_reaches_webhook_and_alertmanager_then_resolves(monitored: Monitored) -> None:
    m = monitored
    drained(m)
    cause = time.time()
    produce(m.settings, 30)  # lag, and nobody consuming
    limit = FOR_S + INTERVAL_S + SLACK_S
    hook = wait_for(lambda: fired(m, "/hook", "firing", cause), limit + 30, "the webhook alert")
    am = wait_for(lambda: fired(m, "/am", "firing", cause), limit + 30, "Alertmanager's alert")
    delays = {"webhook": hook[0] - cause, "alertmanager": am[0] - cause}
    print(f"alert delay cause -> receiver: {delays}")
    assert max(delays.values()) <= limit, delays
    # The reason names the group and the figures; the alert is kept as active.
    body = m.receiver.on("/hook")[-1][1]
    assert m.settings.consumer_group in body["text"] and "lag is 30" in body["text"]
    assert [a.rule for a in alert_log.active(m.db)] == [RULE]
    alerts = services.get_json(f"{m.alertmanager}/api/v2/alerts")
    assert any(a["labels"]["alertname"] == RULE for a in alerts)

    resumed = time.time()
    with consumers(m.settings, m.tmp):
        caught_up(m)
        wait_for(lambda: fired(m, "/hook", "resolved", resumed), 30, "the webhook resolution")
        wait_for(lambda: fired(m, "/am", "resolved", resumed), 30, "Alertmanager's resolution")
    # Once each: the firing was not repeated every sample.
    assert len(fired(m, "/hook", "firing", cause)) == 1
    assert len(fired(m, "/hook", "resolved", cause)) == 1
    assert alert_log.active(m.db) == []
    assert alert_log.recent(m.db)[0].ended_at is not None


def metric(m: Monitored, name: str, receiver: str) -> float:
    for line in services.get_text(m.metrics_url).splitlines():
        if line.startswith(f'{name}{{receiver="{receiver}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_receiver_down_loses_no_alert_once_back(monitored: Monitored) -> None:
    m = monitored
    drained(m)
    failures = metric(m, "checkin_alert_delivery_failures_total", "webhook")
    m.receiver.stop()  # both the webhook and Alertmanager's receiver are down
    try:
        cause = time.time()
        produce(m.settings, 10)
        wait_for(
            lambda: metric(m, "checkin_alert_delivery_failures_total", "webhook") > failures,
            FOR_S + INTERVAL_S + 30,
            "a failed delivery counted in /metrics",
            0.5,
        )
        # What the UI shows: the sampler's status document, rewritten every round.
        status = wait_for(
            lambda: (
                (alert_log.read_status(m.db) or {})
                .get("receivers", {})
                .get("webhook", {})
                .get("failedAttempts")
            ),
            10,
            "the failure in the sampler's status",
            0.5,
        )
        assert status > 0 and alert_log.read_status(m.db)["receivers"]["webhook"]["lastError"]
    finally:
        m.receiver.start()  # same port
    wait_for(
        lambda: fired(m, "/hook", "firing", cause), 60, "the alert after the receiver came back"
    )
    # Alertmanager retries its own receivers: it delivers too.
    wait_for(lambda: fired(m, "/am", "firing", cause), 60, "Alertmanager's alert once back")
    with consumers(m.settings, m.tmp):
        caught_up(m)
        wait_for(lambda: fired(m, "/hook", "resolved", cause), 30, "the resolution")


def test_alertmanager_down_loses_no_alert_once_back(monitored: Monitored) -> None:
    m = monitored
    drained(m)
    failures = metric(m, "checkin_alert_delivery_failures_total", "alertmanager")
    m.am.stop()
    try:
        cause = time.time()
        produce(m.settings, 10)
        wait_for(lambda: fired(m, "/hook", "firing", cause), 60, "the webhook alert")
        wait_for(
            lambda: metric(m, "checkin_alert_delivery_failures_total", "alertmanager") > failures,
            30,
            "a failed delivery to Alertmanager counted",
            0.5,
        )
    finally:
        m.am.start()  # same port, same storage
    wait_for(lambda: fired(m, "/am", "firing", cause), 60, "Alertmanager's alert once it is back")
    with consumers(m.settings, m.tmp):
        caught_up(m)
        wait_for(lambda: fired(m, "/am", "resolved", cause), 30, "Alertmanager's resolution")
