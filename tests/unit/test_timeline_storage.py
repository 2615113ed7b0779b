"""The stored form of a timeline day document: `hours` and `minutes` as JSON strings."""

from datetime import UTC, datetime

from readmodels import timeline

DAY = datetime(2026, 11, 26, tzinfo=UTC)


def day_doc() -> dict:
    doc = timeline.new_day(DAY, 3)
    doc["hours"] = {"13": {"n": 3, "pages": 1}}
    doc["minutes"] = {
        "1305": {"n": 2, "byStatus": {"onroute": 1, "completed": 1}},
        "1359": {"n": 1, "byStatus": {"onroute": 1}},
    }
    return doc


def test_a_stored_day_keeps_its_counts_as_strings_and_reads_back_equal():
    stored = timeline.store_day(day_doc())
    assert isinstance(stored["hours"], str) and isinstance(stored["minutes"], str)
    assert (stored["_id"], stored["day"], stored["partition"]) == ("2026-11-26/p3", DAY, 3)
    assert timeline.load_day(stored) == day_doc()


def test_equal_counts_give_equal_stored_documents_whatever_the_key_order():
    doc = day_doc()
    reordered = {
        **doc,
        "minutes": {
            "1359": doc["minutes"]["1359"],
            "1305": {"n": 2, "byStatus": {"completed": 1, "onroute": 1}},
        },
    }
    assert timeline.store_day(reordered) == timeline.store_day(doc)


def test_a_new_day_and_a_day_stored_with_subdocuments_read_as_they_are():
    assert timeline.load_day(timeline.store_day(timeline.new_day(DAY, 0)))["minutes"] == {}
    assert timeline.load_day(day_doc()) == day_doc()  # written before the strings


def test_reads_of_a_stored_day_give_the_pure_counts():
    stored = [timeline.store_day(day_doc())]
    start, end = DAY.replace(hour=13), DAY.replace(hour=14)
    counts = timeline.count_minutes([timeline.load_day(d) for d in stored], start, end)
    assert [c["n"] for c in counts.values()] == [2, 1]
    [hour] = timeline.hours_in_window([timeline.load_day(d) for d in stored], start, end)
    assert (hour.partition, hour.pages, hour.count) == (3, 1, 3)
