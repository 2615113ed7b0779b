"""One settings object for every process, read from the environment (and `.env`) once.

Secrets (`MONGODB_URI` may hold a password, SASL settings, `API_TOKEN`) are `SecretStr`, so
printing or logging the settings never shows them.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_HOST = "127.0.0.1"


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

    consumer_group: str = "checkin-projector"
    consumer_workers: int = Field(default=1, ge=1, le=64)

    api_host: str = LOCAL_HOST
    api_port: int = 3000
    api_token: SecretStr | None = None
    # How long the API waits for Kafka's acknowledgement before answering 503.
    api_publish_timeout: float = Field(default=5.0, gt=0, le=60)
    dashboard_port: int = 8501
    demo_publish_enabled: bool = True

    # Where the local default stack listens and keeps its state.
    stack_kafka_port: int = 9092
    stack_kafka_controller_port: int = 9093
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
        return self.kafka_bootstrap_servers or f"{LOCAL_HOST}:{self.stack_kafka_port}"

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
