"""Item 8: user text never reaches MongoDB as an operator.

Check-ins whose staffCode, orderNo, internetNo and jobStatus look like operators or regexes go
through the real path (producer -> Kafka -> `python -m consumers` -> FerretDB), with `$` and
dotted extra keys in the data, the payload and the envelope, and operator objects where a field
belongs. Then:
- pure: the filters the map and the event log build from such text (typed, or from the URL)
  hold only our own operators; the text is only ever an escaped `$regex` string or an `$in` item;
- real store: each search finds exactly the documents that literally contain the text;
- the event log and map pages (AppTest) show exactly those rows; an orderNo such as
  `{"$gt": ""}` in the timeline box finds nothing;
- no collection holds a `$` or dotted field; operator objects went to the DLQ, not the store.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from streamlit.testing.v1 import AppTest

from checkins.clients import kafka_config
from checkins.event import SAMPLE, CheckIn
from checkins.producer import CheckInProducer
from checkins.settings import Settings, get_settings
from dashboard import eventlog
from dashboard.filters import (
    Filters,
    all_of,
    from_query_params,
    mongo_filter,
    point_predicate,
    search_predicate,
    window_bounds,
)
from readmodels import technicians, timeline
from stack.paths import ROOT
from stack.services import DASHBOARD_ENTRY
from tests.faults.edge_support import child_env, end_offsets, running
from tests.waiting import wait_for

APP = str(ROOT / DASHBOARD_ENTRY)
TZ = "Asia/Bangkok"
OUR_OPERATORS = {"$gte", "$lt", "$in", "$regex", "$options", "$or"}
# (staffCode, orderNo, internetNo, jobStatus): each text below is literally in one row only.
ROWS = [
    ('{"$gt": ""}', "ord_gt", "inet_gt", "onroute"),
    ("dot.*star", "ord_dot", "inet_dot", "onroute"),
    ("^caret", "ord_caret", "inet_caret", "homecheckedin"),
    ("paren(", "ord_paren", "inet_paren", "homecheckedin"),
    ("$where", "ord_where", "inet_where", "onroute"),
    ("a.b", '{"$ne": null}', "inet_ne", "onroute"),
    ("plain_tech", "ord_plain", "(.*)|[x]", '{"$exists": true}'),
]
SEARCHES = ['{"$gt": ""}', ".*", "^", "(", "$where", "a.b", '{"$ne": null}', "(.*)|[x]", "$", "."]
UNSTORED = ["hacked", "$set"]  # what the extra keys would have written, were they obeyed


def contains(text: str, value: str) -> bool:
    return text.strip().lower() in value.lower()


def operators(query: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (path, value) whose key starts with `$`, anywhere in the query."""
    if isinstance(query, dict):
        for key, value in query.items():
            if key.startswith("$"):
                yield f"{path}.{key}", value
            yield from operators(value, f"{path}.{key}")
    elif isinstance(query, list):
        for i, item in enumerate(query):
            yield from operators(item, f"{path}[{i}]")


def strings(query: Any) -> Iterator[str]:
    if isinstance(query, dict):
        for value in query.values():
            yield from strings(value)
    elif isinstance(query, list):
        for item in query:
            yield from strings(item)
    elif isinstance(query, str):
        yield query


def bad_keys(doc: Any, path: str = "") -> list[str]:
    """Field names a client could have smuggled in: `$...` or dotted, at any depth."""
    found = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key.startswith("$") or "." in key:
                found.append(f"{path}.{key}")
            found += bad_keys(value, f"{path}.{key}")
    elif isinstance(doc, list):
        for i, item in enumerate(doc):
            found += bad_keys(item, f"{path}[{i}]")
    return found


@pytest.mark.parametrize("text", SEARCHES)
def test_filters_built_from_user_text_hold_only_our_operators(text):
    now = datetime.now(UTC)
    from_url = from_query_params({"staff": [text], "status": [text], "window": [text]})
    built = [
        mongo_filter(Filters(window="7 days", statuses=(text,), staff=text), now, TZ),
        mongo_filter(from_url, now, TZ),
    ]
    for query in built:
        for where, value in operators(query):
            assert where.rsplit(".", 1)[1] in OUR_OPERATORS, (where, query)
            if where.endswith("$regex"):
                assert value == re.escape(text), (where, value)
            if where.endswith("$in"):
                assert value == [text]
        # the text appears only as an escaped regex or an $in item, never as a key
        assert all(s in (re.escape(text), text, "i") for s in strings(query)), query
        assert not any(text == k for k, _ in operators(query))


def raw_envelope(data: dict, **top: Any) -> bytes:
    envelope = {
        "uuid": str(uuid.uuid4()),
        "timestamp": datetime.now(UTC).isoformat(),
        "topic": "x",
        "payload": {"data": data, "$inc": {"checkinCount": 1000}},
        **top,
    }
    return json.dumps(envelope).encode()


@pytest.fixture(scope="module")
def stored(isolated_module: Settings, mongo, tmp_path_factory):
    """The rows above, plus smuggled keys and operator-valued fields, through the real path."""
    isolated = isolated_module
    now = datetime.now(UTC)
    producer = CheckInProducer(isolated)
    for i, (staff, order, internet, status) in enumerate(ROWS):
        data = {
            **SAMPLE,
            "staffCode": staff,
            "orderNo": order,
            "internetNo": internet,
            "jobStatus": status,
            "checkinLatitude": 13.70 + i * 0.01,
            "checkinDate": (now - timedelta(minutes=10 + i)).isoformat(),
        }
        producer.publish(CheckIn.model_validate(data))
    smuggler = {
        **SAMPLE,
        "staffCode": "smuggler",
        "orderNo": "ord_smuggler",
        "checkinDate": now.isoformat(),
        "$where": "sleep(10000)",
        "a.b": 1,
        "$set": {"staffCode": "hacked"},
        "nested": {"$gt": 1, "x.y": 2},
    }
    producer.produce_raw(raw_envelope(smuggler, **{"$set": {"x": 1}, "p.q": 1}), b"smuggler")
    for field, value in (("staffCode", {"$gt": ""}), ("orderNo", {"$ne": None})):
        bad = {**SAMPLE, "checkinDate": now.isoformat(), field: value}
        producer.produce_raw(raw_envelope(bad), b"operator")
    db = mongo[isolated.mongodb_database]
    with running(["-m", "consumers"], child_env(isolated), tmp_path_factory.mktemp("c") / "log"):
        wait_for(
            lambda: db.technicians.count_documents({}) == len(ROWS) + 1,
            60,
            "the consumers to store every valid check-in",
        )
        wait_for(
            lambda: sum(end_offsets(isolated, isolated.checkin_dlq_topic).values()) == 2,
            60,
            "the two operator-valued check-ins in the DLQ",
        )
    return isolated, db


@pytest.fixture(scope="module")
def isolated_module(stack, mongo):
    """The `isolated` fixture's topics and database, shared by this module's tests."""
    from tests.isolation import own_topics_and_database

    with own_topics_and_database(stack, "inj", mongo=mongo) as settings:
        yield settings


def test_no_collection_holds_a_dollar_or_dotted_field(stored):
    settings, db = stored
    for name in db.list_collection_names():
        for doc in db[name].find():
            assert bad_keys(doc) == [], (name, doc)
    smuggled = db.homecheckins.find_one({"staffCode": "smuggler"})
    assert smuggled is not None  # the valid check-in itself was kept
    assert db.technicians.find_one({"_id": "smuggler"})["checkinCount"] == 1  # no $inc obeyed
    for text in UNSTORED:
        assert db.homecheckins.count_documents({"staffCode": text}) == 0


def test_operator_objects_in_fields_are_dead_lettered_not_stored(stored):
    settings, db = stored
    reader = {"group.id": f"inj-{uuid.uuid4().hex}", "enable.auto.commit": False}
    consumer = Consumer(kafka_config(settings, **reader))
    consumer.assign([TopicPartition(settings.checkin_dlq_topic, 0, 0)])
    reasons = []
    try:

        def read() -> bool:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                reasons.append(dict(msg.headers())["__connect.errors.exception.message"].decode())
            return len(reasons) == 2

        wait_for(read, 30, "the two dead letters")
    finally:
        consumer.close()
    assert sorted(r.split(":")[0] for r in reasons) == ["orderNo", "staffCode"], reasons
    assert all("valid string" in r for r in reasons), reasons
    assert db.homecheckins.count_documents({}) == len(ROWS) + 1


@pytest.mark.parametrize("text", SEARCHES)
def test_each_search_finds_exactly_the_rows_that_literally_contain_it(stored, text):
    _, db = stored
    now = datetime.now(UTC)
    everything = list(db.homecheckins.find({}))

    filters = Filters(window="7 days")
    keep = all_of(point_predicate(filters), search_predicate(text, eventlog.SEARCH_FIELDS))
    rows, _ = timeline.window_points(db, *window_bounds(filters, now, TZ), keep, cap=200)
    expected = {
        d["_id"] for d in everything if any(contains(text, d[f]) for f in eventlog.SEARCH_FIELDS)
    }
    assert {r["_id"] for r in rows} == expected

    on_map, _ = technicians.latest_positions(
        db, mongo_filter(Filters(window="7 days", staff=text), now, TZ)
    )
    assert sorted(r["staffCode"] for r in on_map) == sorted(
        d["staffCode"] for d in everything if contains(text, d["staffCode"])
    )


def test_the_literal_searches_find_one_row_each(stored):
    """The expectations above are not vacuous: each operator-like text finds its one row."""
    _, db = stored
    now = datetime.now(UTC)
    for text, staff in [(".*", "dot.*star"), ("^", "^caret"), ("(", "paren("), ("$w", "$where")]:
        found, _ = technicians.latest_positions(
            db, mongo_filter(Filters(window="7 days", staff=text), now, TZ)
        )
        assert [r["staffCode"] for r in found] == [staff], text
    status = mongo_filter(Filters(window="7 days", statuses=('{"$exists": true}',)), now, TZ)
    assert [r["staffCode"] for r in technicians.latest_positions(db, status)[0]] == ["plain_tech"]


@pytest.fixture
def board(stored, monkeypatch):
    settings, db = stored
    for name in ("mongodb_database", "checkin_topic", "checkin_dlq_topic", "consumer_group"):
        monkeypatch.setenv(name.upper(), str(getattr(settings, name)))
    get_settings.cache_clear()
    yield settings, db
    get_settings.cache_clear()


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    if page != "pages/map.py":
        at.switch_page(f"../{page}").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_event_log_page_shows_only_literal_matches(board):
    at = open_page("pages/events.py")
    # newest first; plain_tech's internetNo "(.*)|[x]" holds ".*" and "(" literally too
    for text, staff in [
        (".*", ["dot.*star", "plain_tech"]),
        ('{"$gt": ""}', ['{"$gt": ""}']),
        ("(", ["paren(", "plain_tech"]),
    ]:
        at.text_input(key="ev_search").set_value(text).run()
        assert not at.exception, [e.value for e in at.exception]
        [table] = at.dataframe
        assert list(table.value["staffCode"]) == staff, text
    at.text_input(key="ev_search").set_value('{"$ne": null}').run()
    assert list(at.dataframe[0].value["orderNo"]) == ['{"$ne": null}']

    at.text_input(key="ev_search").set_value("").run()
    at.text_input(key="ev_order").set_value('{"$gt": ""}').run()
    assert "No check-ins for that order." in [i.value for i in at.info]
    at.text_input(key="ev_order").set_value('{"$ne": null}').run()
    timeline = at.dataframe[-1].value
    assert list(timeline["staffCode"]) == ["a.b"]

    at.multiselect(key="ev_status").set_value(['{"$exists": true}']).run()
    assert list(at.dataframe[0].value["staffCode"]) == ["plain_tech"]


def test_the_map_page_shows_only_literal_matches(board):
    at = open_page("pages/map.py")
    for text, staff in [(".*", {"dot.*star"}), ("$", {"$where", '{"$gt": ""}'}), (".", None)]:
        at.sidebar.text_input(key="map_staff").set_value(text).run()
        assert not at.exception, [e.value for e in at.exception]
        [chart] = at.get("deck_gl_json_chart")
        shown = {p["staffCode"] for p in json.loads(chart.proto.json)["layers"][0]["data"]}
        assert shown == (staff if staff is not None else {"dot.*star", "a.b"}), text
