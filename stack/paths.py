"""Where the stack keeps its files. Caches (jars, binaries) are shared by every stack dir."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".stack" / "cache"
KAFKA_LIBS = CACHE / "kafka-libs"
CONNECT_LIBS = CACHE / "connect-libs"
FERRETDB_BIN = CACHE / "bin" / "ferretdb-local"


@dataclass(frozen=True)
class StackDir:
    """Run state of one stack: pid files, logs, data."""

    root: Path

    @classmethod
    def from_setting(cls, value: str | None) -> StackDir:
        return cls(Path(value).resolve() if value else ROOT / ".stack")

    def pid_file(self, service: str) -> Path:
        return self.root / f"{service}.pid"

    def log_file(self, service: str) -> Path:
        return self.root / "logs" / f"{service}.log"

    def data(self, service: str) -> Path:
        return self.root / service
