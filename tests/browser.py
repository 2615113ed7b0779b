"""Debian's headless Chromium for the browser tests (never a browser build downloaded by a tool)."""

from __future__ import annotations

from pathlib import Path

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
