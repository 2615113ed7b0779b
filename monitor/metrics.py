"""Prometheus metrics of the lag sampler, served on 127.0.0.1:METRICS_PORT/metrics.

Names and labels are kafka-lag-exporter's, so its Grafana dashboards work as they are; the
project's own figures are under `checkin_`. Every value comes from the sampler's latest round
(`Latest`, replaced whole after each round), the same `GroupReport` that `python -m
dashboard.lag --json` prints, so a scrape shows what the CLI shows for that sample.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from monitor.alerts import Alert
from monitor.catchup import GroupCatchUp
from monitor.notify import ReceiverStats
from monitor.report import GroupReport

PARTITION_LABELS = ["cluster_name", "group", "topic", "partition", "member_host", "consumer_id",
                    "client_id"]  # fmt: skip


@dataclass(frozen=True)
class Latest:
    """What the sampler's last round saw, for one scrape."""

    at: float | None = None  # epoch seconds of the last finished round
    took_s: float | None = None
    reports: Mapping[str, GroupReport] = field(default_factory=dict)
    catch_up: Mapping[str, GroupCatchUp] = field(default_factory=dict)
    dlq_topic: str = ""
    dlq_size: int | None = None
    events_stored: int | None = None
    freshness_s: float | None = None
    firing: tuple[Alert, ...] = ()


class SamplerCollector:
    """A prometheus-client collector over the sampler's latest round and its counters."""

    def __init__(
        self,
        cluster: str,
        latest: Callable[[], Latest],
        errors: Callable[[], Mapping[str, int]],
        receivers: Callable[[], Mapping[str, ReceiverStats]],
        clock: Callable[[], float] = time.time,
    ):
        self.cluster = cluster
        self.latest = latest
        self.errors = errors
        self.receivers = receivers
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        state = self.latest()
        c = self.cluster
        lag = GaugeMetricFamily(
            "kafka_consumergroup_group_lag",
            "Group offset lag of a partition",
            labels=PARTITION_LABELS,
        )
        lag_s = GaugeMetricFamily(
            "kafka_consumergroup_group_lag_seconds",
            "Group time lag of a partition (age of its oldest unread message)",
            labels=PARTITION_LABELS,
        )
        max_lag = GaugeMetricFamily(
            "kafka_consumergroup_group_max_lag",
            "Max group offset lag",
            labels=["cluster_name", "group"],
        )
        max_lag_s = GaugeMetricFamily(
            "kafka_consumergroup_group_max_lag_seconds",
            "Max group time lag",
            labels=["cluster_name", "group"],
        )
        sum_lag = GaugeMetricFamily(
            "kafka_consumergroup_group_sum_lag",
            "Sum of group offset lag",
            labels=["cluster_name", "group"],
        )
        latest_off = GaugeMetricFamily(
            "kafka_partition_latest_offset", "Latest offset of a partition",
            labels=["cluster_name", "topic", "partition"],
        )  # fmt: skip
        earliest_off = GaugeMetricFamily(
            "kafka_partition_earliest_offset", "Earliest offset of a partition",
            labels=["cluster_name", "topic", "partition"],
        )  # fmt: skip
        g_status = GaugeMetricFamily(
            "checkin_consumergroup_status",
            "1 for the group's Burrow-style status (OK, WARN, REWIND, STALL, STOP, ERR)",
            labels=["group", "status"],
        )
        p_status = GaugeMetricFamily(
            "checkin_partition_status",
            "1 for the partition's Burrow-style status",
            labels=["group", "topic", "partition", "status"],
        )
        g_catch = GaugeMetricFamily(
            "checkin_consumergroup_catchup_seconds",
            "Predicted seconds until the group's lag is 0 (+Inf when growing or stalled)",
            labels=["group", "state"],
        )
        p_catch = GaugeMetricFamily(
            "checkin_partition_catchup_seconds",
            "Predicted seconds until the partition's lag is 0 (+Inf when growing or stalled)",
            labels=["group", "topic", "partition", "state"],
        )
        g_rate = GaugeMetricFamily(
            "checkin_consumergroup_rate", "Messages per second, produced and consumed (committed)",
            labels=["group", "direction"],
        )  # fmt: skip
        p_rate = GaugeMetricFamily(
            "checkin_partition_rate", "Messages per second of a partition",
            labels=["group", "topic", "partition", "direction"],
        )  # fmt: skip
        seen_offsets: set[tuple[str, int]] = set()
        for group, r in sorted(state.reports.items()):
            for p in r.partitions:
                key = (p.topic, p.partition)
                part = str(p.partition)
                if key not in seen_offsets:
                    seen_offsets.add(key)
                    latest_off.add_metric([c, p.topic, part], p.end)
                    earliest_off.add_metric([c, p.topic, part], p.start)
                member = getattr(p, "member_id", None) or ""
                labels = [c, group, p.topic, part, p.host or "", member, p.client_id or ""]
                if p.lag is not None:
                    lag.add_metric(labels, p.lag)
                if p.time_lag_s is not None:
                    lag_s.add_metric(labels, p.time_lag_s)
                p_status.add_metric([group, p.topic, part, p.status], 1)
            lags = [p.lag for p in r.partitions if p.lag is not None]
            if lags:
                max_lag.add_metric([c, group], max(lags))
            if r.worst_time_lag_s is not None:
                max_lag_s.add_metric([c, group], r.worst_time_lag_s)
            if r.total_lag is not None:
                sum_lag.add_metric([c, group], r.total_lag)
            g_status.add_metric([group, r.status], 1)
            for direction, value in (
                ("produced", r.produced_per_s),
                ("consumed", r.consumed_per_s),
            ):
                if value is not None:
                    g_rate.add_metric([group, direction], value)
            cu = state.catch_up.get(group)
            if cu is not None:
                g_catch.add_metric([group, cu.group.state], _seconds(cu.group))
                for name, pc in cu.partitions.items():
                    topic, _, rest = name.rpartition("[")
                    part = rest.rstrip("]")
                    p_catch.add_metric([group, topic, part, pc.state], _seconds(pc))
                    for direction, value in (
                        ("produced", pc.produced_per_s),
                        ("consumed", pc.consumed_per_s),
                    ):
                        if value is not None:
                            p_rate.add_metric([group, topic, part, direction], value)
        yield from (lag, lag_s, max_lag, max_lag_s, sum_lag, latest_off, earliest_off)
        yield from (g_status, p_status, g_catch, p_catch, g_rate, p_rate)
        yield from self._own(state)

    def _own(self, state: Latest) -> Iterator[Metric]:
        if state.dlq_size is not None:
            dlq = GaugeMetricFamily(
                "checkin_dead_letters", "Messages kept on the dead-letter topic", labels=["topic"]
            )
            dlq.add_metric([state.dlq_topic], state.dlq_size)
            yield dlq
        if state.events_stored is not None:
            yield GaugeMetricFamily(
                "checkin_events_stored",
                "Check-in events stored in MongoDB",
                value=state.events_stored,
            )
        if state.freshness_s is not None:
            yield GaugeMetricFamily(
                "checkin_pipeline_freshness_seconds",
                "Seconds the read models are behind what Kafka accepted (end to end)",
                value=state.freshness_s,
            )
        if state.at is not None:
            yield GaugeMetricFamily(
                "checkin_sampler_last_sample_timestamp_seconds",
                "When the sampler's last round ended (epoch seconds)",
                value=state.at,
            )
            yield GaugeMetricFamily(
                "checkin_sampler_last_sample_age_seconds",
                "Seconds since the sampler's last round ended",
                value=max(0.0, self.clock() - state.at),
            )
        if state.took_s is not None:
            yield GaugeMetricFamily(
                "checkin_sampler_sample_duration_seconds",
                "How long the sampler's last round took",
                value=state.took_s,
            )
        errors = CounterMetricFamily(
            "checkin_sampler_errors",
            "Sampling rounds that failed, by what failed",
            labels=["source"],
        )
        for source, count in sorted(self.errors().items()):
            errors.add_metric([source], count)
        yield errors
        firing = GaugeMetricFamily(
            "checkin_alerts_firing", "Alerts firing now", labels=["alertname", "severity"]
        )
        counts: dict[tuple[str, str], int] = {}
        for a in state.firing:
            counts[(a.rule, a.severity)] = counts.get((a.rule, a.severity), 0) + 1
        for (rule, severity), n in sorted(counts.items()):
            firing.add_metric([rule, severity], n)
        yield firing
        sent = CounterMetricFamily(
            "checkin_alert_deliveries", "Alert deliveries a receiver accepted", labels=["receiver"]
        )
        failed = CounterMetricFamily(
            "checkin_alert_delivery_failures",
            "Failed delivery attempts (each retry counts)",
            labels=["receiver"],
        )
        queued = GaugeMetricFamily(
            "checkin_alert_deliveries_queued",
            "Deliveries waiting for a receiver",
            labels=["receiver"],
        )
        for name, s in sorted(self.receivers().items()):
            sent.add_metric([name], s.sent)
            failed.add_metric([name], s.failed_attempts)
            queued.add_metric([name], s.queued)
        yield from (sent, failed, queued)


def _seconds(cu) -> float:
    return (
        math.inf
        if cu.seconds is None and cu.state in ("growing", "stalled")
        else (math.nan if cu.seconds is None else cu.seconds)
    )


def registry(collector: SamplerCollector) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(collector)
    return reg


class MetricsServer:
    """`/metrics` on host:port in a thread of its own; `close` stops it."""

    def __init__(self, reg: CollectorRegistry, port: int, host: str = "127.0.0.1"):
        self.server, self.thread = start_http_server(port, addr=host, registry=reg)
        self.port = self.server.server_port
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(timeout=5)
