"""One JSON shape for every error the API gives, and the pure functions that build it.

{"error": "invalid_checkin", "message": "2 fields are invalid: ...",
 "errors": [{"field": "checkinLatitude", "problem": "must be <= 90", "type": "..."}]}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field


class FieldProblem(BaseModel):
    field: str = Field(
        description="The bad field, e.g. `checkinLatitude` or `header.Idempotency-Key`"
    )
    problem: str = Field(description="What is wrong with it, in words")
    type: str = Field(description="A stable machine-readable code (pydantic's error type)")


class Problem(BaseModel):
    error: str = Field(description="A stable machine-readable code, e.g. `invalid_checkin`")
    message: str = Field(description="What went wrong and what to do, in words")
    errors: list[FieldProblem] = Field(default_factory=list)


class ApiError(Exception):
    """An answer other than 200, raised anywhere in a request and rendered as a `Problem`."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        errors: Sequence[FieldProblem] = (),
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.problem = Problem(error=error, message=message, errors=list(errors))
        self.headers = dict(headers or {})


_FRIENDLY = {
    "missing": "is required",
    "string_type": "must be a string",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "less_than_equal": "must be <= {le}",
    "greater_than_equal": "must be >= {ge}",
    "string_too_short": "must not be empty",
    "string_too_long": "must be at most {max_length} characters",
    "finite_number": "must be a finite number",
}


def field_problems(errors: Iterable[Mapping[str, Any]], prefix: str = "") -> list[FieldProblem]:
    """pydantic's `errors()` -> one `FieldProblem` per bad field, in plain words.

    `prefix` drops FastAPI's location heads (`body`, `header`...) into a dotted path.
    """
    problems = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        field = ".".join([prefix, *loc] if prefix else loc) or "body"
        kind = str(error.get("type", "invalid"))
        template = _FRIENDLY.get(kind)
        ctx = error.get("ctx") or {}
        try:
            problem = template.format(**ctx) if template else None
        except (KeyError, IndexError):
            problem = None
        if problem is None:
            problem = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
        problems.append(FieldProblem(field=field, problem=problem, type=kind))
    return problems


def summary(problems: Sequence[FieldProblem]) -> str:
    """'checkinLatitude must be <= 90; staffCode is required' (for `message`)."""
    listed = "; ".join(f"{p.field} {p.problem}" for p in problems)
    noun = "field is" if len(problems) == 1 else "fields are"
    return f"{len(problems)} {noun} invalid: {listed}"
