"""The year-end rollover: move a year's rows from the live file into `archive_{year}.db`.

One procedure, no code or configuration edits: the cutoff follows from the archive files. Everything
is built in a staging folder and verified before two atomic renames put it in place; any failure
before or during the swap leaves the files as they were. Plain Python: nothing here imports Dagster.

When `archive_{year}.db` already exists (made by hand, say), the live rows are merged into it by
identity (production_date, item_code, lot_number; the identity `maintenance` checks archives by):
the live file is the ERP's newer data, so its rows replace every archive row of the same identity,
even where good_quantity or item_name differ. Archive rows whose identity is not in the live file
stay. The replaced archive rows are counted and reported, never dropped silently.
"""

import datetime as dt
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from production_assets.backups import (
    BackupError,
    backup_database,
    fsync_file,
    retire_wal,
    set_aside,
)
from production_assets.databases import (
    LIVE_DB_NAME,
    TABLE,
    DatabaseFileError,
    connect_ro,
    create_schema,
    discover,
    row_count,
    signature,
)
from production_assets.maintenance import integrity_check, is_ok
from production_assets.snapshots import consistent_copy, copy_database
from resources.kst import as_kst, now_kst

MARKER_TABLE = "platform_rollover"
COLUMNS = "production_date, lot_number, item_code, item_name, good_quantity"


class RolloverError(RuntimeError):
    """The rollover was refused or failed; the files are unchanged."""


@dataclass
class RolloverReport:
    """What a completed rollover did."""

    year: int
    archive: str
    archive_existed: bool
    rows_moved: int
    stale_rows_moved: int
    rows_kept_in_live: int
    # Rows of an existing archive replaced by the live row of the same identity, and how many of
    # those held other values (item_name, good_quantity) than the live row that won.
    duplicates_dropped: int = 0
    duplicates_changed: int = 0
    rows_before: dict[str, int] = field(default_factory=dict)
    rows_after: dict[str, int] = field(default_factory=dict)
    cutoff_before: str | None = None
    cutoff_after: str | None = None
    backups: list[str] = field(default_factory=list)
    duration_s: float = 0.0


def rolled_over_years(path: Path) -> set[int]:
    """Years recorded as rolled over in an archive file."""
    if not path.exists():
        return set()
    conn = connect_ro(path)
    try:
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (MARKER_TABLE,)
        ).fetchone()
        if not exists:
            return set()
        return {int(r[0]) for r in conn.execute(f"SELECT year FROM {MARKER_TABLE}")}
    finally:
        conn.close()


def _max_seq(conn: sqlite3.Connection, schema: str = "main") -> int:
    row = conn.execute(
        f"SELECT seq FROM {schema}.sqlite_sequence WHERE name=?", (TABLE,)
    ).fetchone()
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class ArchiveMerge:
    """What writing the year's rows into the new archive did."""

    moved: int
    duplicates_dropped: int = 0
    duplicates_changed: int = 0


def _replace_same_identity(conn: sqlite3.Connection, end: str) -> tuple[int, int, int]:
    """Merge the snapshot's rows before `end` into `main`; live wins on identical identities.

    Returns (rows inserted, archive rows replaced, replaced rows whose values differed).
    """
    conn.execute(
        f"CREATE TEMP TABLE incoming AS SELECT id, {COLUMNS} FROM snap.{TABLE} "
        "WHERE production_date < ?",
        (end,),
    )
    conn.execute("CREATE INDEX temp.incoming_identity ON incoming (production_date, item_code)")
    same_identity = (
        "i.production_date = a.production_date AND i.item_code = a.item_code "
        "AND i.lot_number IS a.lot_number"
    )
    replaced = f"EXISTS (SELECT 1 FROM incoming AS i WHERE {same_identity})"
    changed = conn.execute(
        f"""
        SELECT COUNT(*) FROM main.{TABLE} AS a WHERE {replaced} AND NOT EXISTS (
            SELECT 1 FROM incoming AS i WHERE {same_identity}
              AND i.item_name IS a.item_name AND i.good_quantity IS a.good_quantity
        )
        """
    ).fetchone()[0]
    dropped = conn.execute(f"DELETE FROM main.{TABLE} AS a WHERE {replaced}").rowcount
    # Merged rows get new ids: the archive and the live file numbered their rows independently.
    moved = conn.execute(
        f"INSERT INTO main.{TABLE} ({COLUMNS}) SELECT {COLUMNS} FROM incoming ORDER BY id"
    ).rowcount
    conn.execute("DROP TABLE temp.incoming")
    return moved, dropped, int(changed)


def _build_archive(
    target: Path, existing: Path | None, snapshot: Path, end: str, year: int, now: dt.datetime
) -> ArchiveMerge:
    """Write the new archive into `target`: the existing archive (if any) plus the year's rows."""
    if existing is not None:
        consistent_copy(existing, target)
    conn = sqlite3.connect(target)
    try:
        create_schema(conn)
        conn.execute("ATTACH DATABASE ? AS snap", (str(snapshot),))
        if existing is not None:
            merge = ArchiveMerge(*_replace_same_identity(conn, end))
        else:
            # A new archive keeps the ids of the live file.
            merge = ArchiveMerge(
                conn.execute(
                    f"INSERT INTO {TABLE} (id, {COLUMNS}) SELECT id, {COLUMNS} "
                    f"FROM snap.{TABLE} WHERE production_date < ? ORDER BY id",
                    (end,),
                ).rowcount
            )
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (year INTEGER PRIMARY KEY, "
            "rolled_over_at TEXT NOT NULL, rows_moved INTEGER NOT NULL)"
        )
        conn.execute(
            f"INSERT INTO {MARKER_TABLE} VALUES (?, ?, ?)", (year, now.isoformat(), merge.moved)
        )
        conn.commit()
        conn.execute("DETACH DATABASE snap")
        conn.execute(f"ANALYZE {TABLE}")
        conn.commit()
    finally:
        conn.close()
    return merge


def _build_live(target: Path, snapshot: Path, end: str, journal_mode: str | None) -> int:
    """Write a fresh live file with the rows dated on or after `end`; returns their number."""
    conn = sqlite3.connect(target)
    try:
        create_schema(conn)
        conn.execute("ATTACH DATABASE ? AS snap", (str(snapshot),))
        kept = conn.execute(
            f"INSERT INTO {TABLE} (id, {COLUMNS}) SELECT id, {COLUMNS} FROM snap.{TABLE} "
            "WHERE production_date >= ? ORDER BY id",
            (end,),
        ).rowcount
        # Keep numbering where the old live file stopped, so ids are never reused across files.
        seq = _max_seq(conn, "snap")
        conn.execute("DELETE FROM sqlite_sequence WHERE name=?", (TABLE,))
        conn.execute("INSERT INTO sqlite_sequence(name, seq) VALUES (?, ?)", (TABLE, seq))
        conn.commit()
        conn.execute("DETACH DATABASE snap")
        conn.execute(f"ANALYZE {TABLE}")
        if journal_mode == "wal":
            conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    return kept


def _check(path: Path) -> None:
    messages = integrity_check(path)
    if not is_ok(messages):
        raise RolloverError(f"{path.name} failed integrity_check: {'; '.join(messages[:5])}")


def rollover(
    db_dir: Path,
    year: int,
    backup_dir: Path | None = None,
    live_name: str = LIVE_DB_NAME,
    now: dt.datetime | None = None,
) -> RolloverReport:
    """Archive `year`: verified backups, `archive_{year}.db`, a fresh live file, verification."""
    started = time.perf_counter()
    now = as_kst(now or now_kst())
    layout = discover(db_dir, live_name)
    backup_dir = backup_dir or layout.backup_dir
    live = layout.live.path
    if not live.exists():
        raise RolloverError(f"the live database {live} does not exist")
    if year >= now.year:
        # Rows the ERP still writes for an unfinished year would land in the live file before the
        # new cutoff, and no file would ever count them.
        raise RolloverError(
            f"year {year} is not over yet (today is {now.date()} KST); run the rollover from "
            f"{year + 1}-01-01"
        )
    existing = layout.archive(year)
    if existing is not None and year in rolled_over_years(existing.path):
        raise RolloverError(
            f"year {year} was already rolled over into {existing.name}; refusing to run it twice"
        )
    newest = layout.archives[-1].year if layout.archives else None
    if newest is not None and year < newest:
        raise RolloverError(
            f"archive_{newest}.db already covers a later year than {year}; rollovers go forward"
        )
    for db in layout.files:
        _check(db.path)
    try:
        rows_before = {db.name: row_count(db.path) for db in layout.files}
    except DatabaseFileError as exc:
        raise RolloverError(str(exc)) from exc

    report = RolloverReport(
        year=year,
        archive=f"archive_{year}.db",
        archive_existed=existing is not None,
        rows_moved=0,
        stale_rows_moved=0,
        rows_kept_in_live=0,
        rows_before=rows_before,
        cutoff_before=layout.cutoff,
    )
    # Any write by the ERP from here on (final backup included) aborts the rollover before the swap.
    live_sig = signature(live)
    try:
        for db in (layout.live, existing):
            if db is not None:
                result = backup_database(db.path, backup_dir, db.backup_prefix)
                report.backups.append(result.path)
    except (BackupError, DatabaseFileError) as exc:
        raise RolloverError(f"final backup failed: {exc}") from exc

    end = f"{year + 1}-01-01"
    work = db_dir / f".rollover_{year}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        snapshot = work / "live_snapshot.db"
        src = connect_ro(live)
        try:
            journal_mode = src.execute("PRAGMA journal_mode").fetchone()[0]
            copy_database(src, snapshot)
        finally:
            src.close()
        snap_rows = row_count(snapshot)
        snap_conn = connect_ro(snapshot)
        try:
            report.stale_rows_moved = (
                int(
                    snap_conn.execute(
                        f"SELECT COUNT(*) FROM {TABLE} WHERE production_date < ?",
                        (layout.cutoff,),
                    ).fetchone()[0]
                )
                if layout.cutoff
                else 0
            )
        finally:
            snap_conn.close()

        new_archive = work / f"archive_{year}.db"
        new_live = work / live_name
        merge = _build_archive(
            new_archive, existing.path if existing else None, snapshot, end, year, now
        )
        report.rows_moved = merge.moved
        report.duplicates_dropped = merge.duplicates_dropped
        report.duplicates_changed = merge.duplicates_changed
        report.rows_kept_in_live = _build_live(new_live, snapshot, end, journal_mode)
        _check(new_archive)
        _check(new_live)
        fsync_file(new_archive)
        fsync_file(new_live)
        archive_before = rows_before.get(report.archive, 0)
        archive_rows = row_count(new_archive)
        if archive_rows != archive_before - merge.duplicates_dropped + merge.moved:
            raise RolloverError(
                f"the new archive holds {archive_rows} rows, not its {archive_before} old rows "
                f"- {merge.duplicates_dropped} replaced duplicates + {merge.moved} moved rows"
            )
        if report.rows_moved + report.rows_kept_in_live != snap_rows:
            raise RolloverError(
                f"rows moved ({report.rows_moved}) + rows kept ({report.rows_kept_in_live}) != "
                f"live rows ({snap_rows})"
            )
        if signature(live) != live_sig:
            raise RolloverError(
                "the live database changed during the rollover (the ERP wrote to it); nothing was "
                "changed, run the rollover again when the ERP is idle"
            )
        # The snapshot comes from a file that did not change until now: the totals must agree,
        # less the archive rows the live file's version of the same identity replaced.
        expected_total = (
            sum(rows_before.values())
            - rows_before[live_name]
            + snap_rows
            - merge.duplicates_dropped
        )
        _swap(
            layout.live.path, new_live, db_dir / report.archive, new_archive, year, expected_total
        )
    except BackupError as exc:
        raise RolloverError(str(exc)) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)

    after = discover(db_dir, live_name)
    report.rows_after = {db.name: row_count(db.path) for db in after.files}
    report.cutoff_after = after.cutoff
    report.duration_s = round(time.perf_counter() - started, 3)
    return report


def _put_back(kept: Path, path: Path) -> None:
    """Move a file kept aside (and any WAL/SHM moved with it) back to its own name.

    When the name still holds the same file (the aside name is a hard link made before anything
    was swapped), rename(2) would do nothing and leave the link: the link is removed instead.
    """
    if path.exists() and os.path.samefile(kept, path):
        kept.unlink()
    else:
        os.replace(kept, path)
    for extra in ("-wal", "-shm"):
        companion = Path(f"{kept}{extra}")
        if companion.exists():
            os.replace(companion, Path(f"{path}{extra}"))


def _swap(
    live: Path, new_live: Path, archive: Path, new_archive: Path, year: int, expected_total: int
) -> None:
    """Put the new files in place; on any failure put the old ones back.

    Setting the old files aside is part of what is undone: a failure at any point, the second
    `set_aside` included, leaves no `*.pre_rollover_*` name behind.
    """
    suffix = f"pre_rollover_{year}"
    journal_mode = retire_wal(live)
    had_archive = archive.exists()
    kept_live: Path | None = None
    kept_archive: Path | None = None
    archive_replaced = False
    try:
        kept_live = set_aside(live, suffix)
        kept_archive = set_aside(archive, suffix)
        os.replace(new_archive, archive)
        archive_replaced = True
        os.replace(new_live, live)
        for path in (archive, live):
            _check(path)
        layout = discover(live.parent, live.name)
        if layout.cutoff_year != year + 1:
            raise RolloverError(f"the cutoff derived from the files is not {year + 1}")
        total = sum(row_count(db.path) for db in layout.files)
        if total != expected_total:
            raise RolloverError(
                f"{total} rows across all files after the swap, {expected_total} expected"
            )
    except BaseException:
        if kept_archive is not None:
            _put_back(kept_archive, archive)
        elif archive_replaced and not had_archive:
            archive.unlink(missing_ok=True)
        if kept_live is not None:
            _put_back(kept_live, live)
        if journal_mode == "wal":
            restored = sqlite3.connect(live)
            restored.execute("PRAGMA journal_mode=WAL")
            restored.close()
        raise
    for kept in (kept_live, kept_archive):
        if kept is not None:
            for extra in ("", "-wal", "-shm"):
                Path(f"{kept}{extra}").unlink(missing_ok=True)
