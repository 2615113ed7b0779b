"""The API's body handling, without a server: media type, size cap, JSON parsing."""

from __future__ import annotations

import asyncio

import pytest

from api.problems import ApiError
from api.request_body import (
    MAX_BODY_BYTES,
    check_declared_length,
    check_media_type,
    is_json_media_type,
    parse_json_object,
    read_capped,
)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "application/merge-patch+json",
    ],
)
def test_json_media_types_are_accepted(value):
    assert is_json_media_type(value)


@pytest.mark.parametrize(
    "value",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; b=x",
        "application/xml",
        "json",
    ],
)
def test_other_media_types_are_refused_with_415_naming_them(value):
    with pytest.raises(ApiError) as caught:
        check_media_type(value)
    assert caught.value.status == 415
    assert repr(value) in caught.value.problem.message


def test_an_announced_oversize_body_is_refused_before_reading():
    check_declared_length(str(MAX_BODY_BYTES))
    check_declared_length(None)
    with pytest.raises(ApiError) as caught:
        check_declared_length(str(MAX_BODY_BYTES + 1))
    assert caught.value.status == 413
    with pytest.raises(ApiError) as caught:
        check_declared_length("lots")
    assert caught.value.status == 400


def _chunks(sizes, seen):
    async def gen():
        for size in sizes:
            seen.append(size)
            yield b"x" * size

    return gen()


def test_a_streamed_body_is_cut_off_as_soon_as_it_passes_the_limit():
    seen: list[int] = []
    with pytest.raises(ApiError) as caught:
        asyncio.run(read_capped(_chunks([40_000, 40_000, 40_000, 40_000], seen)))
    assert caught.value.status == 413
    assert len(seen) == 2  # the third and fourth chunks were never read


def test_a_streamed_body_at_the_limit_is_read_whole():
    seen: list[int] = []
    body = asyncio.run(read_capped(_chunks([MAX_BODY_BYTES // 2, MAX_BODY_BYTES // 2], seen)))
    assert len(body) == MAX_BODY_BYTES


def test_a_json_object_is_parsed():
    assert parse_json_object(b'{"a": 1}') == {"a": 1}


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"", 400, "empty"),
        (b"   ", 400, "empty"),
        (b"{", 400, "not valid JSON"),
        (b'{"a": 1,}', 400, "not valid JSON"),
        (b"\xff\xfe{", 400, "not UTF-8"),
        (b"[" * 50_000, 400, "nested too deeply"),
        (b"1" * 5_000, 400, "cannot be read"),
        (b"[1, 2]", 422, "not array"),
        (b'"text"', 422, "not string"),
        (b"null", 422, "not null"),
    ],
)
def test_bodies_that_are_not_a_json_object_get_a_clear_4xx(body, status, words):
    with pytest.raises(ApiError) as caught:
        parse_json_object(body)
    assert caught.value.status == status
    assert words in caught.value.problem.message


def test_a_body_that_is_not_an_object_is_named_as_the_bad_field():
    with pytest.raises(ApiError) as caught:
        parse_json_object(b"[1, 2]")
    (problem,) = caught.value.problem.errors
    assert (problem.field, problem.type) == ("body", "model_type")
