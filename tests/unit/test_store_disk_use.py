"""The local store's disk use, read from its SQLite files (readmodels/disk.py)."""

from __future__ import annotations

from pathlib import Path

from checkins.settings import Settings
from readmodels import disk


def write(path: Path, size: int) -> None:
    path.write_bytes(b"\0" * size)


def test_a_database_counts_its_file_and_its_write_ahead_log(tmp_path: Path):
    write(tmp_path / "SOA_HomeCheckInDB.sqlite", 3 * 4096)
    write(tmp_path / "SOA_HomeCheckInDB.sqlite-wal", 1000)
    write(tmp_path / "other.sqlite", 4096)

    use = disk.database_use(tmp_path, "SOA_HomeCheckInDB")
    assert (use.database_bytes, use.wal_bytes, use.total_bytes) == (12288, 1000, 13288)
    assert disk.store_use(tmp_path).total_bytes == 12288 + 1000 + 4096


def test_a_database_not_yet_written_uses_nothing(tmp_path: Path):
    assert disk.database_use(tmp_path, "new").total_bytes == 0


def test_the_local_store_is_read_from_the_stack_dir_and_an_external_one_is_n_a(tmp_path: Path):
    (tmp_path / "mongo").mkdir()
    write(tmp_path / "mongo" / "db.sqlite", 10)
    local = Settings(stack_dir=str(tmp_path), mongodb_database="db").model_copy(
        update={"mongodb_uri": None}
    )
    assert disk.local_database_use(local) == disk.DiskUse(10, 0)
    external = Settings(mongodb_uri="mongodb://elsewhere:27017/", mongodb_database="db")
    assert disk.local_database_use(external) is None
    assert disk.describe(None)[0] == "n/a"


def test_sizes_read_as_du_would():
    assert disk.human_bytes(0) == "0 B"
    assert disk.human_bytes(1536) == "1.5 KB"
    assert disk.human_bytes(5_000_000) == "4.8 MB"
    assert disk.human_bytes(3 * 2**30) == "3.0 GB"
    assert disk.describe(disk.DiskUse(2**20, 2**19)) == ("1.5 MB", "database 1.0 MB + WAL 512.0 KB")
