"""The simulator's pure, seeded core: technicians driving to their customers' homes around a
city and moving their orders through a lifecycle. No I/O and no wall clock: the same seed gives
the same check-ins.

Event `i` is due `i / rate` seconds after the start and belongs to technician `i % N`; its
simulated time is that offset times `speedup` (1 = real time; more makes a short demo show whole
lifecycles, and moves check-in dates ahead of the wall clock by the same factor).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from checkins.event import SAMPLE

LIFECYCLE = ("assigned", "on_the_way", "homecheckedin", "working", "completed")
EARTH_RADIUS_M = 6_371_008.8
METRES_PER_DEGREE = math.pi * EARTH_RADIUS_M / 180


@dataclass(frozen=True)
class City:
    """A square of `radius_km` either side of a centre; technicians never leave it."""

    name: str
    latitude: float
    longitude: float
    radius_km: float = 12.0

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(south, west, north, east) in degrees."""
        dlat = self.radius_km * 1000 / METRES_PER_DEGREE
        dlon = dlat / math.cos(math.radians(self.latitude))
        return (
            self.latitude - dlat,
            self.longitude - dlon,
            self.latitude + dlat,
            self.longitude + dlon,
        )

    def contains(self, latitude: float, longitude: float) -> bool:
        south, west, north, east = self.bounds
        return south <= latitude <= north and west <= longitude <= east

    def clamp(self, latitude: float, longitude: float) -> tuple[float, float]:
        south, west, north, east = self.bounds
        return min(max(latitude, south), north), min(max(longitude, west), east)


# Around the seed's check-in (Bangkok, Phaya Thai).
BANGKOK = City("Bangkok", SAMPLE["checkinLatitude"], SAMPLE["checkinLongitude"])


@dataclass(frozen=True)
class Timings:
    """Simulated seconds and metres that shape a technician's day, kept short for demos."""

    assigned_wait: tuple[float, float] = (3.0, 12.0)  # before setting off
    trip_m: tuple[float, float] = (300.0, 2_500.0)  # to the next customer's home
    cruise_mps: tuple[float, float] = (7.0, 13.0)  # 25-47 km/h in city traffic
    checkin_wait: tuple[float, float] = (3.0, 10.0)  # at the door before work starts
    work: tuple[float, float] = (20.0, 90.0)
    completed_wait: tuple[float, float] = (3.0, 10.0)  # before the next order
    heading_noise_rad: float = 0.2  # streets are not straight lines
    speed_factor: tuple[float, float] = (0.6, 1.05)  # traffic: slower than cruise, rarely faster

    @property
    def max_speed_mps(self) -> float:
        return self.cruise_mps[1] * self.speed_factor[1]


@dataclass(frozen=True)
class Order:
    order_no: str
    internet_no: str
    latitude: float  # the customer's home
    longitude: float


@dataclass(frozen=True)
class Technician:
    staff_code: str
    latitude: float
    longitude: float
    cruise_mps: float
    order: Order
    status: str
    clock: float  # simulated seconds of its latest event
    next_at: float  # when a timed status may move on (unused while driving)
    orders_done: int = 0


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def offset(latitude: float, longitude: float, north_m: float, east_m: float) -> tuple[float, float]:
    """Move by metres north and east (flat-earth: fine at city scale)."""
    dlat = north_m / METRES_PER_DEGREE
    dlon = east_m / (METRES_PER_DEGREE * math.cos(math.radians(latitude)))
    return latitude + dlat, longitude + dlon


def new_order(
    rng: random.Random, city: City, timings: Timings, latitude: float, longitude: float
) -> Order:
    """A customer a plausible drive away, inside the city."""
    for _ in range(50):
        bearing = rng.uniform(0, 2 * math.pi)
        metres = rng.uniform(*timings.trip_m)
        home = offset(latitude, longitude, metres * math.cos(bearing), metres * math.sin(bearing))
        if city.contains(*home):
            break
    else:  # hemmed in at an edge: head back towards the centre
        home = (city.latitude, city.longitude)
    return Order(
        order_no=f"{rng.randint(1_000_000, 9_999_999)}_{rng.randint(100_000_000, 999_999_999)}.1",
        internet_no=f"88{rng.randint(0, 99_999_999):08d}",
        latitude=home[0],
        longitude=home[1],
    )


def spawn(
    index: int, rng: random.Random, city: City, timings: Timings, prefix: str = "sim"
) -> Technician:
    """A technician somewhere in the city, just assigned an order."""
    radius = city.radius_km * 1000 * 0.8 * math.sqrt(rng.random())
    bearing = rng.uniform(0, 2 * math.pi)
    lat, lon = offset(
        city.latitude, city.longitude, radius * math.cos(bearing), radius * math.sin(bearing)
    )
    return Technician(
        staff_code=f"{prefix}_{index:04d}",
        latitude=lat,
        longitude=lon,
        cruise_mps=rng.uniform(*timings.cruise_mps),
        order=new_order(rng, city, timings, lat, lon),
        status=LIFECYCLE[0],
        clock=0.0,
        next_at=rng.uniform(*timings.assigned_wait),
    )


def advance(
    tech: Technician, now: float, rng: random.Random, city: City, timings: Timings
) -> Technician:
    """The technician at simulated time `now`: driven on, and moved at most one status on (so
    every status of the lifecycle shows in the stream, in order)."""
    dt = max(0.0, now - tech.clock)
    tech = replace(tech, clock=max(now, tech.clock))
    status = tech.status
    if status == "assigned" and now >= tech.next_at:
        return replace(tech, status="on_the_way")
    if status == "on_the_way":
        tech = _drive(tech, dt, rng, city, timings)
        if (tech.latitude, tech.longitude) == (tech.order.latitude, tech.order.longitude):
            return replace(
                tech,
                status="homecheckedin",
                next_at=now + rng.uniform(*timings.checkin_wait),
            )
        return tech
    if status == "homecheckedin" and now >= tech.next_at:
        return replace(tech, status="working", next_at=now + rng.uniform(*timings.work))
    if status == "working" and now >= tech.next_at:
        return replace(tech, status="completed", next_at=now + rng.uniform(*timings.completed_wait))
    if status == "completed" and now >= tech.next_at:
        return replace(
            tech,
            status="assigned",
            order=new_order(rng, city, timings, tech.latitude, tech.longitude),
            next_at=now + rng.uniform(*timings.assigned_wait),
            orders_done=tech.orders_done + 1,
        )
    return tech


def _drive(
    tech: Technician, dt: float, rng: random.Random, city: City, timings: Timings
) -> Technician:
    """Head for the customer's home with a little wobble, at a speed traffic allows."""
    remaining = distance_m(tech.latitude, tech.longitude, tech.order.latitude, tech.order.longitude)
    step = min(tech.cruise_mps * rng.uniform(*timings.speed_factor) * dt, remaining)
    if step <= 0:
        return tech
    if step >= remaining:
        return replace(tech, latitude=tech.order.latitude, longitude=tech.order.longitude)
    north = (tech.order.latitude - tech.latitude) * METRES_PER_DEGREE
    east = (
        (tech.order.longitude - tech.longitude)
        * METRES_PER_DEGREE
        * math.cos(math.radians(tech.latitude))
    )
    heading = math.atan2(east, north) + rng.gauss(0, timings.heading_noise_rad)
    lat, lon = offset(
        tech.latitude, tech.longitude, step * math.cos(heading), step * math.sin(heading)
    )
    lat, lon = city.clamp(lat, lon)
    return replace(tech, latitude=lat, longitude=lon)


def checkin_data(tech: Technician, start: datetime) -> dict[str, Any]:
    """The seven fields of a technician's check-in at its current clock."""
    return {
        "internetNo": tech.order.internet_no,
        "orderNo": tech.order.order_no,
        "staffCode": tech.staff_code,
        "jobStatus": tech.status,
        "checkinLatitude": tech.latitude,
        "checkinLongitude": tech.longitude,
        "checkinDate": start + timedelta(seconds=tech.clock),
    }


@dataclass(frozen=True)
class SimEvent:
    index: int
    due: float  # seconds after the start, on the wall clock
    data: dict[str, Any]  # the seven fields, for `CheckIn.model_validate`


class Simulation:
    """N technicians under one seed; `events` yields their check-ins in order."""

    def __init__(
        self,
        technicians: int,
        *,
        seed: int = 0,
        city: City = BANGKOK,
        timings: Timings | None = None,
        prefix: str = "sim",
        start: datetime | None = None,
    ):
        if technicians < 1:
            raise ValueError("technicians must be at least 1")
        self.city = city
        self.timings = timings or Timings()
        self.start = start or datetime.now(UTC)
        self._rng = random.Random(seed)
        self.technicians = [
            spawn(i + 1, self._rng, city, self.timings, prefix) for i in range(technicians)
        ]

    def events(self, rate: float, total: int, speedup: float = 1.0) -> Iterator[SimEvent]:
        if rate <= 0:
            raise ValueError("rate must be above 0")
        for index in range(total):
            due = index / rate
            slot = index % len(self.technicians)
            tech = advance(
                self.technicians[slot], due * speedup, self._rng, self.city, self.timings
            )
            self.technicians[slot] = tech
            yield SimEvent(index, due, checkin_data(tech, self.start))


def event_count(rate: float, duration: float) -> int:
    """How many events a run sends: one every 1/rate seconds over the duration."""
    if rate <= 0 or duration <= 0:
        raise ValueError("rate and duration must be above 0")
    return max(1, round(rate * duration))
