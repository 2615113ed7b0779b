"""Schemathesis against the running API's own OpenAPI schema: no request, valid or not, gets a
5xx. Bounded (a few dozen examples per operation and mode) and loopback only.

(Schemathesis' `from_fixture` pytest loader does not work with this pytest version, so each
operation's strategy is driven with hypothesis directly.)"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.integration.api_server import own_topics, running_api

MAX_EXAMPLES = 80
OPERATIONS = [("POST", "/api/SOA/home/checkin"), ("GET", "/healthz"), ("GET", "/readyz")]
# Negative cases need something to break: only the POST takes input.
RUNS = [(*OPERATIONS[0], GenerationMode.NEGATIVE)] + [
    (*op, GenerationMode.POSITIVE) for op in OPERATIONS
]


@pytest.fixture(scope="module")
def api(stack, tmp_path_factory):
    log_file = tmp_path_factory.mktemp("api") / "api.log"
    with own_topics(stack) as api_settings, running_api(api_settings, log_file) as api:
        yield api


@pytest.fixture(scope="module")
def schema(api):
    return schemathesis.openapi.from_url(f"{api.base_url}/openapi.json", wait_for_schema=10)


def test_the_schema_lists_every_operation(schema):
    listed = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
    assert listed == set(OPERATIONS)


@pytest.mark.parametrize(("method", "path", "mode"), RUNS)
def test_no_request_gets_a_server_error(schema, api, method, path, mode):
    operation = schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        response = case.call_and_validate(base_url=api.base_url, checks=[not_a_server_error])
        statuses.append(response.status_code)

    statuses: list[int] = []

    check()
    if method == "POST":  # both kinds of answer were really exercised
        expected = {200} if mode is GenerationMode.POSITIVE else {400, 415, 422}
        assert expected & set(statuses), statuses
