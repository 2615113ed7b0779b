"""Every Kafka and MongoDB client of the project is configured here, and only here.

`kafka_config` is the one librdkafka configuration: the bootstrap servers, every `KAFKA_<PROPERTY>`
variable (Kafka images' convention, so SASL/SSL settings reach every client), then the caller's
overrides. `mongo_client` is the one MongoClient factory: timezone-aware dates, so dates read
back compare equal to the ones the code makes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from pymongo import MongoClient

from checkins.settings import Settings

# What librdkafka takes as a property value.
ConfigValue = str | int | float | bool
Config = dict[str, ConfigValue]

# KAFKA_* variables that are not librdkafka properties: the JVM's own, and ours.
_NOT_LIBRDKAFKA = {
    "KAFKA_BOOTSTRAP_SERVERS",
    "KAFKA_HEAP_OPTS",
    "KAFKA_OPTS",
    "KAFKA_JVM_PERFORMANCE_OPTS",
    "KAFKA_LOG4J_OPTS",
    "KAFKA_JMX_OPTS",
    "KAFKA_DEBUG",
}


def librdkafka_properties(environ: Mapping[str, str]) -> dict[str, str]:
    """`KAFKA_SASL_MECHANISM=PLAIN` -> `{"sasl.mechanism": "PLAIN"}` (Kafka images' convention)."""
    return {
        key[len("KAFKA_") :].lower().replace("_", "."): value
        for key, value in environ.items()
        if key.upper().startswith("KAFKA_") and key.upper() not in _NOT_LIBRDKAFKA
    }


def kafka_config(settings: Settings, **overrides: Any) -> Config:
    config: Config = {"bootstrap.servers": settings.bootstrap_servers}
    config.update(librdkafka_properties(os.environ))
    config.update(overrides)
    return config


class KafkaAdmin(AdminClient):
    """An AdminClient that remembers its configuration, so readers that need a Consumer (the
    committed-offsets reader) reach the same brokers with the same settings."""

    def __init__(self, config: Mapping[str, ConfigValue]):
        self.config = dict(config)
        super().__init__(dict(config))


def admin_client(settings: Settings, **overrides: Any) -> KafkaAdmin:
    return KafkaAdmin(kafka_config(settings, **overrides))


def consumer(settings: Settings, **overrides: Any) -> Consumer:
    return Consumer(kafka_config(settings, **overrides))


def producer(settings: Settings, **overrides: Any) -> Producer:
    return Producer(kafka_config(settings, **overrides))


def mongo_client(settings: Settings, **options: Any) -> MongoClient:
    """The store's client; `options` are pymongo's (timeouts, appname). The URI may hold a
    password: it goes to pymongo and nowhere else."""
    return MongoClient(settings.mongo_uri, **{"tz_aware": True, **options})
