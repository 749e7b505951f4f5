"""Maintenance of the production SQLite files: index healing, ANALYZE, integrity, WAL, disk space.

The platform only reads the ERP's files, except for creating missing indexes, ANALYZE and WAL
checkpoints. Plain Python: nothing here imports Dagster.
"""

import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from production_assets.databases import (
    REQUIRED_INDEXES,
    TABLE,
    WRITE_LOCK_BUDGET_S,
    WRITER_TURN_S,
    DatabaseFileError,
    DbFile,
    DbLayout,
    connect_rw,
    reading,
    require_table,
    wal_size,
)
from production_assets.snapshots import long_reading

GB = 1024**3
# VM instructions between two looks at the clock while a bounded write runs.
PROGRESS_STEP = 1000
CHECK_MMAP_BYTES = 1 << 30


class LockBudgetExceeded(DatabaseFileError):
    """A write would have held the write lock longer than its budget; it was rolled back."""


@contextmanager
def bounded_write(conn: sqlite3.Connection, budget_s: float | None) -> Iterator[None]:
    """One write transaction that holds the lock for at most `budget_s`, or is rolled back.

    `conn` must be in autocommit mode (isolation_level None). The clock starts once the write lock
    is held (BEGIN IMMEDIATE waits for the ERP through the busy timeout). A progress handler
    interrupts the statement when the budget is spent. The connection keeps SQLite's small
    default page cache on purpose: the sorter of CREATE INDEX then writes sorted runs while it
    scans and merges them while it inserts, so there is no long uninterruptible sort at the end.
    """
    conn.execute("BEGIN IMMEDIATE")
    if budget_s is not None:
        deadline = time.monotonic() + budget_s
        conn.set_progress_handler(lambda: time.monotonic() > deadline, PROGRESS_STEP)
    try:
        yield
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if budget_s is not None and "interrupted" in str(exc):
            raise LockBudgetExceeded(
                f"rolled back: the write lock would have been held over {budget_s:g} s"
            ) from exc
        raise
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.set_progress_handler(None, 0)


@dataclass
class HealResult:
    """Outcome of checking one file's indexes."""

    path: str
    missing_before: list[str] = field(default_factory=list)
    healed: list[str] = field(default_factory=list)
    deferred: dict[str, str] = field(default_factory=dict)  # index -> why it was not built now
    duration_ms: float = 0.0


def index_names(conn: sqlite3.Connection) -> set[str]:
    """Names of the indexes defined in a database."""
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}


def missing_indexes(path: Path, busy_timeout_s: float = 5.0) -> list[str]:
    """Required indexes absent from `path`, read through a read-only connection."""
    with reading(path, busy_timeout_s) as conn:
        require_table(conn, path)
        present = index_names(conn)
    return [name for name in REQUIRED_INDEXES if name not in present]


def heal_indexes(
    path: Path,
    busy_timeout_s: float = 10.0,
    lock_budget_s: float | None = WRITE_LOCK_BUDGET_S,
) -> HealResult:
    """Create every missing required index of `path`, one index per write transaction.

    Each build holds the file's write lock for at most `lock_budget_s` (None: no limit): a build
    that would take longer is rolled back and listed in `deferred`, so the ERP is never held up
    longer than the budget. Between two builds the lock is released long enough for a waiting
    writer to get in. Only opens the file for writing when an index is missing.
    """
    started = time.perf_counter()
    result = HealResult(path=str(path), missing_before=missing_indexes(path))
    if result.missing_before:
        conn = connect_rw(path, busy_timeout_s)
        conn.isolation_level = None  # explicit BEGIN/COMMIT below
        try:
            rows = int(conn.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()[0])
            for n, name in enumerate(result.missing_before):
                if n:
                    time.sleep(WRITER_TURN_S)
                try:
                    with bounded_write(conn, lock_budget_s):
                        # Re-read under the write lock: the ERP may have changed the file meanwhile.
                        if name not in index_names(conn):
                            conn.execute(REQUIRED_INDEXES[name])
                            result.healed.append(name)
                except LockBudgetExceeded:
                    result.deferred[name] = (
                        f"building it on {rows:,} rows needs the write lock for more than "
                        f"{lock_budget_s:g} s"
                    )
        except sqlite3.Error as exc:
            raise DatabaseFileError(f"cannot create indexes in {path}: {exc}") from exc
        finally:
            conn.close()
    result.duration_ms = round((time.perf_counter() - started) * 1000, 1)
    return result


def has_statistics(path: Path, busy_timeout_s: float = 5.0) -> bool:
    """True when the file carries planner statistics for the production table and every index.

    An index built after the last ANALYZE has none, so the file is due again.
    """
    with reading(path, busy_timeout_s) as conn:
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='sqlite_stat1'"
        ).fetchone()
        if not exists:
            return False
        stats = conn.execute("SELECT idx FROM sqlite_stat1 WHERE tbl=?", (TABLE,))
        analyzed = {r[0] for r in stats}
        indexes = {
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name=?", (TABLE,)
            )
        }
        return bool(analyzed) and indexes <= analyzed


def analyze(
    path: Path,
    busy_timeout_s: float = 10.0,
    analysis_limit: int = 0,
    lock_budget_s: float | None = WRITE_LOCK_BUDGET_S,
) -> float:
    """Run `ANALYZE production_records` on a file; returns the duration in milliseconds.

    ANALYZE holds the write lock while it runs: `analysis_limit` (rows sampled per index, 0 = all)
    keeps it short on large files, and `lock_budget_s` rolls it back (LockBudgetExceeded) if it
    would still hold the ERP up longer.
    """
    started = time.perf_counter()
    conn = connect_rw(path, busy_timeout_s)
    conn.isolation_level = None
    try:
        require_table(conn, path)
        conn.execute(f"PRAGMA analysis_limit={int(analysis_limit)}")
        with bounded_write(conn, lock_budget_s):
            conn.execute(f"ANALYZE {TABLE}")
    except LockBudgetExceeded as exc:
        raise LockBudgetExceeded(f"ANALYZE of {path} {exc}") from exc
    except sqlite3.Error as exc:
        raise DatabaseFileError(f"ANALYZE failed on {path}: {exc}") from exc
    finally:
        conn.close()
    return round((time.perf_counter() - started) * 1000, 1)


def integrity_check(
    path: Path, quick: bool = False, busy_timeout_s: float = 5.0, shared: bool = False
) -> list[str]:
    """Messages of `PRAGMA integrity_check` (or quick_check); `["ok"]` for a sound file.

    `shared`: the ERP may be writing the file, so the check must not hold its writer up (see
    `snapshots.long_reading`).
    """
    pragma = "quick_check" if quick else "integrity_check"
    try:
        with long_reading(path, busy_timeout_s, shared=shared) as conn:
            conn.execute(f"PRAGMA mmap_size={CHECK_MMAP_BYTES}")  # pages by memory map: faster
            return [row[0] for row in conn.execute(f"PRAGMA {pragma}")]
    except DatabaseFileError as exc:  # e.g. the file does not exist
        return [str(exc)]
    except sqlite3.DatabaseError as exc:
        return [f"{type(exc).__name__}: {exc}"]


def is_ok(messages: list[str]) -> bool:
    """True when an integrity/quick check reported exactly `ok`."""
    return messages == ["ok"]


@dataclass
class CheckpointResult:
    """WAL sizes around a checkpoint."""

    path: str
    before_bytes: int
    after_bytes: int
    busy: bool


def checkpoint(path: Path, busy_timeout_s: float = 0.5) -> CheckpointResult:
    """Copy the WAL back into the database and truncate it.

    A PASSIVE checkpoint first (never waits for the ERP), then TRUNCATE with a short busy timeout so
    a writer is held up for at most `busy_timeout_s`.
    """
    before = wal_size(path)
    conn = connect_rw(path, busy_timeout_s)
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] != 0
    except sqlite3.OperationalError:
        busy = True
    finally:
        conn.close()
    return CheckpointResult(str(path), before, wal_size(path), busy)


def free_disk_gb(folder: Path) -> float:
    """Free space of the file system holding `folder`, in GB."""
    return round(shutil.disk_usage(folder).free / GB, 2)


@dataclass
class RowsBeforeCutoff:
    """Rows of the live file dated before the cutoff (they are not counted from the live file)."""

    rows: int = 0
    not_in_archive: int = 0  # of those, rows no archive holds: counted nowhere
    unreadable: list[str] = field(default_factory=list)  # archives that could not be compared


def live_rows_before_cutoff(layout: DbLayout, busy_timeout_s: float = 5.0) -> RowsBeforeCutoff:
    """Count the live file's rows before the cutoff and those that no archive holds.

    The ERP often sends the end of the previous year again; such rows are harmless duplicates of
    archived rows. A row that is in no archive (same day, time, lot and item) is data that the
    summaries do not see at all.
    """
    result = RowsBeforeCutoff()
    if layout.cutoff is None:
        return result
    with long_reading(layout.live.path, busy_timeout_s) as conn:
        require_table(conn, layout.live.path)
        result.rows = int(
            conn.execute(
                f"SELECT COUNT(*) FROM {TABLE} WHERE production_date < ?", (layout.cutoff,)
            ).fetchone()[0]
        )
        if not result.rows:
            return result
        for archive in layout.archives:
            if not archive.path.exists():
                continue
            try:
                result.not_in_archive += _rows_missing_from(conn, archive)
            except sqlite3.DatabaseError as exc:
                result.unreadable.append(f"{archive.name}: {exc}")
    return result


def _rows_missing_from(conn: sqlite3.Connection, archive: DbFile) -> int:
    """Rows of the live file in `archive`'s range that `archive` does not hold."""
    conn.execute("ATTACH DATABASE ? AS arch", (f"{archive.path.resolve().as_uri()}?mode=ro",))
    try:
        where, params = archive.bounds_sql("l.production_date")
        return int(
            conn.execute(
                f"""
                SELECT COUNT(*) FROM main.{TABLE} AS l
                WHERE {where} AND NOT EXISTS (
                    SELECT 1 FROM arch.{TABLE} AS a
                    WHERE a.production_date = l.production_date
                      AND a.item_code = l.item_code
                      AND a.lot_number IS l.lot_number
                )
                """,
                params,
            ).fetchone()[0]
        )
    finally:
        conn.execute("DETACH DATABASE arch")
