"""Fault 2: the MongoDB-compatible server is stopped for 30 s mid-stream, then started. The
consumer waits and retries, lag grows and then drains, nothing is lost; meanwhile the dashboard
(a real browser on the overview page) says the store is unreachable and recovers by itself."""

from __future__ import annotations

import time

from playwright.sync_api import Page

from tests.browser import chromium_page
from tests.faults.harness import (
    LagWatch,
    Stream,
    assert_exactly_once,
    consumers,
    database,
    make_checkins,
    own_topics,
    stored_count,
    wait_drained,
    wait_stored,
)
from tests.faults.services import dashboard
from tests.waiting import wait_for

OUTAGE_S = 30.0
RATE = 200  # events per second, for 60 s: the outage sits in the middle of the stream
EVENTS = 12_000
UNREACHABLE = "Unreachable: MongoDB"


def body(page: Page) -> str:
    return page.locator("body").inner_text()


def store_shown_reachable(page: Page) -> bool:
    text = body(page)
    return UNREACHABLE not in text and "Events stored" in text


def test_store_down_for_30_s_mid_stream_loses_nothing_and_the_dashboard_says_so(
    fault_stack, rng, figures, logs
):
    checkins = make_checkins(rng, EVENTS)
    with (
        own_topics(fault_stack, "store") as settings,
        database(settings) as db,
        consumers(settings, logs, "--batch-size", "2000") as group,
        LagWatch(settings) as lag,
        dashboard(settings, logs) as (url, board),
        chromium_page() as page,
    ):
        member = group.start()
        page.goto(f"{url}/overview")
        wait_for(lambda: store_shown_reachable(page), 60, "the overview to show the store")

        stream = Stream(settings, checkins, rate=RATE).start()
        wait_stored(db, 1_000, 120, "the stream to be flowing into the store")
        lag_before = lag.latest() or 0
        fault_stack.stop("mongo")
        down_at = time.monotonic()
        stored_at_stop = stream.count_acked()

        wait_for(lambda: UNREACHABLE in body(page), OUTAGE_S, "the dashboard to say so")
        said_unreachable_s = time.monotonic() - down_at
        # The outage's length is the point of this fault: hold it for OUTAGE_S on the clock.
        wait_for(lambda: time.monotonic() - down_at >= OUTAGE_S, OUTAGE_S + 5, "the outage")
        assert member.poll() is None, "the consumer died while the store was down"
        assert UNREACHABLE in body(page)
        fault_stack.start("mongo")
        up_at = time.monotonic()

        # No reload: the page's own 5 s refresh must notice.
        wait_for(lambda: store_shown_reachable(page), 60, "the dashboard to recover by itself")
        recovered_s = time.monotonic() - up_at
        stream.join(300)
        wait_drained(db, stream.acked, 300, "every acknowledged event stored after the outage")
        drained_s = time.monotonic() - up_at
        wait_for(lambda: lag.latest() == 0, 60, "the lag to drain to 0")
        assert board.poll() is None, "the dashboard process died"
        assert not group.died(), group.died()
        assert group.stop(member) == 0
        peak = lag.peak_between(down_at, up_at + 5)
        assert peak > lag_before + RATE * OUTAGE_S / 2, f"lag did not grow: {lag_before} -> {peak}"
        result = assert_exactly_once(db, stream.acked)
        assert stored_count(db) == len(stream.acked)

    figures["fault2_store_outage"] = {
        **result,
        "downtime_s": round(up_at - down_at, 1),
        "acked_before_stop": stored_at_stop,
        "lag_before": lag_before,
        "lag_peak": peak,
        "dashboard_said_unreachable_after_s": round(said_unreachable_s, 1),
        "dashboard_recovered_after_s": round(recovered_s, 1),
        "drained_after_restart_s": round(drained_s, 1),
    }
