"""What backups keep when a file goes bad, a clock is wrong, or a swap fails half way.

Every database here is a small SQLite file made by the test itself.
"""

import datetime as dt
import os
import shutil
import sqlite3
from pathlib import Path

import dagster as dg
import pytest

from production_assets import assets
from production_assets import rollover as rollover_module
from production_assets.backups import (
    apply_retention,
    backup_database,
    list_backups,
    restore_backup,
)
from production_assets.databases import LIVE_DB_NAME
from production_assets.maintenance import integrity_check
from production_assets.rollover import rollover
from production_assets.sources import ProductionDbResource
from resources.kst import KST
from tests.production.conftest import add_rows, count, make_db, rows_for


def damage_one_table_byte(path: Path) -> None:
    """Change one character of a lot number in the table's own page, not in its index.

    The table and idx_lot_number then disagree: quick_check still says ok, integrity_check
    reports the index entry missing (what the issue saw after one changed table byte).
    """
    conn = sqlite3.connect(path)
    root = conn.execute(
        "SELECT rootpage FROM sqlite_master WHERE name = 'production_records'"
    ).fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(path.read_bytes())
    at = data.find(b"LT2026-01-050", (root - 1) * page_size, root * page_size)
    assert at > 0
    data[at + 12] = ord("9")
    path.write_bytes(bytes(data))


def _backup_run(folder: Path) -> dg.ExecuteInProcessResult:
    resource = ProductionDbResource(db_dir=str(folder), live_backup_retention=3)
    return dg.materialize(
        [assets.production_db_backups],
        resources={"production_db": resource},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
        run_config={"ops": {"production_db_backups": {"config": {"force": True}}}},
    )


def test_a_file_failing_integrity_check_never_rotates_out_its_last_verified_backup(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    live = make_db(folder / LIVE_DB_NAME, rows_for(["2026-01-05", "2026-01-06"]))
    assert _backup_run(folder).success
    [(_, good)] = list_backups(folder / "backups", "production")

    damage_one_table_byte(live)
    assert integrity_check(live, quick=True) == ["ok"]  # the cheap check does not see it
    for _ in range(4):  # four maintenance runs with retention 3
        result = _backup_run(folder)
        assert not result.success
        message = result.failure_data_for_node("production_db_backups").error.message
        assert LIVE_DB_NAME in message and "integrity_check" in message
        assert "missing from index idx_lot_number" in message

    names = [p.name for _, p in list_backups(folder / "backups", "production")]
    # the three newest copies (kept for salvage, marked unverified) and the last good one
    assert len(names) == 4 and names[-1] == good.name
    assert all(n.endswith(".unverified.db") for n in names[:3])
    # the good one restores the six rows as they were
    restored = restore_backup(good, live)
    assert restored.rows == 6 and integrity_check(live) == ["ok"]


def test_retention_counts_unverified_copies_but_keeps_the_newest_verified_one(
    tmp_path: Path,
) -> None:
    backup_dir = tmp_path / "backups"
    backup_dir.mkdir()
    names = [
        "production_20260101_020000.db",
        "production_20260102_020000.db",  # the newest verified one
        "production_20260103_020000.unverified.db",
        "production_20260104_020000.unverified.db",
    ]
    for name in names:
        (backup_dir / name).write_bytes(b"x")
    assert apply_retention(backup_dir, "production", keep=2) == [names[0]]
    # keep=1: the newest (unverified) copy, and the newest verified one outside the count
    assert apply_retention(backup_dir, "production", keep=1) == [names[2]]
    assert sorted(p.name for p in backup_dir.iterdir()) == [names[1], names[3]]


def test_a_backup_named_in_the_future_does_not_make_later_backups_skip(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    live = make_db(folder / LIVE_DB_NAME, rows_for(["2026-01-05"]))
    backup_dir = folder / "backups"
    made = backup_database(live, backup_dir, "production")
    # a copy whose name says 2099 (a clock that was wrong once, a copy made by hand)
    shutil.copy(made.path, backup_dir / "production_20991231_235959.db")
    Path(made.path).unlink()
    add_rows(live, rows_for(["2026-01-06"]))

    resource = ProductionDbResource(db_dir=str(folder))
    result = dg.materialize(
        [assets.production_db_backups],
        resources={"production_db": resource},
        instance=dg.DagsterInstance.ephemeral(),
    )
    meta = result.asset_materializations_for_node("production_db_backups")[0].metadata
    assert meta["backups_made"].value == 1 and meta["unchanged_skipped"].value == "-"
    assert meta["named_in_the_future"].value == "production_20991231_235959.db"
    newest_real = [p for s, p in list_backups(backup_dir, "production") if s.year < 2099]
    assert count(newest_real[0]) == 6  # the new backup holds the new rows


def test_backups_of_a_vanished_archive_are_reported_and_kept(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    make_db(folder / "archive_2024.db", rows_for(["2024-05-01"]))
    make_db(folder / LIVE_DB_NAME, rows_for(["2026-01-05"]))
    resource = ProductionDbResource(db_dir=str(folder))
    defs_run = dg.materialize(
        [assets.production_db_backups],
        resources={"production_db": resource},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert defs_run.success
    (folder / "archive_2024.db").unlink()
    result = dg.materialize(
        [assets.production_db_backups],
        resources={"production_db": resource},
        instance=dg.DagsterInstance.ephemeral(),
    )
    meta = result.asset_materializations_for_node("production_db_backups")[0].metadata
    assert meta["backups_of_missing_files"].value == "archive_2024.db"
    assert len(list_backups(folder / "backups", "archive_2024")) == 1


def test_a_restore_keeps_the_journal_mode_of_the_file_it_replaces(tmp_path: Path) -> None:
    live = make_db(tmp_path / LIVE_DB_NAME, rows_for(["2026-01-05"]), wal=True)
    backup = backup_database(live, tmp_path / "backups", "production")
    add_rows(live, rows_for(["2026-01-06"]))
    result = restore_backup(Path(backup.path), live)
    conn = sqlite3.connect(live)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT COUNT(*) FROM production_records").fetchone()[0] == 3
    finally:
        conn.close()
    assert result.journal_mode == "wal"
    assert not list(tmp_path.glob(".*restore.tmp*"))


def test_a_swap_that_fails_setting_the_archive_aside_leaves_no_stray_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    make_db(folder / "archive_2025.db", rows_for(["2025-06-01"]))
    live = make_db(folder / LIVE_DB_NAME, rows_for(["2026-03-01", "2027-01-02"]), wal=True)
    make_db(folder / "archive_2026.db", [])  # made by hand: the swap sets it aside as well
    real = rollover_module.set_aside

    def fails_for_the_archive(path: Path, suffix: str) -> Path | None:
        if path.name == "archive_2026.db":
            raise OSError(28, "No space left on device")
        return real(path, suffix)

    monkeypatch.setattr(rollover_module, "set_aside", fails_for_the_archive)
    with pytest.raises(OSError, match="No space"):
        rollover(folder, 2026, now=dt.datetime(2027, 1, 3, 9, 0, tzinfo=KST))
    assert sorted(p.name for p in folder.iterdir() if "pre_rollover" in p.name) == []
    assert count(live) == 6 and count(folder / "archive_2026.db") == 0
    conn = sqlite3.connect(live)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    assert os.stat(live).st_nlink == 1  # no other name shares the live file
