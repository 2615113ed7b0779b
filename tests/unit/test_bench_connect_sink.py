"""The connect_sink bench's pure parts: the properties the Connect worker and connector get,
and the side-by-side table. (The run itself is a bench, `python -m bench connect_sink`.)"""

from pathlib import Path

from bench.connect_sink import (
    CONFIGS,
    connector_properties,
    properties_text,
    ratio,
    summary,
    worker_properties,
)


def parse(text: str) -> dict[str, str]:
    """Java properties as ConnectStandalone reads them (key=value lines, backslash escapes)."""
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        out[key] = value.replace("\\\\", "\\")
    return out


def test_both_configurations_take_the_event_id_as_id():
    for config in CONFIGS:
        props = connector_properties("c", "topic", "mongodb://h:1/", "db", config)
        assert props["transforms.eventId.renames"] == "uuid:_id"
        assert props["document.id.strategy"].endswith(".ProvidedInValueStrategy")
        assert props["topics"] == "topic" and props["database"] == "db"


def test_upsert_keeps_the_default_write_model_and_insert_is_unordered_insert_one():
    by_label = {c.label: c for c in CONFIGS}
    assert "writemodel.strategy" not in by_label["upsert"].properties
    insert = by_label["insert"].properties
    assert insert["writemodel.strategy"].endswith(".InsertOneDefaultStrategy")
    assert insert["bulk.write.ordered"] == "false"


def test_worker_listens_on_loopback_and_keeps_its_offsets_where_told():
    props = worker_properties("127.0.0.1:9092", Path("/tmp/x/offsets"), 18083)
    assert props["listeners"] == "http://127.0.0.1:18083"
    assert props["offset.storage.file.filename"] == "/tmp/x/offsets"
    assert props["value.converter.schemas.enable"] == "false"


def test_properties_text_round_trips_backslashes_and_dollars():
    values = {"a": "C:\\dir", "t": "org.x.ReplaceField$Value"}
    assert parse(properties_text(values)) == values


def test_summary_table_has_the_ratios_of_the_pipeline_to_each_writer():
    figures = {
        "pipeline_workers_1_events_per_s": 3000.0,
        "connect_upsert_events_per_s": 1500.0,
        "connect_insert_events_per_s": 4000.0,
        "raw_insert_many_events_per_s": 6000.0,
        "raw_insert_many_with_indexes_events_per_s": 5000.0,
    }
    table = summary(figures)
    assert "| 1,500 | 2.00 |" in table
    assert "| 4,000 | 0.75 |" in table
    assert "| 6,000 | 0.50 |" in table
    assert "| 5,000 | 0.60 |" in table
    assert ratio(1.0, 0.0) == float("inf")


def test_section_is_skipped_with_the_reason_when_maven_cannot_resolve(monkeypatch):
    from bench.__main__ import run_section
    from checkins.settings import Settings
    from stack import install
    from stack.errors import StackError

    def unresolvable():
        raise StackError("Resolving Kafka Connect failed (mvn exit 1): Could not find artifact")

    monkeypatch.setattr(install, "ensure_connect_jars", unresolvable)
    result = run_section("connect_sink", Settings())
    assert result["status"] == "skipped"
    assert "Maven could not resolve" in result["reason"]
    assert "Could not find artifact" in result["reason"]
