"""Fetch what the local services need, once: the Kafka jars (Maven) and the FerretDB binary (Go).

Each step keeps a stamp of its inputs' hash, so a second run downloads and builds nothing.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from stack.errors import StackError
from stack.paths import CONNECT_LIBS, FERRETDB_BIN, KAFKA_LIBS, ROOT

KAFKA_POM = ROOT / "stack" / "kafka" / "pom.xml"
CONNECT_POM = ROOT / "stack" / "connect" / "pom.xml"
FERRETDB_SRC = ROOT / "stack" / "ferretdb"
_EXTERNAL_HINT = {
    "kafka": "or set KAFKA_BOOTSTRAP_SERVERS to use an existing Kafka",
    "mongo": "or set MONGODB_URI to use an existing MongoDB",
}


def require_tool(tool: str, service: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise StackError(
            f"{tool} is not installed: the local {service} needs it. "
            f"Install {tool}, {_EXTERNAL_HINT[service]}."
        )
    return path


def _digest(files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in sorted(files):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def _up_to_date(stamp: Path, digest: str, output: Path) -> bool:
    return output.exists() and stamp.exists() and stamp.read_text() == digest


def _run(command: list[str], cwd: Path, what: str) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise StackError(
            f"{what} failed ({' '.join(command[:2])} exit {result.returncode}):\n{tail}"
        )


def ensure_jars(pom: Path, libs: Path, what: str, service: str = "kafka") -> Path:
    """Copy the runtime dependencies of `pom` into `libs` with Maven, once per version of the
    pom (a stamp of its hash); returns `libs`."""
    require_tool("java", service)
    stamp = libs / ".stamp"
    digest = _digest([pom])
    if _up_to_date(stamp, digest, libs):
        return libs
    mvn = require_tool("mvn", service)
    print(f"stack: resolving {what} with Maven (first run only)...", flush=True)
    if libs.exists():
        shutil.rmtree(libs)
    _run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={libs}",
        ],
        cwd=ROOT,
        what=f"Resolving {what}",
    )
    stamp.write_text(digest)
    return libs


def ensure_kafka_jars() -> Path:
    return ensure_jars(KAFKA_POM, KAFKA_LIBS, "the Kafka broker's jars")


def ensure_connect_jars() -> Path:
    """Kafka Connect and the MongoDB sink connector (bench only: the project's comparison)."""
    return ensure_jars(CONNECT_POM, CONNECT_LIBS, "Kafka Connect and the MongoDB sink connector")


def ensure_ferretdb_binary() -> Path:
    sources = [p for p in FERRETDB_SRC.iterdir() if p.suffix in {".go", ".mod", ".sum"}]
    stamp = FERRETDB_BIN.with_suffix(".stamp")
    digest = _digest(sources)
    if _up_to_date(stamp, digest, FERRETDB_BIN):
        return FERRETDB_BIN
    go = require_tool("go", "mongo")
    print("stack: building the FerretDB server with Go (first run only)...", flush=True)
    FERRETDB_BIN.parent.mkdir(parents=True, exist_ok=True)
    _run(
        [go, "build", "-trimpath", "-o", str(FERRETDB_BIN), "."],
        cwd=FERRETDB_SRC,
        what="Building FerretDB",
    )
    stamp.write_text(digest)
    return FERRETDB_BIN
