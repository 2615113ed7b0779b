"""The local store's disk use: FerretDB 1.24 keeps each MongoDB database in one SQLite file,
`<data dir>/<database>.sqlite`, beside its write-ahead log `<database>.sqlite-wal` (which
ferretdb-local truncates past 16 MB, stack/ferretdb/checkpoint.go). Read from the files, not
from the server: FerretDB's `dbStats` leaves the WAL out. An external MongoDB (MONGODB_URI) has
no files here, so its use is unknown ("n/a")."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from checkins.settings import Settings
from stack.paths import StackDir

SUFFIX = ".sqlite"
WAL_SUFFIX = SUFFIX + "-wal"


@dataclass(frozen=True)
class DiskUse:
    database_bytes: int
    wal_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.database_bytes + self.wal_bytes


def data_dir(settings: Settings) -> Path:
    """Where the local store keeps its files (the stack's `mongo` data dir)."""
    return StackDir.from_setting(settings.stack_dir).data("mongo")


def database_use(folder: Path, database: str) -> DiskUse:
    """One database's file and log; a database not yet written has none (0 bytes)."""
    return DiskUse(_size(folder / f"{database}{SUFFIX}"), _size(folder / f"{database}{WAL_SUFFIX}"))


def store_use(folder: Path) -> DiskUse:
    """Every database of the store together."""
    return DiskUse(
        sum(_size(f) for f in folder.glob(f"*{SUFFIX}")),
        sum(_size(f) for f in folder.glob(f"*{WAL_SUFFIX}")),
    )


def local_database_use(settings: Settings) -> DiskUse | None:
    """The configured database's disk use on the local store; None for an external MongoDB."""
    if settings.mongo_is_external:
        return None
    return database_use(data_dir(settings), settings.mongodb_database)


def human_bytes(n: int) -> str:
    """1536 -> "1.5 KB", 5_000_000 -> "4.8 MB" (powers of 1024, as `du -h`)."""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def describe(use: DiskUse | None) -> tuple[str, str]:
    """(metric value, caption) for the overview."""
    if use is None:
        return "n/a", "external MongoDB: its disk use is not visible from here"
    return human_bytes(use.total_bytes), (
        f"database {human_bytes(use.database_bytes)} + WAL {human_bytes(use.wal_bytes)}"
    )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
