"""The simulator's pacing: each event leaves when it is due on the clock, the count is
rate x duration, a stop ends the run, and slow sends are caught up instead of stretching it."""

from __future__ import annotations

import threading

import pytest

from simulator.cli import Progress, pace, parse_args
from simulator.model import BANGKOK, Simulation, event_count


class FakeClock:
    """A monotonic clock that only moves when the pacer waits (or a send takes time)."""

    def __init__(self):
        self.now = 1000.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return False  # not stopped


def _paced(rate, duration, send_cost=0.0, stop_after=None, technicians=5):
    clock = FakeClock()
    stop = threading.Event()
    sent_at: list[tuple[float, float]] = []
    total = event_count(rate, duration)
    progress = Progress(total=total)

    def send(event):
        sent_at.append((clock.now - 1000.0, event.due))
        clock.now += send_cost
        if stop_after is not None and len(sent_at) == stop_after:
            stop.set()

    events = Simulation(technicians, seed=3).events(rate, total)
    pace(events, send, progress, stop, clock=clock, wait=clock.wait)
    return progress, sent_at, clock


@pytest.mark.parametrize(("rate", "duration"), [(50, 60), (7, 3), (0.5, 10), (1000, 2)])
def test_a_run_sends_exactly_rate_times_duration_check_ins_on_schedule(rate, duration):
    progress, sent_at, clock = _paced(rate, duration)
    assert progress.sent == len(sent_at) == round(rate * duration)
    assert progress.done and not progress.stopped
    for at, due in sent_at:
        assert at == pytest.approx(due)  # never early, never late on an idle clock
    assert clock.now - 1000.0 == pytest.approx((len(sent_at) - 1) / rate)


def test_slow_sends_are_caught_up_not_added_to_the_schedule():
    # each send takes half the interval: the run still ends on time, waits shrink to match
    progress, sent_at, clock = _paced(rate=10, duration=5, send_cost=0.05)
    assert progress.sent == 50
    assert clock.now - 1000.0 == pytest.approx(4.9 + 0.05)
    assert all(w == pytest.approx(0.05) for w in clock.waits)


def test_sends_slower_than_the_rate_go_back_to_back_without_waiting():
    progress, _, clock = _paced(rate=10, duration=2, send_cost=0.2)
    assert progress.sent == 20
    assert clock.waits == []


def test_a_stop_ends_the_run_early_and_says_so():
    progress, sent_at, _ = _paced(rate=50, duration=60, stop_after=120)
    assert progress.sent == 120 == len(sent_at)
    assert progress.stopped and progress.done
    assert "stopped: sent 120 of 3,000" in progress.summary()


def test_a_stop_while_waiting_ends_the_run():
    stop = threading.Event()
    progress = Progress(total=10)
    calls = []

    def wait(seconds):  # the stop arrives during the first wait
        calls.append(seconds)
        stop.set()
        return True

    events = Simulation(2, seed=1).events(rate=1, total=10)
    pace(events, lambda e: None, progress, stop, clock=lambda: 0.0, wait=wait)
    assert progress.sent == 1 and progress.stopped and len(calls) == 1


def test_progress_counts_acknowledgements_and_failures():
    progress = Progress(total=4)
    progress.on_delivery(None)
    progress.on_delivery(None)
    progress.on_delivery("broker down")
    assert (progress.acked, progress.failed, progress.last_error) == (2, 1, "broker down")
    progress.sent = 3
    assert progress.fraction == 0.75


def test_the_command_line_defaults_to_bangkok_and_rejects_nonsense():
    args = parse_args(["--technicians", "200", "--rate", "50", "--duration", "60"])
    assert (args.technicians, args.rate, args.duration) == (200, 50.0, 60.0)
    assert args.center == (BANGKOK.latitude, BANGKOK.longitude)
    for bad in (["--rate", "0"], ["--technicians", "-3"], ["--center", "north"]):
        with pytest.raises(SystemExit):
            parse_args(bad)
