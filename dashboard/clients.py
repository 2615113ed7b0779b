"""MongoDB and Kafka clients, made once per process (st.cache_resource) with short timeouts,
so a store or broker that is down makes a page say so quickly instead of hanging."""

from __future__ import annotations

import streamlit as st
from pymongo import MongoClient
from pymongo.database import Database

from checkins.settings import Settings, get_settings
from dashboard.kafka_offsets import KafkaAdmin

MONGO_TIMEOUT_MS = 2_000
KAFKA_TIMEOUT_S = 3.0


def settings() -> Settings:
    return get_settings()


@st.cache_resource(show_spinner=False)
def _mongo(uri: str) -> MongoClient:
    # The uri (it may hold a password) is only the cache key: Streamlit never shows it.
    return MongoClient(
        uri,
        tz_aware=True,
        serverSelectionTimeoutMS=MONGO_TIMEOUT_MS,
        connectTimeoutMS=MONGO_TIMEOUT_MS,
        socketTimeoutMS=60_000,
        appname="checkin-dashboard",
    )


def database(config: Settings | None = None) -> Database:
    config = config or settings()
    return _mongo(config.mongo_uri)[config.mongodb_database]


@st.cache_resource(show_spinner=False)
def _admin(bootstrap: str) -> KafkaAdmin:
    config = settings().kafka_config(
        **{"socket.timeout.ms": 3000, "socket.connection.setup.timeout.ms": 3000}
    )
    config["bootstrap.servers"] = bootstrap
    return KafkaAdmin(config)  # it keeps its config: committed offsets are read with it


def kafka_admin(config: Settings | None = None) -> KafkaAdmin:
    config = config or settings()
    return _admin(config.bootstrap_servers)
