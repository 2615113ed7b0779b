"""The timeline read model's pure core: points, pages, day summaries and the reader's plan."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from readmodels import timeline

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def checkin(i: int, minutes: float = 0, partition: int = 0, status: str = "onroute") -> dict:
    at = T0 + timedelta(minutes=minutes)
    at = at.replace(microsecond=at.microsecond // 1000 * 1000)  # stored dates are milliseconds
    return {
        "_id": f"e{i}",
        "checkinLongitude": 100.5,
        "checkinLatitude": 13.7,
        "jobStatus": status,
        "staffCode": f"s{i % 7}",
        "orderNo": f"o{i}",
        "internetNo": f"88{i}",
        "checkinDate": at,
        "storedAt": at + timedelta(seconds=2),
        "source": {"topic": "t", "partition": partition, "offset": i},
    }


def build(docs: list[dict]) -> tuple[dict, dict]:
    """What the writer stores, with every batch read in full: ({page id: points}, {day id: doc})."""
    pages: dict[str, list] = {}
    days: dict[str, dict] = {}
    for (day, partition), hours in timeline.group_by_hour(docs).items():
        key = timeline.day_id(day, partition)
        day_doc = days.get(key) or timeline.new_day(day, partition)
        for hour, group in hours.items():
            count = day_doc["hours"].get(f"{hour:%H}", {}).get("pages", 0)
            current = [pages[timeline.page_id(hour, partition, n)] for n in range(count)]
            merged = timeline.merge_pages(current, group)
            for n in merged.changed:
                pages[timeline.page_id(hour, partition, n)] = merged.pages[n]
            day_doc = timeline.summarize_hour(day_doc, hour, merged.pages)
        days[key] = day_doc
    return pages, days


def read(pages: dict, days: dict, start, end, keep=None, cap=20_000):
    hours = timeline.hours_in_window(days.values(), start, end)

    def fetch(hour, number):
        return pages[timeline.page_id(hour.hour, hour.partition, number)]

    return timeline.collect_points(hours, fetch, start, end, keep, cap)


def test_a_point_keeps_the_fields_the_views_show():
    doc = checkin(1, minutes=3.5)
    back = timeline.from_point(timeline.to_point(doc))
    assert back == {f: doc[f] for f in timeline.POINT_FIELDS}
    # a page survives its JSON form
    page = [timeline.to_point(doc)]
    assert timeline.decode_page(timeline.encode_page(page)) == page


def test_keys_are_utc_hours_and_days_per_partition():
    bangkok = datetime(2026, 3, 1, 14, 30, tzinfo=ZoneInfo("Asia/Bangkok"))  # 07:30 UTC
    assert timeline.page_id(timeline.hour_of(bangkok), 3, 0) == "2026-03-01T07Z/p3/0"
    assert timeline.day_id(timeline.day_of(bangkok), 3) == "2026-03-01/p3"
    naive = datetime(2026, 3, 1, 23, 59)  # a client without tz_aware: BSON dates are UTC
    assert timeline.day_of(naive) == datetime(2026, 3, 1, tzinfo=UTC)


def test_merge_appends_only_what_no_page_holds_and_spills_into_new_pages():
    first = [checkin(i) for i in range(timeline.PAGE_SIZE - 1)]
    merged = timeline.merge_pages([], first)
    assert [len(p) for p in merged.pages] == [timeline.PAGE_SIZE - 1]
    again = timeline.merge_pages(merged.pages, first + [checkin(10_000), checkin(10_001)])
    assert [len(p) for p in again.pages] == [timeline.PAGE_SIZE, 1]
    assert again.changed == {0, 1}
    assert [p[timeline.ID] for p in again.added] == ["e10000", "e10001"]
    # a redelivery of everything changes nothing
    assert timeline.merge_pages(again.pages, first).changed == set()


def test_day_summary_counts_minutes_and_statuses():
    docs = [checkin(1, 0.2), checkin(2, 0.7, status="done"), checkin(3, 61)]
    _, days = build(docs)
    day = days["2026-03-01/p0"]
    assert day["hours"] == {"08": {"n": 2, "pages": 1}, "09": {"n": 1, "pages": 1}}
    assert day["minutes"]["0800"] == {"n": 2, "byStatus": {"onroute": 1, "done": 1}}
    assert day["minutes"]["0901"] == {"n": 1, "byStatus": {"onroute": 1}}


def test_adding_to_an_hour_equals_recounting_it():
    old = [checkin(i, minutes=i % 50) for i in range(30)]
    new = [checkin(100 + i, minutes=i % 60) for i in range(20)]
    pages, days = build(old)
    day = days["2026-03-01/p0"]
    current = [pages[timeline.page_id(T0, 0, n)] for n in range(day["hours"]["08"]["pages"])]
    merged = timeline.merge_pages(current, new)
    added = timeline.add_to_hour(day, T0, merged.added, len(merged.pages))
    recounted = timeline.summarize_hour(day, T0, merged.pages)
    assert added == recounted
    assert day["hours"]["08"]["n"] == 30  # the input is not changed


@settings(max_examples=40, deadline=None)
@given(
    minutes=st.lists(st.floats(min_value=0, max_value=3 * 24 * 60), min_size=1, max_size=300),
    seed=st.integers(0, 1000),
    window=st.tuples(st.floats(0, 3 * 24 * 60), st.floats(0, 3 * 24 * 60)),
    cap=st.integers(1, 400),
)
def test_the_reader_returns_the_newest_in_the_window_whatever_the_write_order(
    minutes, seed, window, cap
):
    docs = [checkin(i, m, partition=i % 3) for i, m in enumerate(minutes)]
    shuffled = docs[:]
    random.Random(seed).shuffle(shuffled)
    pages, days = build(shuffled)
    start, end = (T0 + timedelta(minutes=w) for w in sorted(window))
    rows, capped = read(pages, days, start, end, cap=cap)

    inside = [d for d in docs if start <= d["checkinDate"] <= end]
    expected = sorted(inside, key=lambda d: (d["checkinDate"], d["_id"]), reverse=True)
    assert [r["_id"] for r in rows] == [d["_id"] for d in expected[:cap]]
    assert capped == (len(inside) > cap)


def test_the_reader_filters_with_keep_and_stops_after_the_read_cap():
    docs = [checkin(i, minutes=i, status="done" if i % 2 else "onroute") for i in range(240)]
    pages, days = build(docs)
    end = T0 + timedelta(hours=5)
    rows, capped = read(pages, days, T0, end, keep=lambda r: r["jobStatus"] == "done")
    assert len(rows) == 120 and not capped
    assert {r["jobStatus"] for r in rows} == {"done"}

    hours = timeline.hours_in_window(days.values(), T0, end)
    fetch = lambda h, n: pages[timeline.page_id(h.hour, h.partition, n)]  # noqa: E731
    rows, capped = timeline.collect_points(hours, fetch, T0, end, read_cap=60)
    assert capped  # the newest hour (60 points) was read, older hours were left
    assert [r["_id"] for r in rows] == [f"e{i}" for i in range(239, 179, -1)]


def test_minute_counts_sum_partitions_within_the_window():
    docs = [checkin(i, minutes=i % 10, partition=i % 4) for i in range(100)]
    _, days = build(docs)
    counts = timeline.count_minutes(
        days.values(), T0 + timedelta(minutes=2), T0 + timedelta(minutes=4)
    )
    assert list(counts) == [T0 + timedelta(minutes=m) for m in (2, 3, 4)]
    assert all(c["n"] == 10 for c in counts.values())
    assert sum(counts[T0 + timedelta(minutes=2)]["byStatus"].values()) == 10


def test_days_between_lists_every_utc_day_newest_first():
    start = datetime(2026, 2, 27, 23, 0, tzinfo=UTC)
    end = datetime(2026, 3, 1, 0, 30, tzinfo=UTC)
    assert timeline.days_between(start, end) == [
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 2, 28, tzinfo=UTC),
        datetime(2026, 2, 27, tzinfo=UTC),
    ]
