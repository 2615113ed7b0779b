"""The soak's pure figures (bench/soak_figures.py): what bench.json and the README table say."""

from __future__ import annotations

from bench import soak_figures as sf

WINDOWS = [
    {"t_s": 60, "rss_mb": {"mongo": 50.0, "api": 60.0}, "wal_mb": 3.0, "lag": 10,
     "latency_ms": {"p99": 120.0}},
    {"t_s": 120, "rss_mb": {"mongo": 80.0, "api": 61.0}, "wal_mb": 17.0, "lag": None,
     "latency_ms": {"p99": 90.0}},
    {"t_s": 180, "rss_mb": {"mongo": 70.0, "api": 61.0, "dashboard": 200.0}, "wal_mb": 5.0,
     "lag": 4, "latency_ms": {"p99": 100.0}},
]  # fmt: skip


def test_each_figure_gets_its_first_last_and_max_over_the_windows():
    table = sf.summary_table(WINDOWS)
    assert table["rss_mb.mongo"] == {"first": 50.0, "last": 70.0, "max": 80.0}
    assert table["wal_mb"] == {"first": 3.0, "last": 5.0, "max": 17.0}
    assert table["lag"] == {"first": 10.0, "last": 4.0, "max": 10.0}  # a missing reading is skipped
    assert "t_s" not in table


def test_per_service_figures_include_a_service_that_came_up_late():
    assert sf.per_service(WINDOWS, "rss_mb", "first") == {
        "mongo": 50.0, "api": 60.0, "dashboard": 200.0
    }  # fmt: skip
    assert sf.per_service(WINDOWS, "rss_mb", "max")["mongo"] == 80.0


def test_latency_window_percentiles_in_ms():
    window = sf.latency_window([0.1] * 98 + [0.5, 2.0])
    assert window == {"n": 100, "p50": 100.0, "p95": 100.0, "p99": 500.0, "max": 2000.0}
    assert sf.latency_window([]) == {"n": 0, "p50": None, "p95": None, "p99": None, "max": None}


def test_growth_per_hour_is_the_slope_of_the_figure():
    windows = [{"t_s": t, "store_mb": 10 + t / 60} for t in (60, 120, 180, 240)]
    assert sf.growth_per_hour(windows, "store_mb") == 60.0
    assert sf.growth_per_hour(windows[:1], "store_mb") is None


def test_rise_over_the_last_third():
    assert sf.last_third_growth([1, 2, 3, 4, 5, 6, 7, 8, 9]) == 3  # 9 - 6
    assert sf.last_third_growth([5, 5]) is None


def test_the_simulators_last_line_says_how_many_were_acknowledged():
    log = (
        "simulate: running: sent 100 of 9,000 check-ins, 90 acknowledged, 0 failed\n"
        "simulate: done: sent 9,000 of 9,000 check-ins, 8,999 acknowledged, 1 failed to T\n"
    )
    assert sf.acknowledged_in(log) == 8999
    assert sf.acknowledged_in("no summary") is None


def test_lost_is_what_was_acknowledged_and_not_stored():
    assert sf.lost(acknowledged=100, stored=97) == 3
    assert sf.lost(acknowledged=100, stored=101) == 0
