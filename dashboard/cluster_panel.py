"""The Kafka cluster on a page: a status banner naming the missing brokers, the brokers table,
and the replicas of chosen topics' partitions. Shaping is `monitor.cluster`'s."""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st
from confluent_kafka.admin import AdminClient

from monitor import cluster


def read(admin: AdminClient, bootstrap: str) -> cluster.ClusterView | None:
    try:
        return cluster.describe(admin, bootstrap, timeout=3.0)
    except cluster.ClusterReadError as exc:
        st.warning(f"Kafka cluster unknown: {exc}")
        return None


def banner(view: cluster.ClusterView) -> None:
    """Says when the cluster is not OK (degraded: a broker down or replicas out of sync;
    offline: a partition without a leader), and which brokers are missing."""
    if view.status == cluster.OFFLINE:
        st.error(f"Kafka cluster OFFLINE partitions. {view.summary()}")
    elif view.status == cluster.DEGRADED:
        st.warning(f"Kafka cluster degraded. {view.summary()}")


def brokers(view: cluster.ClusterView) -> None:
    st.dataframe(cluster.broker_rows(view), hide_index=True, width="stretch")
    st.caption(view.summary())


def partitions(view: cluster.ClusterView, topics: Iterable[str]) -> None:
    rows = cluster.partition_rows(view, topics)
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
