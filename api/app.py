"""The FastAPI application: routes, error handlers, and the producer's life (one per process)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from confluent_kafka.admin import AdminClient
from fastapi import Depends, FastAPI, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.auth import check_bearer
from api.idempotency import MAX_KEY_LENGTH, event_id_for_key
from api.problems import ApiError, FieldProblem, Problem, field_problems, summary
from api.publisher import AsyncPublisher, Busy
from api.readiness import kafka_ready
from api.receipt import CheckInReceipt, receipt, request_schema
from api.request_body import (
    MAX_BODY_BYTES,
    check_declared_length,
    check_media_type,
    parse_json_object,
    read_capped,
)
from checkins.clients import kafka_config
from checkins.envelope import new_event_id
from checkins.event import SAMPLE, CheckIn
from checkins.producer import CheckInProducer, PublishError
from checkins.settings import Settings
from checkins.skew import FIELD, future_problem

log = logging.getLogger("api")

CHECKIN_PATH = "/api/SOA/home/checkin"
# Extra wait past librdkafka's own delivery timeout, so that a 503 is answered after Kafka's
# definitive "not delivered" report, not while the event may still land.
ACK_MARGIN_SECONDS = 2.0
READY_TIMEOUT_SECONDS = 2.0


# Module-level: FastAPI resolves the (string) annotations that name it in this module's globals.
bearer = HTTPBearer(
    auto_error=False, description="Needed only when the service runs with API_TOKEN set."
)


@dataclass(frozen=True)
class KafkaSide:
    publisher: AsyncPublisher
    admin: AdminClient


def _problem_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.problem.model_dump(), status_code=error.status, headers=error.headers)


def _error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": Problem} for status in statuses}


def create_app(settings: Settings) -> FastAPI:
    timeout = settings.api_publish_timeout
    retry_after = str(max(1, math.ceil(timeout)))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        producer = CheckInProducer(
            settings, **{"delivery.timeout.ms": int(timeout * 1000), "client.id": "checkin-api"}
        )
        admin = AdminClient(kafka_config(settings, **{"client.id": "checkin-api-ready"}))
        publisher = AsyncPublisher(producer, settings.api_max_in_flight)
        publisher.start()
        app.state.kafka = KafkaSide(publisher, admin)
        try:
            yield
        finally:
            left = await run_in_threadpool(publisher.close, timeout + ACK_MARGIN_SECONDS)
            if left:
                log.warning("%d check-ins were still unacknowledged at shutdown", left)

    app = FastAPI(
        title="Check-in API",
        version="1.0.0",
        description=(
            "Technicians' home check-ins. A 200 means Kafka has the event (acks=all); the "
            "consumers then store it in MongoDB."
        ),
        lifespan=lifespan,
    )

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _problem_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = field_problems(exc.errors())
        return _problem_response(ApiError(422, "invalid_request", summary(problems), problems))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        error = ApiError(
            exc.status_code, f"http_{exc.status_code}", str(exc.detail), (), exc.headers
        )
        return _problem_response(error)

    def busy(exc: Busy) -> ApiError:
        return ApiError(
            503,
            "busy",
            f"the check-in was not sent: {exc}; retry later (with the same Idempotency-Key)",
            headers={"Retry-After": retry_after},
        )

    async def authorized(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        check_bearer(credentials.credentials if credentials else None, settings.api_token)

    @app.post(
        CHECKIN_PATH,
        dependencies=[Depends(authorized)],
        summary="Record a technician's home check-in",
        description=(
            "Takes the legacy body, validates it, sends the event to Kafka and answers once "
            "Kafka has acknowledged it (acks=all). `Idempotency-Key`: a UUID becomes the event "
            "id as it is; any other key becomes a UUIDv5 of it, so a retry with the same key "
            "names the same event and the consumers store one check-in. "
            f"Bodies over {MAX_BODY_BYTES // 1024} KiB are refused (413)."
        ),
        response_model=None,
        responses={
            200: {"model": CheckInReceipt, "description": "Kafka has the event"},
            **_error_responses(400, 401, 413, 415, 422),
            503: {
                "model": Problem,
                "description": "Kafka did not acknowledge in time; retry after `Retry-After` s",
                "headers": {"Retry-After": {"schema": {"type": "integer"}}},
            },
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": request_schema(settings.checkin_timezone),
                        "example": SAMPLE,
                    }
                },
            }
        },
    )
    async def post_checkin(
        request: Request,
        idempotency_key: Annotated[
            str | None,
            Header(
                alias="Idempotency-Key",
                description="A UUID, or any other key (<= 255 visible ASCII characters)",
                max_length=MAX_KEY_LENGTH,
            ),
        ] = None,
    ) -> JSONResponse:
        started = time.perf_counter()
        kafka: KafkaSide = request.app.state.kafka
        try:
            kafka.publisher.check_room()
        except Busy as exc:
            raise busy(exc) from None
        event_id = _event_id(idempotency_key)
        check_media_type(request.headers.get("content-type"))
        check_declared_length(request.headers.get("content-length"))
        data = parse_json_object(await read_capped(request.stream()))
        checkin = _validate(data, settings.checkin_timezone)
        accepted_at = datetime.now(UTC)
        _check_not_ahead(checkin, accepted_at, settings.checkin_max_future)
        parsed = time.perf_counter()
        try:
            delivery = await kafka.publisher.publish(
                checkin,
                event_id=event_id,
                produced_at=accepted_at,
                timeout=timeout + ACK_MARGIN_SECONDS,
            )
        except Busy as exc:
            raise busy(exc) from None
        except PublishError as exc:
            log.warning("check-in %s was not acknowledged by Kafka: %s", event_id, exc)
            raise ApiError(
                503,
                "kafka_unavailable",
                f"Kafka did not acknowledge the check-in within {timeout:g} s, so it was not "
                "confirmed; retry later (with the same Idempotency-Key to avoid a duplicate)",
                headers={"Retry-After": retry_after},
            ) from None
        acked = time.perf_counter()
        timing = (
            f"parse;dur={(parsed - started) * 1000:.3f}, kafka;dur={(acked - parsed) * 1000:.3f}"
        )
        return JSONResponse(
            receipt(checkin, delivery, accepted_at), headers={"Server-Timing": timing}
        )

    @app.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @app.get(
        "/readyz",
        summary="Kafka is reachable and holds the check-in topic",
        responses=_error_responses(503),
    )
    async def readyz(request: Request) -> JSONResponse:
        kafka: KafkaSide = request.app.state.kafka
        ready, why = await run_in_threadpool(
            kafka_ready, kafka.admin, settings.checkin_topic, READY_TIMEOUT_SECONDS
        )
        if not ready:
            raise ApiError(503, "not_ready", why, headers={"Retry-After": retry_after})
        return JSONResponse({"status": "ready", "kafka": why})

    return app


def _event_id(idempotency_key: str | None) -> str:
    if idempotency_key is None:
        return new_event_id()
    try:
        return event_id_for_key(idempotency_key)
    except ValueError as exc:
        problem = FieldProblem(field="header.Idempotency-Key", problem=str(exc), type="value_error")
        raise ApiError(422, "invalid_request", summary([problem]), [problem]) from None


def _validate(data: dict[str, Any], timezone: str) -> CheckIn:
    try:
        return CheckIn.model_validate(data, context={"timezone": timezone})
    except ValidationError as exc:
        problems = field_problems(exc.errors(include_url=False, include_input=False))
        raise ApiError(422, "invalid_checkin", summary(problems), problems) from None


def _check_not_ahead(checkin: CheckIn, accepted_at: datetime, max_future: timedelta) -> None:
    """The clock-skew guard (checkins/skew.py) against the moment the API accepted the body."""
    problem = future_problem(checkin.checkinDate, accepted_at, max_future)
    if problem is not None:
        found = FieldProblem(field=FIELD, problem=problem, type="checkin_date_in_future")
        raise ApiError(422, "invalid_checkin", summary([found]), [found])
