"""Backups while the ERP writes, retention, refusal of bad copies, and the restore round trip."""

import datetime as dt
import os
import sqlite3
from pathlib import Path

import dagster as dg
import pytest

from production_assets import assets, snapshots
from production_assets import backups as backups_module
from production_assets.backups import (
    BackupError,
    apply_retention,
    backup_database,
    list_backups,
)
from production_assets.definitions import defs
from production_assets.jobs import BACKUP_NAME
from production_assets.maintenance import integrity_check
from production_assets.sources import ProductionDbResource
from resources.kst import KST
from tests.production.conftest import count, make_db, rows_for, run_writer


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_backup_while_the_erp_writes_is_consistent_and_never_blocks_it(
    tmp_path: Path, erp_writer, monkeypatch: pytest.MonkeyPatch, journal: str
) -> None:
    live = make_db(
        tmp_path / "production_analysis.db",
        rows_for([f"2026-01-{d:02d}" for d in range(1, 29)] * 40),
    )
    initial = count(live)
    backup_dir = tmp_path / "backups"
    # WAL: the ERP never waits for a reader, so it runs with a busy timeout of 0 and any lock the
    # backup held would fail its commit. Rollback journal: its commit waits for the backup's short
    # read lock (the copy's lock budget bounds it; how long is a figure of bench/production.py).
    erp = erp_writer(live, busy_timeout=0.0 if journal == "wal" else 30.0, journal=journal)

    # The ERP holds its write lock with 20 rows not yet committed: the backup neither waits for it
    # nor sees the rows.
    erp.ok("begin")
    erp.ok("insert 20")
    first = backup_database(live, backup_dir, "production")
    assert first.rows == count(Path(first.path)) == initial
    assert erp.ok("commit")["rows"] == 20  # nothing of the backup is left holding the file

    # The ERP commits 20 more while the backup copies the file under its snapshot.
    real_copy = snapshots._copy_fd
    during = []

    def copy_while_the_erp_commits(src_fd: int, dest_fd: int, *args: object) -> int:
        if not during:
            during.append("insert 20")
            erp.send("insert 20")
            if journal == "wal":  # never blocked: the commit is done before the copy goes on
                assert erp.answer()["ok"]
        return real_copy(src_fd, dest_fd, *args)

    monkeypatch.setattr(snapshots, "_copy_fd", copy_while_the_erp_commits)
    second = backup_database(live, backup_dir, "production")
    monkeypatch.undo()
    if journal == "delete":  # the commit went in once the copy had let go of its read lock
        assert erp.answer()["ok"]
    assert erp.close() == 40
    # The snapshot (40 rows committed before it) or a later whole transaction, never a part of one.
    assert second.rows in (initial + 20, initial + 40)
    for result in (first, second):
        path = Path(result.path)
        assert integrity_check(path, quick=True) == ["ok"]
        assert count(path) == result.rows
    assert sorted(os.listdir(backup_dir)) == sorted(Path(m.path).name for m in (first, second))


def test_retention_keeps_exactly_the_newest(tmp_path: Path) -> None:
    backup_dir = tmp_path / "backups"
    backup_dir.mkdir()
    start = dt.datetime(2026, 1, 1, 2, 0, tzinfo=KST)
    names = [f"production_{(start + dt.timedelta(days=i)):%Y%m%d_%H%M%S}.db" for i in range(35)]
    others = ["archive_2025_20260101_020000.db", "production_analysis.db", "production_notes.db"]
    for name in [*names, *others]:
        (backup_dir / name).write_bytes(b"x")
    # mtimes deliberately disagree with the names: the timestamp in the name decides
    for i, name in enumerate(names):
        os.utime(backup_dir / name, (1_000_000 - i, 1_000_000 - i))
    deleted = apply_retention(backup_dir, "production", keep=30)
    assert sorted(deleted) == names[:5]
    assert sorted(p.name for _, p in list_backups(backup_dir, "production")) == names[5:]
    assert all((backup_dir / n).exists() for n in others)


def test_a_corrupt_source_leaves_only_a_copy_marked_unverified(tmp_path: Path) -> None:
    source = tmp_path / "archive_2025.db"
    make_db(source, rows_for(["2025-01-01"] * 200))
    with open(source, "r+b") as handle:  # damage the pages after the header
        handle.seek(4096)
        handle.write(os.urandom(8192))
    backup_dir = tmp_path / "backups"
    with pytest.raises(BackupError, match="archive_2025.db fails integrity_check"):
        backup_database(source, backup_dir, "archive_2025")
    # kept for salvage under a name that neither the restore job nor "newest backup" accepts
    [kept] = os.listdir(backup_dir)
    assert kept.endswith(".unverified.db") and BACKUP_NAME.match(kept) is None


def test_backup_asset_keeps_n_per_file_and_names_them_by_prefix(db_dir: Path) -> None:
    resource = ProductionDbResource(
        db_dir=str(db_dir), live_backup_retention=2, archive_backup_retention=1
    )
    job = defs.resolve_job_def("production_maintenance_job")
    instance = dg.DagsterInstance.ephemeral()
    for _ in range(3):
        result = job.execute_in_process(
            run_config={"ops": {"production_db_backups": {"config": {"force": True}}}},
            resources={"production_db": resource},
            instance=instance,
        )
        assert result.success
    backups = sorted(os.listdir(db_dir / "backups"))
    assert [n.rsplit("_", 2)[0] for n in backups] == ["archive_2025", "production", "production"]
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks["backups_current"] and checks["free_disk_space"]
    # unchanged files are not copied again unless forced
    result = job.execute_in_process(resources={"production_db": resource}, instance=instance)
    meta = result.asset_materializations_for_node("production_db_backups")[0].metadata
    assert meta["backups_made"].value == 0


def test_restore_round_trip_keeps_the_replaced_file(db_dir: Path) -> None:
    live = db_dir / "production_analysis.db"
    saved = backup_database(live, db_dir / "backups", "production")
    original_rows = count(live)
    run_writer("replace", "--db", str(live), "--rows", "7")  # the ERP overwrites the file
    assert count(live) == 7

    job = defs.resolve_job_def("production_restore_job")
    resources = {"production_db": ProductionDbResource(db_dir=str(db_dir))}
    result = job.execute_in_process(
        run_config={"ops": {"restore_backup": {"config": {"backup_file": Path(saved.path).name}}}},
        resources=resources,
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    assert count(live) == original_rows
    kept = [p for p in db_dir.iterdir() if p.name.startswith("production_analysis.db.replaced_")]
    assert len(kept) == 1 and count(kept[0]) == 7
    assert integrity_check(live) == ["ok"]

    # a damaged backup is refused and the live file stays as it is
    bad = db_dir / "backups" / "production_20260101_020000.db"
    bad.write_bytes(b"SQLite format 3\x00" + os.urandom(5000))
    result = job.execute_in_process(
        run_config={"ops": {"restore_backup": {"config": {"backup_file": bad.name}}}},
        resources=resources,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not result.success
    failure = result.failure_data_for_node("restore_backup")
    assert "refused" in failure.error.message and "unchanged" in failure.error.message
    assert count(live) == original_rows


def test_live_file_is_read_only_to_the_backup(db_dir: Path) -> None:
    live = db_dir / "production_analysis.db"
    before = live.read_bytes()
    backup_database(live, db_dir / "backups", "production")
    assert live.read_bytes() == before
    conn = sqlite3.connect(live)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_a_corrupt_archive_does_not_stop_the_live_backup(db_dir: Path) -> None:
    (db_dir / "archive_2025.db").write_bytes(b"not a database" * 500)
    result = defs.resolve_job_def("production_maintenance_job").execute_in_process(
        resources={"production_db": ProductionDbResource(db_dir=str(db_dir))},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not result.success
    message = result.failure_data_for_node("production_db_backups").error.message
    assert "archive_2025.db" in message
    made = os.listdir(db_dir / "backups")
    assert len(made) == 1 and made[0].startswith("production_")
    assert integrity_check(db_dir / "backups" / made[0], quick=True) == ["ok"]


@pytest.mark.parametrize("frames_pending", [False, True])
def test_a_wal_file_is_copied_under_its_snapshot_while_the_erp_writes_and_checkpoints(
    tmp_path: Path, erp_writer, monkeypatch: pytest.MonkeyPatch, frames_pending: bool
) -> None:
    live = make_db(tmp_path / "production_analysis.db", rows_for(["2026-01-05"] * 300), wal=True)
    erp = sqlite3.connect(live)  # the ERP's own connection stays open, as in production
    erp.execute("PRAGMA wal_autocheckpoint=0")
    if frames_pending:  # committed rows that are only in the WAL
        with erp:
            erp.executemany(
                "INSERT INTO production_records (production_date, item_code) VALUES (?, 'X')",
                [("2026-01-06",)] * 50,
            )
    initial = count(live)
    writer = erp_writer(live)  # busy timeout 0: a lock held by the copy would fail its steps
    real_copy = snapshots._copy_fd
    answers = []

    def copy_while_the_erp_writes(src_fd: int, dest_fd: int, *args: object) -> int:
        # Inside the read snapshot: the ERP commits and tries to checkpoint after every commit.
        if not answers:
            for _ in range(3):
                answers.extend([writer.do("insert 50"), writer.do("checkpoint")])
        return real_copy(src_fd, dest_fd, *args)

    monkeypatch.setattr(snapshots, "_copy_fd", copy_while_the_erp_writes)
    try:
        result = backup_database(live, tmp_path / "backups", "production")
    finally:
        erp.close()
    assert all(a["ok"] for a in answers) and writer.close() == 150
    assert result.method.startswith("file copy")
    if frames_pending:
        assert "WAL" in result.method
    # The snapshot, or the snapshot plus some of the ERP's later commits: whole transactions only.
    assert initial <= result.rows <= initial + 150
    assert (result.rows - initial) % 50 == 0
    assert integrity_check(Path(result.path)) == ["ok"]
    assert not Path(f"{result.path}-wal").exists()  # one self-contained file
    assert count(live) == initial + 150


def test_a_rollback_journal_file_too_large_to_copy_within_the_lock_budget_uses_the_backup_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = make_db(tmp_path / "production_analysis.db", rows_for(["2026-01-05"] * 300))
    monkeypatch.setattr(snapshots, "COPY_CHUNK", 4096)  # the copy checks the clock every page

    def slow_clock(real=snapshots.time.monotonic, ticks=[0.0]) -> float:
        ticks[0] += 0.25
        return real() + ticks[0]

    monkeypatch.setattr(snapshots.time, "monotonic", slow_clock)
    result = backup_database(live, tmp_path / "backups", "production")
    assert result.method == "online backup API"
    assert result.rows == count(live)
    assert [p.name for p in (tmp_path / "backups").iterdir()] == [Path(result.path).name]


def test_a_change_still_in_the_wal_is_backed_up_again(db_dir: Path) -> None:
    resources = {"production_db": ProductionDbResource(db_dir=str(db_dir))}
    instance = dg.DagsterInstance.ephemeral()

    def backups_made() -> int:
        result = dg.materialize(
            [assets.production_db_backups], resources=resources, instance=instance
        )
        meta = result.asset_materializations_for_node("production_db_backups")[0].metadata
        return meta["backups_made"].value

    for path in db_dir.glob("*.db"):  # the files last changed a while ago
        os.utime(path, (path.stat().st_mtime - 10, path.stat().st_mtime - 10))
    assert backups_made() == 2  # first backups of the archive and the live file
    assert backups_made() == 0  # nothing changed since
    live = db_dir / "production_analysis.db"
    erp = sqlite3.connect(live)  # the ERP commits; its rows sit in the WAL, not yet checkpointed
    erp.execute("PRAGMA wal_autocheckpoint=0")
    with erp:
        erp.execute(
            "INSERT INTO production_records (production_date, item_code) VALUES ('2026-03-02', 'X')"
        )
    try:
        assert backups_made() == 1  # the live file again, with the new row
    finally:
        erp.close()
    newest = list_backups(db_dir / "backups", "production")[0][1]
    assert count(newest) == count(live)


def test_a_partial_file_left_by_a_killed_backup_is_removed(tmp_path: Path) -> None:
    source = make_db(tmp_path / "production_analysis.db", rows_for(["2026-01-02"]))
    backup_dir = tmp_path / "backups"
    backup_dir.mkdir()
    killed = backup_dir / ".production_20260101_020000.db.partial"  # the process died copying
    killed.write_bytes(b"half a database")
    os.utime(killed, (killed.stat().st_mtime - 7200, killed.stat().st_mtime - 7200))
    running = backup_dir / ".production_20260102_020000.db.partial"  # another backup is copying
    running.write_bytes(b"being written")
    other = backup_dir / ".archive_2025_20260101_020000.db.partial"
    other.write_bytes(b"not this prefix")
    os.utime(other, (other.stat().st_mtime - 7200, other.stat().st_mtime - 7200))
    made = backup_database(source, backup_dir, "production")
    assert sorted(os.listdir(backup_dir)) == sorted(
        [Path(made.path).name, running.name, other.name]
    )


def test_two_restores_in_the_same_second_keep_both_replaced_files(db_dir: Path) -> None:
    live = db_dir / "production_analysis.db"
    saved = Path(backup_database(live, db_dir / "backups", "production").path)
    when = dt.datetime(2026, 11, 22, 10, 0, 0, tzinfo=KST)
    for rows in (7, 3):
        run_writer("replace", "--db", str(live), "--rows", str(rows))
        backups_module.restore_backup(saved, live, now=when)
    kept = [
        p
        for p in db_dir.iterdir()
        if p.name.startswith("production_analysis.db.replaced_")
        and not p.name.endswith(("-wal", "-shm"))
    ]
    assert sorted(count(p) for p in kept) == [3, 7]
