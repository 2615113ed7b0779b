from checkins.clients import librdkafka_properties
from checkins.settings import Settings, redact_uri


def test_kafka_properties_follow_the_container_image_convention():
    env = {
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "PLAIN",
        "KAFKA_BOOTSTRAP_SERVERS": "broker:9092",
        "KAFKA_HEAP_OPTS": "-Xmx1g",
        "PATH": "/usr/bin",
    }
    assert librdkafka_properties(env) == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "PLAIN",
    }


def test_local_defaults_when_nothing_is_configured(monkeypatch):
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("MONGODB_URI", raising=False)
    settings = Settings(_env_file=None)
    assert not settings.kafka_is_external and not settings.mongo_is_external
    assert settings.bootstrap_servers == "127.0.0.1:9092"
    assert settings.mongo_uri == "mongodb://127.0.0.1:27017/"
    assert settings.mongodb_database == "SOA_HomeCheckInDB"
    assert settings.checkin_topic == "HOME_CHECKIN_CREATED"
    assert settings.checkin_dlq_topic == "HOME_CHECKIN_CREATED.dlq"


def test_external_services_and_secrets_stay_out_of_the_settings_text(monkeypatch):
    monkeypatch.setenv("MONGODB_URI", "mongodb://ops:s3cret-pw@db.example:27017/")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka.example:9093")
    monkeypatch.setenv("API_TOKEN", "tok-123456")
    settings = Settings(_env_file=None)
    assert settings.kafka_is_external and settings.mongo_is_external
    assert settings.mongo_uri == "mongodb://ops:s3cret-pw@db.example:27017/"
    shown = repr(settings) + str(settings) + settings.model_dump_json()
    assert "s3cret-pw" not in shown and "tok-123456" not in shown


def test_redact_uri_hides_credentials_only():
    assert redact_uri("mongodb://ops:pw@h:1/db") == "mongodb://***@h:1/db"
    assert redact_uri("mongodb://h:1/db") == "mongodb://h:1/db"
