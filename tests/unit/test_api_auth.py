"""The optional bearer token: off when unset; 401 with a challenge when missing or wrong."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from api.auth import check_bearer
from api.problems import ApiError

TOKEN = SecretStr("s3cret-token")


@pytest.mark.parametrize("token", [None, SecretStr("")])
def test_without_a_configured_token_anyone_may_write(token):
    check_bearer(None, token)
    check_bearer("anything", token)


def test_the_right_token_passes():
    check_bearer("s3cret-token", TOKEN)


@pytest.mark.parametrize("presented", [None, "", "s3cret", "s3cret-token ", "S3CRET-TOKEN"])
def test_a_missing_or_wrong_token_is_401_with_a_bearer_challenge(presented):
    with pytest.raises(ApiError) as caught:
        check_bearer(presented, TOKEN)
    assert caught.value.status == 401
    assert caught.value.headers["WWW-Authenticate"].startswith("Bearer ")
    assert "s3cret-token" not in caught.value.problem.model_dump_json()
