"""The API benchmark's pure helpers: percentiles and reading Server-Timing."""

from __future__ import annotations

from bench.api import percentile, server_timing


def test_nearest_rank_percentiles():
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 100) == 100
    assert percentile([7.0], 95) == 7.0
    assert percentile([3, 1, 2], 50) == 2


def test_server_timing_is_read_into_milliseconds_by_name():
    assert server_timing("parse;dur=0.213, kafka;dur=6.5") == {"parse": 0.213, "kafka": 6.5}
    assert server_timing('db;desc="x";dur=1') == {"db": 1.0}
    assert server_timing(None) == {}
    assert server_timing("kafka;dur=fast") == {}
