"""The cluster tests share one 3-broker cluster (tests/cluster/harness.py), started when the
first of them runs and stopped after the last (package scope: the lifecycle test needs ports
19092/19093 later in the session). The store is the shared one, each test with its own
database, topics and group. Figures go to test-artifacts/cluster-figures.json."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from checkins.settings import Settings
from stack.paths import ROOT
from tests.cluster.harness import Cluster, cluster_stack

FIGURES = ROOT / "test-artifacts" / "cluster-figures.json"
LOGS = ROOT / "test-artifacts" / "cluster-logs"


@pytest.fixture(scope="package")
def cluster(stack: Settings) -> Iterator[Cluster]:
    # Not tmp_path_factory: other sessions prune old basetemp folders under running brokers.
    root = Path(tempfile.mkdtemp(prefix="checkin-cluster-"))
    try:
        with cluster_stack(root, stack) as running:
            yield running
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def whole_cluster(cluster: Cluster) -> Cluster:
    """The cluster with all its nodes up. A node an earlier test left down is started here,
    not after that test: after the last one, the package's teardown stops every node anyway."""
    cluster.start_missing()
    return cluster


@pytest.fixture
def logs(request: pytest.FixtureRequest) -> Path:
    folder = LOGS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[dict]:
    """This test's measured figures, merged into FIGURES and printed once it ends."""
    found: dict = {}
    yield found
    if not found:
        return
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    previous[request.node.name] = found
    FIGURES.write_text(json.dumps(previous, indent=2, sort_keys=True) + "\n")
    print(f"\n{request.node.name} figures:", json.dumps(found, indent=2, sort_keys=True))
