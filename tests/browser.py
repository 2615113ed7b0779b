"""The browser tests' parts: Debian's headless Chromium (never a browser build downloaded by a
tool), a dashboard server of the test's own, and the wait for a script run to finish."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from stack.paths import ROOT
from stack.services import dashboard_command, http_answers
from tests.subprocesses import free_port, halt, spawn
from tests.waiting import wait_for

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling out on a machine with no
# internet; a fresh profile per launch keeps runs independent.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch_chromium(playwright):
    """A Playwright browser on /usr/bin/chromium; a missing Chromium fails the test, loudly."""
    if not Path(CHROMIUM).exists():
        raise AssertionError(
            f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium); "
            ".ci/run installs it"
        )
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


ARTIFACTS = ROOT / "test-artifacts"


@contextmanager
def running_dashboard(env: dict[str, str], log: Path) -> Iterator[str]:
    """`streamlit run` of the dashboard on a free port with `env`; yields its base URL once it
    answers /_stcore/health, and stops it afterwards."""
    port = free_port()
    proc = spawn(dashboard_command(port), env, log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: proc.poll() is not None or http_answers(f"{url}/_stcore/health"),
            60,
            "streamlit to answer /_stcore/health",
        )
        assert proc.poll() is None, log.read_text()[-3000:]
        yield url
    finally:
        halt(proc)


@contextmanager
def chromium_page(height: int = 1000) -> Iterator[Page]:
    """A fresh headless Chromium with one 1400-px-wide page, closed afterwards."""
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": height})
        finally:
            browser.close()


def settled(page: Page) -> None:
    """The script has finished its run (the app's own state attribute)."""
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=60_000)
