"""One settings object for every process, read from the environment (and `.env`) once.

Secrets (`MONGODB_URI` may hold a password, SASL settings, `API_TOKEN`) are `SecretStr`, so
printing or logging the settings never shows them.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_HOST = "127.0.0.1"


def _seconds(value: Any) -> Any:
    """A plain number is seconds ("300"); anything else is pydantic's ISO-8601 or HH:MM:SS."""
    if isinstance(value, str) and value.strip().replace(".", "", 1).isdigit():
        return float(value)
    return value


Duration = Annotated[timedelta, BeforeValidator(_seconds)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    # Unset means "the local default stack, started by the project".
    kafka_bootstrap_servers: str | None = None
    mongodb_uri: SecretStr | None = None
    mongodb_database: str = "SOA_HomeCheckInDB"

    checkin_topic: str = "HOME_CHECKIN_CREATED"
    checkin_dlq_topic: str = "HOME_CHECKIN_CREATED.dlq"
    status_topic: str = "HOME_CHECKIN_STATUS_CHANGED"
    checkin_partitions: int = Field(default=6, ge=1)
    checkin_timezone: str = "Asia/Bangkok"
    # A check-in dated further ahead of its produce time is refused (checkins/skew.py);
    # seconds, or ISO-8601 like PT5M.
    checkin_max_future: Duration = Field(default=timedelta(minutes=5), ge=timedelta(0))
    # A technician quiet for longer while on an order is "silent" (readmodels/technicians.py).
    silent_after: Duration = Field(default=timedelta(minutes=30), gt=timedelta(0))
    # An XYZ tile template ({z}/{x}/{y}) for the map's basemap; unset = Carto's light style.
    map_tiles_url: str | None = None

    consumer_group: str = "checkin-projector"
    consumer_workers: int = Field(default=1, ge=1, le=64)

    api_host: str = LOCAL_HOST
    api_port: int = 3000
    api_token: SecretStr | None = None
    # How long the API waits for Kafka's acknowledgement before answering 503.
    api_publish_timeout: float = Field(default=5.0, gt=0, le=60)
    # Check-ins the API may have waiting for Kafka at once; beyond, it answers 503 at once.
    api_max_in_flight: int = Field(default=500, ge=1)
    dashboard_port: int = 8501
    demo_publish_enabled: bool = True

    # The lag sampler: how often it samples, where it serves Prometheus metrics, and its alerts.
    # Alert rules fire when their condition has held for `*_for_s` (as a Prometheus rule's `for`).
    sampler_interval_s: float = Field(default=5.0, gt=0)
    metrics_port: int = 9308
    metrics_cluster_name: str = "local"  # kafka-lag-exporter's `cluster_name` label
    alert_webhook_url: SecretStr | None = None  # a Slack-style incoming webhook holds a token
    alertmanager_url: SecretStr | None = None  # may hold basic-auth credentials
    alertmanager_resend_s: float = Field(default=60.0, gt=0)
    alert_status_for_s: float = Field(default=60.0, ge=0)
    alert_time_lag_s: float = Field(default=300.0, gt=0)
    alert_time_lag_for_s: float = Field(default=60.0, ge=0)
    alert_no_members_for_s: float = Field(default=60.0, ge=0)
    alert_dead_letters_window_s: float = Field(default=300.0, gt=0)
    alert_dead_letters_for_s: float = Field(default=0.0, ge=0)
    alert_freshness_s: float = Field(default=120.0, gt=0)
    alert_freshness_for_s: float = Field(default=60.0, ge=0)
    alert_unreachable_for_s: float = Field(default=30.0, ge=0)
    # How long technicians stay silent (past SILENT_AFTER) before it is an alert.
    alert_silent_for_s: float = Field(default=0.0, ge=0)

    # Where the local default stack listens and keeps its state.
    stack_kafka_port: int = 9092
    stack_kafka_controller_port: int = 9093
    stack_kafka_brokers: int = Field(default=1, ge=1, le=9)  # N>1: broker i on port + 2*(i-1)
    stack_mongo_port: int = 27017
    stack_dir: str | None = None

    @property
    def kafka_is_external(self) -> bool:
        return bool(self.kafka_bootstrap_servers)

    @property
    def mongo_is_external(self) -> bool:
        return self.mongodb_uri is not None and bool(self.mongodb_uri.get_secret_value())

    @property
    def bootstrap_servers(self) -> str:
        ports = (self.stack_kafka_port + 2 * i for i in range(self.stack_kafka_brokers))
        return self.kafka_bootstrap_servers or ",".join(f"{LOCAL_HOST}:{p}" for p in ports)

    @property
    def mongo_uri(self) -> str:
        """The connection string, secret included: hand it to pymongo, never to a log."""
        if self.mongo_is_external:
            return self.mongodb_uri.get_secret_value()  # type: ignore[union-attr]
        return f"mongodb://{LOCAL_HOST}:{self.stack_mongo_port}/"


def redact_uri(uri: str) -> str:
    """mongodb://user:pass@host/ -> mongodb://***@host/ for messages a user may see."""
    scheme, sep, rest = uri.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return uri
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
