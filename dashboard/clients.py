"""MongoDB and Kafka clients, made once per process (st.cache_resource) with short timeouts,
so a store or broker that is down makes a page say so quickly instead of hanging."""

from __future__ import annotations

import streamlit as st
from pymongo import MongoClient
from pymongo.database import Database

from checkins.clients import KafkaAdmin, admin_client, mongo_client
from checkins.settings import Settings, get_settings

MONGO_TIMEOUT_MS = 2_000
KAFKA_TIMEOUT_MS = 3_000


def settings() -> Settings:
    return get_settings()


@st.cache_resource(show_spinner=False)
def _mongo(uri: str, _config: Settings) -> MongoClient:
    # The uri (it may hold a password) is only the cache key: Streamlit never shows it.
    return mongo_client(
        _config,
        serverSelectionTimeoutMS=MONGO_TIMEOUT_MS,
        connectTimeoutMS=MONGO_TIMEOUT_MS,
        socketTimeoutMS=60_000,
        appname="checkin-dashboard",
    )


def database(config: Settings | None = None) -> Database:
    config = config or settings()
    return _mongo(config.mongo_uri, config)[config.mongodb_database]


@st.cache_resource(show_spinner=False)
def _admin(bootstrap: str, _config: Settings) -> KafkaAdmin:
    return admin_client(
        _config,
        **{
            "socket.timeout.ms": KAFKA_TIMEOUT_MS,
            "socket.connection.setup.timeout.ms": KAFKA_TIMEOUT_MS,
        },
    )


def kafka_admin(config: Settings | None = None) -> KafkaAdmin:
    config = config or settings()
    return _admin(config.bootstrap_servers, config)
