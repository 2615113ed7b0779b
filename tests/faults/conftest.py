"""Faults 1-5 run on a stack of their own (Kafka 29092/29093, FerretDB 27217, a temporary
STACK_DIR), started once for the session and torn down at its end: stopping that broker or
store never touches the shared stack others' tests use.

Randomness is seeded: FAULT_SEED=<n> replays a run (the seed is printed, and recorded with the
figures in test-artifacts/faults-figures.json)."""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from stack.paths import ROOT
from tests.faults import harness
from tests.faults.harness import FaultStack

FIGURES = ROOT / "test-artifacts" / "faults-figures.json"
LOGS = ROOT / "test-artifacts" / "faults-logs"


@pytest.fixture(scope="session")
def seed() -> int:
    value = int(os.environ.get("FAULT_SEED") or random.SystemRandom().randrange(10**6))
    print(f"\nfault suite seed: {value} (FAULT_SEED={value} replays it)")
    return value


@pytest.fixture
def rng(seed: int, request: pytest.FixtureRequest) -> random.Random:
    """One generator per test, so a test's choices do not depend on which others ran."""
    return random.Random(f"{seed}:{request.node.name}")


@pytest.fixture(scope="session")
def fault_stack() -> Iterator[FaultStack]:
    # Not tmp_path_factory: other sessions' pytest runs prune old basetemp folders, which would
    # delete the data of a broker and store still running.
    root = Path(tempfile.mkdtemp(prefix="checkin-faults-"))
    try:
        with harness.fault_stack(root) as stack:
            yield stack
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def logs(request: pytest.FixtureRequest) -> Path:
    """This test's process logs, kept after the run (test-artifacts/ is not committed)."""
    folder = LOGS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture(scope="session")
def figures(seed: int) -> Iterator[dict]:
    """Each fault's measured figures, written to FIGURES after each fault and printed at the
    end (a later fault's time-out does not lose an earlier one's figures)."""
    found: dict = {"seed": seed}
    yield found
    print("\nfault figures:", json.dumps(found, indent=2, sort_keys=True))


@pytest.fixture(autouse=True)
def _save_figures(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "figures" not in request.fixturenames:
        return
    found = request.getfixturevalue("figures")
    for value in found.values():
        if isinstance(value, dict):
            value.setdefault("seed", found["seed"])
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    previous.update(found)
    FIGURES.write_text(json.dumps(previous, indent=2, sort_keys=True) + "\n")
