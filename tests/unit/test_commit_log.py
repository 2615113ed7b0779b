"""The parsers of `__consumer_offsets` records: every value version, other record kinds."""

from __future__ import annotations

import struct

import pytest

from monitor.commits import java_hash, parse_key, parse_value, partition_of


def string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack(">h", len(raw)) + raw


def offset_key(version: int, group: str, topic: str, partition: int) -> bytes:
    return struct.pack(">h", version) + string(group) + string(topic) + struct.pack(">i", partition)


# A record as Kafka 4.4 wrote it (OffsetCommitValue v4: flexible, the topic id as a tagged field).
KAFKA_44_KEY = b"\x00\x01\x00\x11bench_w1_ff689757\x00\x16bench_connect_f83ea55e\x00\x00\x00\x03"
KAFKA_44_VALUE = (
    b"\x00\x04\x00\x00\x00\x00\x00\x00\x01\xa9\xff\xff\xff\xff\x01\x00\x00\x01\xa23?'\xad"
    b"\x01\x00\x10\x04\xe3\r\x9a\x8c\nO\xc0\xba\x9b\xa2|\x02\xa2\xdb\xb8"
)


def test_a_kafka_44_record():
    assert parse_key(KAFKA_44_KEY) == ("bench_w1_ff689757", "bench_connect_f83ea55e", 3)
    offset, at = parse_value(KAFKA_44_VALUE)
    assert offset == 425 and at == pytest.approx(0x000001A2333F27AD / 1000)


@pytest.mark.parametrize("version", [0, 1])
def test_offset_commit_keys(version):
    assert parse_key(offset_key(version, "g", "t", 7)) == ("g", "t", 7)


def test_other_records_are_not_commits():
    group_metadata = struct.pack(">h", 2) + string("g")
    assert parse_key(group_metadata) is None
    assert parse_key(struct.pack(">h", 5) + string("g")) is None  # a newer group record
    assert parse_key(None) is None and parse_key(b"") is None


MS = 1_796_156_241_327
CASES = {
    0: struct.pack(">hq", 0, 42) + string("meta") + struct.pack(">q", MS),
    1: struct.pack(">hq", 1, 42) + string("") + struct.pack(">qq", MS, MS + 86_400_000),
    2: struct.pack(">hq", 2, 42) + string("m") + struct.pack(">q", MS),
    3: struct.pack(">hqi", 3, 42, 7) + string("meta") + struct.pack(">q", MS),
    4: struct.pack(">hqi", 4, 42, -1) + bytes([5]) + b"meta" + struct.pack(">q", MS) + b"\x00",
}


@pytest.mark.parametrize("version", sorted(CASES))
def test_offset_commit_values(version):
    assert parse_value(CASES[version]) == (42, MS / 1000)


def test_a_tombstone_is_a_deleted_offset():
    assert parse_value(None) is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("", 0),
        ("a", 97),
        ("hello", 99162322),
        ("polygenelubricants", -(1 << 31)),
        ("é✓", 17226),
        ("😀", 0xD83D * 31 + 0xDE00),
    ],
)
def test_java_string_hash(text, value):
    assert java_hash(text) == value


def test_the_partition_of_a_group_is_the_coordinators():
    assert partition_of("hello", 50) == 99162322 % 50
    assert partition_of("polygenelubricants", 6) == 0  # Integer.MIN_VALUE: abs gives 0
    assert partition_of("checkin-consumers", 6) in range(6)
