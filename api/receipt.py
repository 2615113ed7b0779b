"""The 200 answer: the saved check-in as the old service returned it, plus where it landed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from checkins.event import CheckIn
from checkins.producer import Delivery
from checkins.times import iso_utc


class CheckInReceipt(BaseModel):
    """What `POST /api/SOA/home/checkin` answers once Kafka has acknowledged the event."""

    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id", description="The event id (a UUID); the document's `_id`")
    internetNo: str
    orderNo: str
    staffCode: str
    jobStatus: str
    checkinLatitude: float
    checkinLongitude: float
    checkinDate: str = Field(description="ISO-8601 UTC, e.g. `2021-03-18T03:13:43.000Z`")
    createdAt: str = Field(description="When the API accepted the check-in (ISO-8601 UTC)")
    updatedAt: str = Field(description="Equal to `createdAt` for a new check-in")
    topic: str = Field(description="The Kafka topic that holds the event")
    partition: int
    offset: int


def receipt(checkin: CheckIn, delivery: Delivery, accepted_at: datetime) -> dict[str, Any]:
    at = iso_utc(accepted_at)
    return {
        "_id": delivery.event_id,
        **checkin.wire_data(),
        "createdAt": at,
        "updatedAt": at,
        "topic": delivery.topic,
        "partition": delivery.partition,
        "offset": delivery.offset,
    }


# A date the legacy clients send ('2021-03-18 10:13:43', Bangkok time) or ISO-8601 with a zone.
DATE_PATTERN = (
    r"^(19[7-9]\d|[2-8]\d{3}|9[0-8]\d{2}|99[0-8]\d)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
    r"[ T]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?(Z|[+-](0\d|1[0-4]):?[0-5]\d)?$"
)


def request_schema(timezone: str) -> dict[str, Any]:
    """The OpenAPI schema of the request body, from the one `CheckIn` schema.

    pydantic writes `ge`/`le` for the annotated coordinates; OpenAPI wants minimum/maximum. The
    patterns describe what validation accepts (short months' day 31 aside).
    """
    schema = CheckIn.model_json_schema()
    for prop in schema["properties"].values():
        if prop.get("type") == "string":
            prop["pattern"] = r"\S"  # blanks are stripped, so all-blank text is empty
        if "ge" in prop:
            prop["minimum"] = prop.pop("ge")
        if "le" in prop:
            prop["maximum"] = prop.pop("le")
    schema["properties"]["checkinDate"] = {
        "title": "Checkindate",
        "type": "string",
        "pattern": DATE_PATTERN,
        "description": (
            f"'YYYY-MM-DD HH:MM:SS' in {timezone} time (the legacy form), or ISO-8601 with a zone"
        ),
    }
    return schema
