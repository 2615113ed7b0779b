"""python -m api: serve the check-in API on settings.api_host:settings.api_port."""

from __future__ import annotations

import logging

import uvicorn

from api.app import create_app
from checkins.settings import get_settings


def main() -> None:
    settings = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level="info",
        # uvloop and httptools (C) instead of asyncio's loop and h11 (pure Python): the endpoint
        # did 1,160 requests/s with those, 1,500 with these (`make bench`, section api).
        loop="uvloop",
        http="httptools",
        server_header=False,
        timeout_graceful_shutdown=int(settings.api_publish_timeout) + 5,
    )


if __name__ == "__main__":
    main()
