"""Reading a check-in request's body: media type, size cap, JSON. Pure checks plus one reader."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from email.message import Message
from typing import Any

from starlette.requests import ClientDisconnect

from api.problems import ApiError, FieldProblem

MAX_BODY_BYTES = 64 * 1024


def is_json_media_type(content_type: str | None) -> bool:
    """`application/json` or `application/<x>+json`, any parameters; a missing header counts
    as JSON (what FastAPI itself assumes), since some clients never set one."""
    if content_type is None or not content_type.strip():
        return True
    message = Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


def check_media_type(content_type: str | None) -> None:
    if not is_json_media_type(content_type):
        raise ApiError(
            415,
            "unsupported_media_type",
            f"the body must be JSON sent as 'Content-Type: application/json', not {content_type!r}",
        )


def check_declared_length(content_length: str | None, limit: int = MAX_BODY_BYTES) -> None:
    """Refuse an announced oversize body before reading a byte of it."""
    if content_length is None:
        return
    try:
        length = int(content_length)
    except ValueError:
        raise ApiError(400, "bad_content_length", "Content-Length must be a number") from None
    if length > limit:
        raise too_large(limit)


def too_large(limit: int = MAX_BODY_BYTES) -> ApiError:
    return ApiError(
        413,
        "body_too_large",
        f"the body is larger than the limit of {limit} bytes ({limit // 1024} KiB)",
    )


async def read_capped(chunks: AsyncIterator[bytes], limit: int = MAX_BODY_BYTES) -> bytes:
    """Read a streamed body, stopping as soon as it passes `limit` (chunked bodies have no
    Content-Length to check in advance). A client that leaves before the body ends gets a 400
    (nobody may read it; without this the disconnect was an unhandled 500 and a traceback)."""
    parts, size = [], 0
    try:
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            parts.append(chunk)
    except ClientDisconnect:
        raise ApiError(
            400, "incomplete_body", "the connection closed before the whole body arrived"
        ) from None
    return b"".join(parts)


def parse_json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a 400/422 `ApiError` saying why not."""
    if not body.strip():
        raise ApiError(400, "empty_body", "the body is empty; send the check-in as a JSON object")
    try:
        data = json.loads(body)
    except UnicodeDecodeError:
        raise ApiError(400, "malformed_json", "the body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ApiError(
            400,
            "malformed_json",
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
        ) from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        reason = str(exc).split(";")[0]
        raise ApiError(400, "malformed_json", f"the body's JSON cannot be read: {reason}") from None
    except RecursionError:
        raise ApiError(400, "malformed_json", "the body's JSON is nested too deeply") from None
    if not isinstance(data, dict):
        problem = FieldProblem(
            field="body",
            problem=f"must be a JSON object of the check-in's fields, not {_json_type(data)}",
            type="model_type",
        )
        raise ApiError(422, "invalid_checkin", f"the body {problem.problem}", [problem])
    return data


def _json_type(value: Any) -> str:
    names = {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
