"""The Kafka cluster as the lag monitor shows it: brokers up or down, the controller, and per
partition the leader, replicas and in-sync replicas, with the under-replicated and offline ones.

One metadata request (`describe`, the I/O edge) feeds `shape`, which is pure. Kafka lists only
the brokers that are up, so a broker that is down is known from the replica lists that still
name it; a configured bootstrap address that is not among the live brokers is named too (it is
how the user knows that broker; it does not change the status). "Controller" is the id Kafka
reports in its metadata; on a KRaft cluster that is a live broker that forwards to the active
controller.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

OK, DEGRADED, OFFLINE = "OK", "DEGRADED", "OFFLINE"


@dataclass(frozen=True)
class Broker:
    id: int
    address: str | None  # None for a broker that is down: Kafka no longer says where it was
    up: bool
    controller: bool = False


@dataclass(frozen=True)
class PartitionReplicas:
    topic: str
    partition: int
    leader: int | None  # None: offline, no replica can serve it
    replicas: tuple[int, ...]
    isr: tuple[int, ...]

    @property
    def offline(self) -> bool:
        return self.leader is None

    @property
    def under_replicated(self) -> bool:
        return len(self.isr) < len(self.replicas)

    @property
    def out_of_sync(self) -> tuple[int, ...]:
        return tuple(r for r in self.replicas if r not in self.isr)


@dataclass(frozen=True)
class ClusterView:
    brokers: tuple[Broker, ...]
    controller: int | None
    partitions: tuple[PartitionReplicas, ...]  # every partition, internal topics included
    unanswered: tuple[str, ...] = field(default_factory=tuple)  # bootstrap addresses not live

    @property
    def down(self) -> tuple[Broker, ...]:
        return tuple(b for b in self.brokers if not b.up)

    @property
    def under_replicated(self) -> tuple[PartitionReplicas, ...]:
        return tuple(p for p in self.partitions if p.under_replicated and not p.offline)

    @property
    def offline(self) -> tuple[PartitionReplicas, ...]:
        return tuple(p for p in self.partitions if p.offline)

    @property
    def status(self) -> str:
        if self.offline:
            return OFFLINE
        if self.down or self.under_replicated:
            return DEGRADED
        return OK

    def missing(self) -> list[str]:
        """The brokers that are down, as a user can recognise them."""
        named = [f"broker {b.id}" for b in self.down]
        return named + [f"{address} (not answering)" for address in self.unanswered]

    def summary(self) -> str:
        """One line: how many brokers are up, which are missing, what that does to partitions."""
        up = sum(1 for b in self.brokers if b.up)
        line = f"cluster {self.status}: {up} of {len(self.brokers)} brokers up"
        if self.missing():
            line += f", missing {', '.join(self.missing())}"
        line += f"; controller {self.controller if self.controller is not None else '-'}"
        line += (
            f"; {len(self.partitions)} partitions, {len(self.under_replicated)} under-replicated, "
            f"{len(self.offline)} offline"
        )
        return line

    def of_topics(self, topics: Iterable[str]) -> list[PartitionReplicas]:
        wanted = set(topics)
        return [p for p in self.partitions if p.topic in wanted]

    def as_dict(self, topics: Iterable[str] | None = None) -> dict:
        shown = self.partitions if topics is None else self.of_topics(topics)
        return {
            "status": self.status,
            "summary": self.summary(),
            "controller": self.controller,
            "brokers": [asdict(b) for b in self.brokers],
            "missing": self.missing(),
            "under_replicated": len(self.under_replicated),
            "offline": len(self.offline),
            "partitions": [
                {
                    "topic": p.topic,
                    "partition": p.partition,
                    "leader": p.leader,
                    "replicas": list(p.replicas),
                    "isr": list(p.isr),
                    "under_replicated": p.under_replicated,
                    "offline": p.offline,
                }
                for p in shown
            ],
        }


def shape(
    live: Mapping[int, str],
    controller: int | None,
    partitions: Iterable[PartitionReplicas],
    bootstrap: Sequence[str] = (),
) -> ClusterView:
    """`live`: {broker id: "host:port"} of the brokers Kafka lists (the ones up)."""
    partitions = tuple(sorted(partitions, key=lambda p: (p.topic, p.partition)))
    known = set(live) | {r for p in partitions for r in p.replicas}
    brokers = tuple(
        Broker(i, live.get(i), i in live, controller is not None and i == controller)
        for i in sorted(known)
    )
    live_addresses = set(live.values())
    # Only a bootstrap list that names brokers themselves (one of them answers as a broker) says
    # which are missing; a managed cluster's single bootstrap name is never a broker's address.
    names_brokers = any(a in live_addresses for a in bootstrap)
    unanswered = tuple(a for a in bootstrap if a not in live_addresses) if names_brokers else ()
    return ClusterView(brokers, controller, partitions, unanswered)


def bootstrap_addresses(bootstrap: str) -> list[str]:
    """ "a:1,b:2" -> ["a:1", "b:2"] (a scheme such as SASL_SSL:// dropped)."""
    return [a.strip().split("://")[-1] for a in bootstrap.split(",") if a.strip()]


class ClusterReadError(Exception):
    """Kafka did not answer the metadata request."""


def describe(admin: AdminClient, bootstrap: str = "", timeout: float = 10.0) -> ClusterView:
    """The cluster as one metadata request shows it (all topics: asking for one by name could
    make a broker auto-create it)."""
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise ClusterReadError(f"no metadata from Kafka: {exc.args[0]}") from None
    live = {b.id: f"{b.host}:{b.port}" for b in metadata.brokers.values()}
    partitions = [
        PartitionReplicas(
            topic,
            p.id,
            p.leader if p.leader >= 0 else None,
            tuple(p.replicas),
            tuple(p.isrs),
        )
        for topic, meta in metadata.topics.items()
        for p in meta.partitions.values()
    ]
    controller = metadata.controller_id if metadata.controller_id >= 0 else None
    return shape(live, controller, partitions, bootstrap_addresses(bootstrap))


def broker_rows(view: ClusterView) -> list[dict]:
    """One row per broker, for a table."""
    return [
        {
            "broker": b.id,
            "state": "up" if b.up else "DOWN",
            "address": b.address or "(down: Kafka no longer lists it)",
            "controller": "yes" if b.controller else "",
        }
        for b in view.brokers
    ]


def partition_rows(view: ClusterView, topics: Iterable[str]) -> list[dict]:
    """Per partition of `topics`: leader, replicas, in-sync replicas, and what is wrong."""

    def ids(values: Sequence[int]) -> str:
        return ", ".join(map(str, values)) or "-"

    return [
        {
            "topic": p.topic,
            "partition": p.partition,
            "leader": "OFFLINE" if p.offline else str(p.leader),
            "replicas": ids(p.replicas),
            "in sync": ids(p.isr),
            "state": "offline"
            if p.offline
            else f"under-replicated (missing {ids(p.out_of_sync)})"
            if p.under_replicated
            else "ok",
        }
        for p in view.of_topics(topics)
    ]
