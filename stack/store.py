"""The local MongoDB-compatible server: FerretDB with SQLite files."""

from __future__ import annotations

from pathlib import Path

from checkins.clients import mongo_client
from checkins.settings import LOCAL_HOST, Settings
from stack.paths import StackDir


def command(settings: Settings, stack: StackDir, binary: Path) -> list[str]:
    return [
        str(binary),
        "-listen",
        f"{LOCAL_HOST}:{settings.stack_mongo_port}",
        "-data-dir",
        str(stack.data("mongo")),
    ]


def answers(settings: Settings, timeout: float = 2.0) -> bool:
    """The server answers `ping`."""
    ms = int(timeout * 1000)
    client = mongo_client(settings, serverSelectionTimeoutMS=ms, connectTimeoutMS=ms)
    try:
        client.admin.command("ping")
        return True
    except Exception:  # noqa: BLE001 - any failure means "not answering yet"
        return False
    finally:
        client.close()
