"""What the publish page does, without Streamlit: form values -> `CheckIn` via the one schema.

The form never validates on its own: it hands the values to `CheckIn` and shows pydantic's
errors beside the fields they belong to, so the page, the API and the consumers agree on what
a valid check-in is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from checkins.envelope import new_event_id
from checkins.event import SAMPLE, CheckIn, zone
from checkins.producer import Delivery
from dashboard.filters import DATE_RANGE, Filters, to_query_params
from dashboard.map_layers import ALL_CHECKINS

FIELDS: tuple[str, ...] = tuple(SAMPLE)  # the seven legacy fields, in the seed's order
LABELS = {
    "internetNo": "Internet no.",
    "orderNo": "Order no.",
    "staffCode": "Staff code (the message key)",
    "jobStatus": "Job status",
    "checkinLatitude": "Latitude",
    "checkinLongitude": "Longitude",
    "checkinDate": "Check-in date (local time, or ISO-8601 with a zone)",
}
FORM_ERROR = "form"  # where errors that belong to no single field go

# Junk for the dead-letter path: the bare JSON a third legacy service really wrote to the topic.
SAMPLE_JUNK = '{"A":"B"}'


@dataclass(frozen=True)
class FormResult:
    """Either a check-in ready to publish, or the schema's errors keyed by field name."""

    checkin: CheckIn | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.checkin is not None


def sample_values() -> dict[str, Any]:
    """The form's initial values: the seed's sample, as the seed wrote it."""
    return dict(SAMPLE)


def fresh_event_id() -> str:
    return new_event_id()


def checkin_from_form(values: dict[str, Any], timezone: str | None = None) -> FormResult:
    """Validate the form's values with the one schema; errors come back per field."""
    context = {"timezone": timezone} if timezone else None
    # An empty text box is a missing field (the schema's "required"), not an empty string.
    data = {name: values[name] for name in FIELDS if not _blank(values.get(name))}
    try:
        return FormResult(checkin=CheckIn.model_validate(data, context=context))
    except ValidationError as exc:
        return FormResult(errors=errors_by_field(exc))


def errors_by_field(exc: ValidationError) -> dict[str, str]:
    """{'checkinLatitude': 'Input should be less than or equal to 90', ...}; several errors
    on one field are joined, errors on no known field go under FORM_ERROR."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        name = str(loc[0]) if loc and str(loc[0]) in FIELDS else FORM_ERROR
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "Required: fill this in"
        errors.setdefault(name, []).append(message)
    return {name: "; ".join(messages) for name, messages in errors.items()}


def raw_bytes(text: str) -> bytes:
    """The raw-JSON box sends exactly what was typed (UTF-8), valid JSON or not."""
    return text.encode("utf-8")


def describe_raw(text: str) -> str:
    """A one-line hint of what the consumers will make of the raw text (shown before sending)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return "not valid JSON: the consumers will dead-letter it"
    if isinstance(value, dict) and isinstance(value.get("payload"), dict):
        return "looks like an envelope: the consumers will validate its payload.data"
    return "valid JSON but not the check-in envelope: the consumers will dead-letter it"


def delivery_summary(delivery: Delivery) -> dict[str, object]:
    """What the page shows after Kafka acknowledged a check-in."""
    return {
        "event id": delivery.event_id,
        "topic": delivery.topic,
        "partition": delivery.partition,
        "offset": delivery.offset,
    }


def map_query(checkin: CheckIn, zone_name: str) -> dict[str, str | list[str]]:
    """The map page's URL filters that show this check-in: its technician, on its local day,
    every check-in (not only the latest, as the sample's date may be years old)."""
    day = checkin.checkinDate.astimezone(zone(zone_name)).date()
    filters = Filters(window=DATE_RANGE, start_day=day, end_day=day, staff=checkin.staffCode)
    return {**to_query_params(filters), "layer": ALL_CHECKINS}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
