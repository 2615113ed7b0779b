"""The optional bearer token for writes (`API_TOKEN`). Compared in constant time; never logged."""

from __future__ import annotations

import secrets

from pydantic import SecretStr

from api.problems import ApiError

CHALLENGE = 'Bearer realm="checkins"'


def token_required(token: SecretStr | None) -> bool:
    return token is not None and bool(token.get_secret_value())


def check_bearer(credentials: str | None, token: SecretStr | None) -> None:
    """Pass when no token is configured or the presented bearer token (`credentials`, None when
    the request has no `Authorization: Bearer ...`) matches; else a 401 `ApiError`."""
    if not token_required(token):
        return
    if not credentials:
        raise ApiError(
            401,
            "unauthorized",
            "this endpoint needs 'Authorization: Bearer <token>' (the API_TOKEN)",
            headers={"WWW-Authenticate": CHALLENGE},
        )
    expected = token.get_secret_value().encode()  # type: ignore[union-attr]
    if not secrets.compare_digest(credentials.encode(), expected):
        raise ApiError(
            401,
            "unauthorized",
            "the bearer token is not valid",
            headers={"WWW-Authenticate": f'{CHALLENGE}, error="invalid_token"'},
        )
