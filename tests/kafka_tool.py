"""Kafka's own `kafka-consumer-groups` (ConsumerGroupCommand, from the jars the stack resolves),
run against a broker list and parsed, to check the project's lag figures against Kafka's."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from stack.paths import KAFKA_LIBS, ROOT

CONSUMER_GROUP_COMMAND = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"
QUIET_LOGS = ROOT / "stack" / "kafka" / "tools-log4j2.properties"


@dataclass(frozen=True)
class GroupPartition:
    """One row of `kafka-consumer-groups --describe --group G` ("-" read as None)."""

    group: str
    topic: str
    partition: int
    current_offset: int | None
    log_end_offset: int | None
    lag: int | None
    consumer_id: str | None
    host: str | None
    client_id: str | None


def run_tool(main_class: str, *args: str, libs: Path = KAFKA_LIBS, timeout: float = 120) -> str:
    """Run one of Kafka's tools; its stdout, or AssertionError with its output if it failed."""
    command = [
        "java",
        "-Xmx256m",
        f"-Dlog4j2.configurationFile={QUIET_LOGS}",
        "-cp",
        f"{libs}/*",
        main_class,
        *args,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(
            f"{main_class.rsplit('.', 1)[1]} exited {result.returncode}:\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    return result.stdout


def describe_group(bootstrap: str, group: str, **kw) -> list[GroupPartition]:
    """`kafka-consumer-groups --bootstrap-server <bootstrap> --describe --group <group>`."""
    out = run_tool(
        CONSUMER_GROUP_COMMAND,
        "--bootstrap-server",
        bootstrap,
        "--describe",
        "--group",
        group,
        **kw,
    )
    return parse_describe(out)


def describe_groups(bootstrap: str, groups: list[str], **kw) -> list[GroupPartition]:
    """`--describe` with one `--group` per group: one JVM for them all (each start costs
    seconds); the rows say their group."""
    args = [arg for group in groups for arg in ("--group", group)]
    out = run_tool(
        CONSUMER_GROUP_COMMAND, "--bootstrap-server", bootstrap, "--describe", *args, **kw
    )
    return parse_describe(out)


def _value(cell: str) -> str | None:
    return None if cell == "-" else cell


def _number(cell: str) -> int | None:
    return None if cell == "-" else int(cell)


def parse_describe(text: str) -> list[GroupPartition]:
    """The partition rows of `--describe` output, in the order printed. The table's header
    names its columns; notes such as "Consumer group 'g' has no active members." are skipped."""
    rows: list[GroupPartition] = []
    header: list[str] | None = None
    for line in text.splitlines():
        cells = line.split()
        if cells[:2] == ["GROUP", "TOPIC"]:
            header = cells
            continue
        if header is None or len(cells) != len(header):
            continue
        row = dict(zip(header, cells, strict=True))
        rows.append(
            GroupPartition(
                group=row["GROUP"],
                topic=row["TOPIC"],
                partition=int(row["PARTITION"]),
                current_offset=_number(row["CURRENT-OFFSET"]),
                log_end_offset=_number(row["LOG-END-OFFSET"]),
                lag=_number(row["LAG"]),
                consumer_id=_value(row["CONSUMER-ID"]),
                host=_value(row["HOST"]),
                client_id=_value(row["CLIENT-ID"]),
            )
        )
    return rows
