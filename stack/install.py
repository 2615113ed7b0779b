"""Fetch what the local services need, once: Kafka's jars (Maven) and the FerretDB binary (Go).

Each step keeps a stamp of its inputs' hash, so a second run downloads and builds nothing.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from stack.errors import StackError
from stack.paths import FERRETDB_BIN, KAFKA_LIBS, ROOT

KAFKA_POM = ROOT / "stack" / "kafka" / "pom.xml"
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


def ensure_kafka_jars() -> Path:
    require_tool("java", "kafka")
    stamp = KAFKA_LIBS / ".stamp"
    digest = _digest([KAFKA_POM])
    if _up_to_date(stamp, digest, KAFKA_LIBS):
        return KAFKA_LIBS
    mvn = require_tool("mvn", "kafka")
    print("stack: resolving the Kafka broker's jars with Maven (first run only)...", flush=True)
    if KAFKA_LIBS.exists():
        shutil.rmtree(KAFKA_LIBS)
    _run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(KAFKA_POM),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={KAFKA_LIBS}",
        ],
        cwd=ROOT,
        what="Resolving Kafka's jars",
    )
    stamp.write_text(digest)
    return KAFKA_LIBS


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
