"""The simulator's core: seeded, inside the city, at plausible speeds, statuses in order."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import pytest

from checkins.event import CheckIn
from simulator.model import (
    BANGKOK,
    LIFECYCLE,
    City,
    Simulation,
    Timings,
    distance_m,
    event_count,
)

START = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


def _run(technicians=20, rate=10.0, seconds=600.0, seed=7, speedup=1.0, city=BANGKOK):
    simulation = Simulation(technicians, seed=seed, city=city, start=START)
    return list(simulation.events(rate, event_count(rate, seconds), speedup))


def _by_technician(events):
    tracks = defaultdict(list)
    for event in events:
        tracks[event.data["staffCode"]].append(event.data)
    return tracks


def test_the_same_seed_gives_the_same_checkins_and_another_seed_does_not():
    assert [e.data for e in _run(seed=1)] == [e.data for e in _run(seed=1)]
    assert [e.data for e in _run(seed=1)] != [e.data for e in _run(seed=2)]


def test_every_event_is_a_valid_checkin_for_the_one_schema():
    for event in _run(technicians=5, seconds=60):
        checkin = CheckIn.model_validate(event.data)
        assert checkin.jobStatus in LIFECYCLE


def test_events_are_shared_round_robin_and_due_one_per_rate_tick():
    events = _run(technicians=4, rate=8.0, seconds=2)
    assert [e.index for e in events] == list(range(16))
    assert [e.due for e in events] == [i / 8.0 for i in range(16)]
    assert [e.data["staffCode"] for e in events[:5]] == [
        "sim_0001",
        "sim_0002",
        "sim_0003",
        "sim_0004",
        "sim_0001",
    ]


@pytest.mark.parametrize(
    "city",
    [BANGKOK, City("tiny", 13.75, 100.5, radius_km=0.5), City("north", 60.17, 24.94, 3.0)],
)
def test_positions_stay_inside_the_citys_bounds(city):
    south, west, north, east = city.bounds
    events = _run(technicians=30, rate=30.0, seconds=400, speedup=5, city=city)
    for event in events:
        assert south <= event.data["checkinLatitude"] <= north
        assert west <= event.data["checkinLongitude"] <= east


def test_the_default_city_is_around_the_seeds_checkin():
    south, west, north, east = BANGKOK.bounds
    assert south < 13.7827811 < north and west < 100.5465937 < east
    assert 20_000 < distance_m(south, west, north, west) < 30_000  # a 24 km wide city


def test_speeds_between_consecutive_checkins_are_plausible_for_city_traffic():
    limit = Timings().max_speed_mps
    assert limit < 17  # about 60 km/h
    moving = 0
    for track in _by_technician(_run(technicians=10, rate=5.0, seconds=1800)).values():
        for before, after in zip(track, track[1:], strict=False):
            seconds = (after["checkinDate"] - before["checkinDate"]).total_seconds()
            metres = distance_m(
                before["checkinLatitude"],
                before["checkinLongitude"],
                after["checkinLatitude"],
                after["checkinLongitude"],
            )
            assert seconds > 0
            assert metres <= limit * seconds + 1e-6
            if before["jobStatus"] != "on_the_way" and after["jobStatus"] != "on_the_way":
                assert metres == 0  # nobody moves while assigned, at the door or working
            moving += metres > 0
    assert moving > 50  # they do drive


def test_each_technician_goes_through_the_lifecycle_in_order_and_then_gets_a_new_order():
    tracks = _by_technician(_run(technicians=10, rate=5.0, seconds=3600, speedup=2))
    completed_orders = 0
    for track in tracks.values():
        assert track[0]["jobStatus"] == "assigned"
        for before, after in zip(track, track[1:], strict=False):
            i = LIFECYCLE.index(before["jobStatus"])
            allowed = {before["jobStatus"], LIFECYCLE[(i + 1) % len(LIFECYCLE)]}
            assert after["jobStatus"] in allowed, (before, after)
            new_order = after["orderNo"] != before["orderNo"]
            assert new_order == (
                before["jobStatus"] == "completed" and after["jobStatus"] == "assigned"
            )
            completed_orders += new_order
    assert completed_orders >= 10  # whole cycles happen in an hour


def test_technicians_check_in_at_the_customers_home():
    tracks = _by_technician(_run(technicians=10, rate=5.0, seconds=3600, speedup=2))
    for track in tracks.values():
        at_door = {}
        for data in track:
            if data["jobStatus"] in ("homecheckedin", "working", "completed"):
                where = (data["checkinLatitude"], data["checkinLongitude"])
                assert at_door.setdefault(data["orderNo"], where) == where


def test_speedup_runs_the_simulated_clock_faster():
    slow = _run(technicians=2, rate=2.0, seconds=10)
    fast = _run(technicians=2, rate=2.0, seconds=10, speedup=10)
    assert (slow[-1].data["checkinDate"] - START).total_seconds() == pytest.approx(9.5)
    assert (fast[-1].data["checkinDate"] - START).total_seconds() == pytest.approx(95)


@pytest.mark.parametrize(
    ("rate", "duration", "count"), [(50, 60, 3000), (0.5, 3, 2), (2.5, 1, 2), (1000, 0.001, 1)]
)
def test_a_run_sends_rate_times_duration_events(rate, duration, count):
    assert event_count(rate, duration) == count


@pytest.mark.parametrize(("rate", "duration"), [(0, 10), (10, 0), (-1, 5)])
def test_a_run_needs_a_positive_rate_and_duration(rate, duration):
    with pytest.raises(ValueError):
        event_count(rate, duration)
