"""The pure core: stored check-ins folded into technicians and orders."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from checkins.envelope import CheckInEvent
from checkins.event import SAMPLE, CheckIn
from checkins.times import to_ms
from checkins.wire import Coordinates, message_time
from readmodels.events import first_by_id, homecheckin_document
from readmodels.orders import HISTORY_LIMIT, orders_after, status_notice
from readmodels.technicians import (
    RECENT_LIMIT,
    decode_recent,
    needs_exact_count,
    recent_order_numbers,
    technicians_after,
)

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def stored(
    *,
    staff="s1",
    order="o1",
    status="homecheckedin",
    minutes=0,
    event_id=None,
    stored_minutes=0,
    lat=13.0,
) -> dict:
    """A `homecheckins` document as the consumer stores it."""
    checkin = CheckIn.model_validate(
        {
            **SAMPLE,
            "staffCode": staff,
            "orderNo": order,
            "jobStatus": status,
            "checkinLatitude": lat,
            "checkinDate": T0 + timedelta(minutes=minutes),
        }
    )
    event = CheckInEvent(event_id or str(uuid.uuid4()), checkin, None)
    where = Coordinates("HOME_CHECKIN_CREATED", 0, 7, T0)
    return homecheckin_document(event, where, T0 + timedelta(minutes=stored_minutes))


def test_a_homecheckin_document_has_the_legacy_fields_location_and_provenance():
    checkin = CheckIn.model_validate(SAMPLE, context={"timezone": "Asia/Bangkok"})
    produced = datetime(2026, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)
    event = CheckInEvent("e-1", checkin, produced)
    at = datetime(2026, 1, 1, 0, 0, 1, 999999, tzinfo=UTC)
    doc = homecheckin_document(event, Coordinates("T", 3, 99, produced), at)
    assert doc["_id"] == "e-1"
    assert {k: doc[k] for k in SAMPLE if k != "checkinDate"} == {
        k: v for k, v in SAMPLE.items() if k != "checkinDate"
    }
    assert doc["checkinDate"] == datetime(2021, 3, 18, 3, 13, 43, tzinfo=UTC)
    assert doc["location"] == {"type": "Point", "coordinates": [100.5465937, 13.7827811]}
    assert doc["source"] == {
        "topic": "T",
        "partition": 3,
        "offset": 99,
        "timestamp": datetime(2026, 1, 1, 0, 0, 0, 123000, tzinfo=UTC),
        "producedAt": datetime(2026, 1, 1, 0, 0, 0, 123000, tzinfo=UTC),
    }
    # BSON keeps milliseconds: the documents are made with no finer time than that.
    assert doc["storedAt"] == doc["createdAt"] == doc["updatedAt"] == to_ms(at)
    assert doc["storedAt"].microsecond == 999000


def test_kafka_time_is_none_when_the_broker_gave_none():
    assert message_time((0, -1)) is None
    assert message_time((1, 1_700_000_000_123)) == datetime(
        2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC
    )


def test_a_technician_takes_the_latest_checkin_with_first_and_last_seen_and_a_count():
    a, b = stored(minutes=0, lat=10), stored(minutes=30, lat=11, status="done")
    techs = technicians_after({}, [a, b], {a["_id"], b["_id"]})
    tech = techs["s1"]
    assert tech["eventId"] == b["_id"] and tech["jobStatus"] == "done"
    assert tech["checkinLatitude"] == 11 and tech["location"]["coordinates"][1] == 11
    assert (tech["firstSeen"], tech["lastSeen"]) == (a["checkinDate"], b["checkinDate"])
    assert tech["checkinCount"] == 2


def test_a_late_older_event_does_not_move_a_technician_back():
    newer = stored(minutes=60, status="done", lat=14)
    before = technicians_after({}, [newer], {newer["_id"]})
    older = stored(minutes=-60, status="started", lat=12, stored_minutes=5)
    after = technicians_after(before, [older], {older["_id"]})["s1"]
    assert after["eventId"] == newer["_id"] and after["checkinLatitude"] == 14
    assert after["firstSeen"] == older["checkinDate"]
    assert after["lastSeen"] == newer["checkinDate"]
    assert after["checkinCount"] == 2


def test_a_redelivered_checkin_changes_nothing():
    a = stored()
    techs = technicians_after({}, [a], {a["_id"]})
    orders, _ = orders_after({}, [a])
    assert technicians_after(techs, [a], set(), {"s1": 1}) == {}
    assert orders_after(orders, [a]) == ({}, [])


def test_an_already_stored_checkin_of_a_technician_never_written_is_counted():
    a, b = stored(staff="s1"), stored(staff="s2")
    assert needs_exact_count([a, b], {b["_id"]}, {}) == set()
    techs = technicians_after({}, [a, b], {b["_id"]})
    assert (techs["s1"]["checkinCount"], techs["s2"]["checkinCount"]) == (1, 1)


def test_a_retried_batch_is_counted_from_recent_without_the_store():
    """The insert went through, the technician's write did not: the retry finds its check-ins
    already stored, and `recent` shows they were never counted (no scan of homecheckins)."""
    first = [stored(minutes=i) for i in range(3)]
    techs = technicians_after({}, first, {d["_id"] for d in first})
    retried = [stored(minutes=10 + i) for i in range(2)]  # stored by the failed attempt
    assert needs_exact_count(retried, set(), techs) == set()
    after = technicians_after(techs, retried, set())
    assert after["s1"]["checkinCount"] == 5
    assert needs_exact_count(retried, set(), after) == set()  # once more: counted, kept
    assert technicians_after(after, retried, set()) == {}


def test_an_old_redelivery_that_recent_no_longer_keeps_is_counted_in_the_store():
    docs = [stored(minutes=i) for i in range(RECENT_LIMIT + 5)]
    techs = technicians_after({}, docs, {d["_id"] for d in docs})
    oldest, newest = docs[0], docs[-1]
    assert needs_exact_count([oldest], set(), techs) == {"s1"}  # fell out: only the store knows
    assert needs_exact_count([newest], set(), techs) == set()
    assert technicians_after(techs, [oldest], set(), {"s1": 26})["s1"]["checkinCount"] == 26
    written_before_recent = {"s1": {k: v for k, v in techs["s1"].items() if k != "recent"}}
    assert needs_exact_count([newest], set(), written_before_recent) == {"s1"}


def test_an_order_keeps_its_history_in_time_order_and_announces_status_changes():
    first = stored(minutes=0, status="homecheckedin")
    orders, notices = orders_after({}, [first])
    assert [(n.oldStatus, n.newStatus) for n in notices] == [(None, "homecheckedin")]
    done = stored(minutes=20, status="done", staff="s2")
    late = stored(minutes=10, status="working")
    orders2, notices2 = orders_after(orders, [done, late])
    order = orders2["o1"]
    assert [h["jobStatus"] for h in order["history"]] == ["homecheckedin", "working", "done"]
    assert (order["jobStatus"], order["staffCode"], order["eventId"]) == ("done", "s2", done["_id"])
    assert [(n.oldStatus, n.newStatus, n.orderNo) for n in notices2] == [
        ("homecheckedin", "done", "o1")
    ]
    # A late event that does not change the current status is history, not news.
    orders3, notices3 = orders_after(orders2, [stored(minutes=5, status="working")])
    assert notices3 == [] and orders3["o1"]["jobStatus"] == "done"


def test_a_status_notice_is_small_and_state_free():
    _, [change] = orders_after({}, [stored()])
    notice = status_notice(change, T0)
    assert set(notice) == {"orderNo", "oldStatus", "newStatus", "eventId", "checkinDate", "time"}
    assert notice["time"] == "2026-03-01T08:00:00.000Z"


def test_the_first_copy_of_an_id_in_a_batch_wins():
    a = stored(event_id="x", status="one")
    b = stored(event_id="x", status="two")
    assert first_by_id([a, b]) == [a]


events = st.lists(
    st.builds(
        lambda staff, order, status, minutes, stored_minutes: stored(
            staff=f"s{staff}",
            order=f"o{order}",
            status=status,
            minutes=minutes,
            stored_minutes=stored_minutes,
        ),
        st.integers(0, 2),
        st.integers(0, 3),
        st.sampled_from(["homecheckedin", "working", "done"]),
        st.integers(0, 5),  # few distinct dates: ties are broken by event id
        st.integers(0, 100),
    ),
    min_size=1,
    max_size=25,
)


def fold(batches):
    techs, orders = {}, {}
    for batch in batches:
        techs.update(technicians_after(techs, batch, {d["_id"] for d in batch}))
        orders.update(orders_after(orders, batch)[0])
    return techs, orders


@settings(max_examples=150, deadline=None)
@given(events, st.randoms(use_true_random=False), st.integers(1, 6))
def test_any_order_and_batching_gives_the_same_read_models(docs, rng, size):
    """What makes `rebuild` equal to the live path, and a late event harmless."""
    all_at_once = fold([docs])
    shuffled = docs[:]
    rng.shuffle(shuffled)
    in_batches = fold([shuffled[i : i + size] for i in range(0, len(shuffled), size)])
    assert in_batches == all_at_once
    techs, orders = all_at_once
    assert sum(t["checkinCount"] for t in techs.values()) == len(docs)
    assert sum(len(o["history"]) for o in orders.values()) == len(docs)
    for tech in techs.values():
        mine = [d for d in docs if d["staffCode"] == tech["_id"]]
        latest = max(mine, key=lambda d: (d["checkinDate"], d["_id"]))
        assert tech["eventId"] == latest["_id"]


@settings(max_examples=150, deadline=None)
@given(events, st.randoms(use_true_random=False), st.integers(1, 6))
def test_counts_stay_exact_through_retries_and_redeliveries(docs, rng, size):
    """A consumer that fails between the insert and the technicians' write, retries and gets
    old check-ins redelivered ends with every count equal to the check-ins stored."""
    docs = first_by_id(docs)
    in_store: set[str] = set()
    techs: dict = {}

    def deliver(batch, fail_after_insert):
        new_ids = {d["_id"] for d in batch} - in_store
        in_store.update(new_ids)
        if fail_after_insert:
            return
        mine = needs_exact_count(batch, new_ids, techs)
        exact = {s: sum(d["_id"] in in_store and d["staffCode"] == s for d in docs) for s in mine}
        techs.update(technicians_after(techs, batch, new_ids, exact))

    for i in range(0, len(docs), size):
        batch = docs[i : i + size]
        if rng.random() < 0.3:
            deliver(batch, fail_after_insert=True)  # then the retry
        deliver(batch, fail_after_insert=False)
        if rng.random() < 0.3:
            seen = docs[: i + size]
            deliver(rng.sample(seen, min(size, len(seen))), fail_after_insert=False)
    assert techs == fold([docs])[0]


def test_an_order_history_keeps_only_the_latest_entries_whatever_the_order():
    docs = [stored(minutes=i) for i in range(HISTORY_LIMIT + 30)]
    at_once = orders_after({}, docs)[0]["o1"]
    assert len(at_once["history"]) == HISTORY_LIMIT
    assert at_once["history"][0]["checkinDate"] == docs[30]["checkinDate"]
    newest_first, _ = orders_after({}, docs[::-1][:50])
    later, _ = orders_after(newest_first, docs[::-1][50:])
    assert later["o1"] == {**at_once, "updatedAt": later["o1"]["updatedAt"]}
    # An event older than everything kept changes nothing.
    assert orders_after({"o1": at_once}, [docs[0]]) == ({}, [])


def test_a_technician_keeps_its_latest_checkins_and_orders_newest_first():
    docs = [stored(minutes=i, order=f"o{i // 3}", lat=10 + i / 100) for i in range(60)]
    tech = technicians_after({}, docs, {d["_id"] for d in docs})["s1"]
    recent = decode_recent(tech["recent"])
    assert [e["eventId"] for e in recent] == [d["_id"] for d in docs[::-1][:RECENT_LIMIT]]
    newest = docs[-1]
    assert recent[0] == {
        "eventId": newest["_id"],
        "jobStatus": newest["jobStatus"],
        "orderNo": "o19",
        "internetNo": newest["internetNo"],
        "checkinLatitude": newest["checkinLatitude"],
        "checkinLongitude": newest["checkinLongitude"],
        "checkinDate": newest["checkinDate"],
    }
    # 60 check-ins on 20 orders: every order once, the most recently checked-in first.
    assert recent_order_numbers(tech["recentOrders"]) == [f"o{i}" for i in range(19, -1, -1)]


def test_recent_orders_are_ranked_by_their_latest_checkin_and_ties_by_event_id():
    old_order_again = stored(minutes=100, order="o-old", event_id="b")
    docs = [stored(minutes=i, order=f"o{i}") for i in range(RECENT_LIMIT + 5)]
    docs += [stored(minutes=-50, order="o-old", event_id="a"), old_order_again]
    docs += [stored(minutes=100, order="o-tie", event_id="c")]
    tech = technicians_after({}, docs, {d["_id"] for d in docs})["s1"]
    orders = recent_order_numbers(tech["recentOrders"])
    assert orders[:2] == ["o-tie", "o-old"]  # same checkinDate: the greater event id first
    assert orders[2:] == [f"o{i}" for i in range(RECENT_LIMIT + 4, 6, -1)]
    assert len(orders) == RECENT_LIMIT


def test_a_late_older_checkin_stays_out_of_a_full_recent_list_but_adds_its_order():
    docs = [stored(minutes=i) for i in range(RECENT_LIMIT)]
    tech = technicians_after({}, docs, {d["_id"] for d in docs})["s1"]
    late = stored(minutes=-5, order="o-late", stored_minutes=9)
    after = technicians_after({"s1": tech}, [late], {late["_id"]})["s1"]
    assert after["recent"] == tech["recent"]
    # All 20 kept check-ins are on o1: a second order still fits, after it.
    assert recent_order_numbers(after["recentOrders"]) == ["o1", "o-late"]
    assert after["checkinCount"] == RECENT_LIMIT + 1


busy = st.lists(
    st.builds(
        lambda order, minutes: stored(order=f"o{order}", minutes=minutes),
        st.integers(0, 30),
        st.integers(0, 8),  # few distinct dates: ties are broken by event id
    ),
    min_size=1,
    max_size=80,
)


@settings(max_examples=100, deadline=None)
@given(busy, st.randoms(use_true_random=False), st.integers(1, 9))
def test_recent_lists_are_the_same_in_any_order_and_batching(docs, rng, size):
    """More check-ins than RECENT_LIMIT on one technician: the cut is order-independent."""
    all_at_once = fold([docs])[0]["s1"]
    shuffled = docs[:]
    rng.shuffle(shuffled)
    batches = [shuffled[i : i + size] for i in range(0, len(shuffled), size)]
    redelivered = batches + batches[:1]
    assert fold(redelivered)[0]["s1"] == {
        **all_at_once,
        "checkinCount": len(docs) + len(batches[0]),
    }
    ranked = sorted(docs, key=lambda d: (d["checkinDate"], d["_id"]), reverse=True)
    recent = decode_recent(all_at_once["recent"])
    assert [e["eventId"] for e in recent] == [d["_id"] for d in ranked[:RECENT_LIMIT]]
    latest_orders = list(dict.fromkeys(d["orderNo"] for d in ranked))[:RECENT_LIMIT]
    assert recent_order_numbers(all_at_once["recentOrders"]) == latest_orders
