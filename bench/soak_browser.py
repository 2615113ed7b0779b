"""The soak's user: the dashboard's map, overview and lag pages open in headless Chromium with
their live refresh on (each page's default), for the whole run.

Two figures per page and window: `live_ms`, how long the page's own live refreshes took (the
app's `data-test-script-state` attribute, "running" to not, watched in the page), and
`load_ms`, a reload until the page's content is back (which also opens and closes a Streamlit
session, as a user's reloads do all day)."""

from __future__ import annotations

import threading
import time
from typing import Any

from playwright.sync_api import sync_playwright

from bench.soak_figures import percentile
from tests.browser import launch_chromium

# path, text that shows the page's content has drawn
PAGES = {
    "map": ("/", "on the map"),
    "overview": ("/overview", "Events stored"),
    "lag": ("/lag", "Total lag"),
}
LOAD_TIMEOUT_MS = 90_000

# Records each script run's duration (ms) in window.__soakRuns.
WATCH_RUNS = """
(() => {
  window.__soakRuns = [];
  let began = null;
  const look = () => {
    const el = document.querySelector('[data-test-script-state]');
    if (!el) return;
    const state = el.getAttribute('data-test-script-state');
    if (state === 'running') { if (began === null) began = performance.now(); }
    else if (began !== null) { window.__soakRuns.push(performance.now() - began); began = null; }
  };
  new MutationObserver(look).observe(document, {subtree: true, childList: true,
    attributes: true, attributeFilter: ['data-test-script-state']});
})();
"""


class DashboardUser(threading.Thread):
    """Keeps the pages open; every `every` s measures them. Playwright's sync API stays in this
    one thread; the soak reads `rounds` (appended under `lock`)."""

    def __init__(self, url: str, every: float) -> None:
        super().__init__(name="soak-dashboard-user", daemon=True)
        self.url = url
        self.every = every
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.lock = threading.Lock()
        self.rounds: list[dict[str, Any]] = []
        self.error: str | None = None

    def take_rounds(self) -> list[dict[str, Any]]:
        with self.lock:
            taken, self.rounds = self.rounds, []
        return taken

    def run(self) -> None:
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                try:
                    self._use(browser)
                finally:
                    browser.close()
        except Exception as exc:  # noqa: BLE001 - reported in the results, never hidden
            self.error = f"{type(exc).__name__}: {exc}"
            self.ready.set()

    def _use(self, browser) -> None:
        context = browser.new_context(viewport={"width": 1400, "height": 950})
        context.add_init_script(WATCH_RUNS)
        pages = {}
        for name, (path, marker) in PAGES.items():
            page = context.new_page()
            page.goto(self.url + path, wait_until="commit")
            page.get_by_text(marker).first.wait_for(timeout=LOAD_TIMEOUT_MS)
            pages[name] = page
        self.ready.set()
        while not self.stop.wait(self.every):
            measured = {name: self._measure(page, *PAGES[name]) for name, page in pages.items()}
            with self.lock:
                self.rounds.append(measured)

    def _measure(self, page, path: str, marker: str) -> dict[str, float | None]:
        runs = page.evaluate("window.__soakRuns.splice(0)")
        began = time.perf_counter()
        try:
            page.goto(self.url + path, wait_until="commit")
            page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=LOAD_TIMEOUT_MS)
            page.get_by_text(marker).first.wait_for(timeout=LOAD_TIMEOUT_MS)
            load_ms = round((time.perf_counter() - began) * 1000, 1)
        except Exception:  # noqa: BLE001 - a page that did not come back is a figure too
            load_ms = None
        return {
            "live_ms_p50": _r(percentile(runs, 50)),
            "live_ms_max": _r(max(runs)) if runs else None,
            "live_runs": len(runs),
            "load_ms": load_ms,
        }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def window_figures(rounds: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """The last round of a window per page (one round per window is the usual case)."""
    return dict(rounds[-1]) if rounds else {}
