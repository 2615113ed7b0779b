"""The check-in: the seven legacy fields under their legacy names, validated once for everyone.

Unknown extra fields are dropped (not stored, not an error): old clients may send more than we
know, and nothing a client names can become a MongoDB field or operator.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator

from checkins.times import iso_utc

MAX_TEXT = 128
SAMPLE: dict[str, Any] = {
    "internetNo": "8850049302",
    "orderNo": "5960915_106347524.2",
    "staffCode": "cs_eng_ftth",
    "jobStatus": "homecheckedin",
    "checkinLatitude": 13.7827811,
    "checkinLongitude": 100.5465937,
    "checkinDate": "2021-03-18 10:13:43",
}


def _number_as_text(value: Any) -> Any:
    """The old service cast a numeric internetNo to a string; bools are not numbers here."""
    if isinstance(value, bool):
        raise ValueError("must be a string or a number, not a boolean")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return str(int(value)) if value.is_integer() else repr(value)
    return value


def _coordinate(value: Any) -> Any:
    """Numbers, or numeric strings (the old service accepted both); never bools."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise ValueError("must be a number") from None
    return value


Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
Latitude = Annotated[float, BeforeValidator(_coordinate), Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[
    float, BeforeValidator(_coordinate), Field(ge=-180, le=180, allow_inf_nan=False)
]


@lru_cache(maxsize=16)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def default_zone_name() -> str:
    from checkins.settings import get_settings

    return get_settings().checkin_timezone


def parse_checkin_date(value: Any, zone_name: str) -> datetime:
    """`YYYY-MM-DD HH:MM:SS` (local to `zone_name`) or ISO-8601, returned as an aware UTC time."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                "must be 'YYYY-MM-DD HH:MM:SS' or ISO-8601, e.g. '2021-03-18 10:13:43'"
            ) from None
        if len(text) < len("2021-03-18 10:13"):
            raise ValueError("must include a time of day, e.g. '2021-03-18 10:13:43'")
    else:
        raise ValueError("must be a date-time string, e.g. '2021-03-18 10:13:43'")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone(zone_name))
    if not 1970 <= parsed.year <= 9998:
        raise ValueError("must be between the years 1970 and 9998")
    return parsed.astimezone(UTC)


class CheckIn(BaseModel):
    """One technician's check-in at a customer's home."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore", frozen=True)

    internetNo: Annotated[Text, BeforeValidator(_number_as_text)]
    orderNo: Text
    staffCode: Text
    jobStatus: Annotated[str, Field(min_length=1, max_length=40)]
    checkinLatitude: Latitude
    checkinLongitude: Longitude
    checkinDate: datetime

    @field_validator("checkinDate", mode="before")
    @classmethod
    def _date(cls, value: Any, info: ValidationInfo) -> datetime:
        zone_name = (info.context or {}).get("timezone") or default_zone_name()
        return parse_checkin_date(value, zone_name)

    def wire_data(self) -> dict[str, Any]:
        """The seven fields as JSON-ready values; the date as ISO-8601 UTC (unambiguous)."""
        data = self.model_dump()
        data["checkinDate"] = iso_utc(self.checkinDate)
        return data
