"""Consistent copies of a database the ERP may be writing, without holding the ERP up.

Two ways to copy, fastest first:

- A file copy under a read transaction. In WAL mode the main file and the WAL are copied while a
  read snapshot is held; opening the copy replays its WAL (recovery keeps only whole, checksummed
  transactions) and folding it back leaves one self-contained file. Writers never wait for a WAL
  reader. In rollback-journal mode the read lock does block the ERP's commits, so the copy is
  abandoned when it would hold the lock longer than the write-lock budget.
- SQLite's online backup API, in steps short enough to let a writer in between them. A commit by
  the writer restarts the copy (SQLite does), so it finishes once the file stays unchanged for
  one whole pass, however often it changed before; a file that never does fails after
  MAX_COPY_S with a message that says so, and the next run tries again.

`long_reading` uses the same copies so a long query (integrity check, digests, totals) on a
rollback-journal file reads a private snapshot instead of blocking the ERP. Plain Python: nothing
here imports Dagster.
"""

import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from production_assets.databases import (
    WRITE_LOCK_BUDGET_S,
    WRITER_TURN_S,
    DatabaseFileError,
    connect_ro,
    reading,
    wal_path,
)

# Pages copied per step of the online backup API (16 MB of 4 KB pages: a few tens of ms).
STEP_PAGES = 4096
# Longest an online backup of a rollback-journal file keeps trying while the writer changes it.
MAX_COPY_S = 300.0
COPY_CHUNK = 64 * 1024 * 1024
WAL_HEADER_OFFSET = 18  # bytes 18-19 of the database header: 2 and 2 in WAL mode


class OverBudget(Exception):
    """A copy under the read lock would have blocked the writer longer than the budget."""


def uses_wal(path: Path) -> bool:
    """True when the database file is in WAL mode (read from its header, without opening it)."""
    with open(path, "rb") as handle:
        handle.seek(WAL_HEADER_OFFSET)
        return handle.read(2) == b"\x02\x02"


def _copy_fd(
    src_fd: int, dest_fd: int, size: int | None = None, deadline: float | None = None
) -> int:
    """Copy `size` bytes (None: up to the end of the file), in the kernel where possible.

    Raises OverBudget when `deadline` (time.monotonic) passes before the copy is finished.
    """
    copied = 0
    end = size if size is not None else os.fstat(src_fd).st_size
    kernel = hasattr(os, "copy_file_range")
    while copied < end:
        if deadline is not None and time.monotonic() > deadline:
            raise OverBudget
        want = min(COPY_CHUNK, end - copied)
        n = 0
        if kernel:
            try:
                n = os.copy_file_range(src_fd, dest_fd, want, copied, copied)
            except OSError:
                kernel = False  # e.g. not supported by this file system: read and write
        if not kernel:
            chunk = os.pread(src_fd, want, copied)
            n = os.pwrite(dest_fd, chunk, copied) if chunk else 0
        if n == 0:
            break  # end of file (a checkpoint may shrink the main file of a WAL database)
        copied += n
    if size is not None and copied != size:
        raise OSError(f"copied {copied} of {size} bytes")
    return copied


def _copy_file(src_fd: int, dest_path: Path, deadline: float | None = None) -> None:
    fd = os.open(dest_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        _copy_fd(src_fd, fd, None, deadline)
    finally:
        os.close(fd)


def remove_copy(path: Path) -> None:
    """Delete a copy and any WAL or shared-memory file SQLite left next to it."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def fold(path: Path) -> None:
    """Make a copied database one self-contained rollback-journal file (replays a copied WAL).

    Without syncs: a copy is private until its owner has flushed it to disk (a backup does, once).
    """
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
    finally:
        conn.close()
    if mode != "delete" or wal_path(path).exists():
        raise sqlite3.OperationalError(f"could not fold the WAL of the copy {path}")


def file_copy_snapshot(
    source: Path,
    dest_path: Path,
    busy_timeout_s: float = 5.0,
    lock_budget_s: float = WRITE_LOCK_BUDGET_S,
) -> str | None:
    """Copy `source` as of one read snapshot into a new file; returns how, or None if it could not.

    WAL mode: while the read transaction holds its WAL read mark, a checkpoint only writes frames
    that are part of the snapshot into the main file and the WAL cannot be restarted under it, so
    the main file plus the WAL (copied after it) replay to the snapshot or to a later whole
    transaction, never to a mix. None when the file was replaced meanwhile or, in rollback-journal
    mode, when copying under the read lock would exceed `lock_budget_s`; the caller then uses the
    online backup API.
    """
    with open(source, "rb") as handle:
        inode = os.fstat(handle.fileno()).st_ino
        src = connect_ro(source, busy_timeout_s)
        wal = None
        try:
            mode = src.execute("PRAGMA journal_mode").fetchone()[0]
            src.execute("BEGIN")
            src.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # takes the snapshot
            if mode == "wal":
                with suppress(FileNotFoundError):
                    wal = open(wal_path(source), "rb")
            if os.stat(source).st_ino != inode:
                return None  # replaced since it was opened: the WAL at the path is not its own
            deadline = None if mode == "wal" else time.monotonic() + lock_budget_s
            _copy_file(handle.fileno(), dest_path, deadline)
            method = "file copy under a read snapshot"
            if wal is not None and os.fstat(wal.fileno()).st_size:
                _copy_file(wal.fileno(), wal_path(dest_path))
                method = "file copy of the database and its WAL under a read snapshot"
        except OverBudget:
            remove_copy(dest_path)
            return None
        except BaseException:
            remove_copy(dest_path)
            raise
        finally:
            if wal is not None:
                wal.close()
            src.close()
    try:
        fold(dest_path)
    except BaseException:
        remove_copy(dest_path)
        raise
    return method


def copy_database(
    src: sqlite3.Connection,
    dest_path: Path,
    max_seconds: float = MAX_COPY_S,
    clock: Callable[[], float] = time.monotonic,
    on_step: Callable[[], None] | None = None,
    step_pages: int = STEP_PAGES,
) -> None:
    """Consistent copy of an open database into a new file with the online backup API.

    A WAL source is copied in one step from a read snapshot (writers keep writing). A rollback
    journal source is copied in steps of `step_pages`; the read lock is held for one step at a time
    and released in between, so a writer waits for one step at most. A commit between two steps
    makes SQLite start the copy again; the copy is complete when one whole pass ran without one.
    It gives up once `max_seconds` of `clock` have passed, with a message naming the file and how
    often it changed. `on_step` is called between steps, while no lock is held.
    """
    mode = src.execute("PRAGMA journal_mode").fetchone()[0]
    source = src.execute("PRAGMA database_list").fetchone()[2]
    src.execute("PRAGMA mmap_size=268435456")  # read pages by memory map, as the ERP's readers do
    dest = sqlite3.connect(dest_path)
    # The destination is a new file that is thrown away on any failure: no journal, no syncs while
    # copying (the caller syncs the finished file once).
    dest.execute("PRAGMA journal_mode=OFF")
    dest.execute("PRAGMA synchronous=OFF")
    try:
        if mode == "wal":
            src.backup(dest)
        else:
            deadline = clock() + max_seconds
            state = {"remaining": None, "restarts": 0}

            def progress(status: int, remaining: int, total: int) -> None:
                last = state["remaining"]
                if last is not None and remaining >= last:  # no progress: a commit restarted it
                    state["restarts"] += 1
                state["remaining"] = remaining
                if remaining and clock() > deadline:
                    raise sqlite3.OperationalError(
                        f"{source}: no consistent copy within {max_seconds:g} s: the file was "
                        f"changed {state['restarts']} time(s) while it was copied, and a copy "
                        f"needs it unchanged for one whole pass ({total} pages). The ERP was "
                        "never held up; the next run tries again"
                    )
                if remaining and on_step is not None:
                    on_step()

            src.backup(dest, pages=step_pages, progress=progress, sleep=WRITER_TURN_S)
        dest.execute("PRAGMA journal_mode=DELETE")
    finally:
        dest.close()


def consistent_copy(
    source: Path,
    dest_path: Path,
    busy_timeout_s: float = 5.0,
    lock_budget_s: float = WRITE_LOCK_BUDGET_S,
    max_copy_s: float = MAX_COPY_S,
) -> str:
    """Copy `source` as of one moment into `dest_path` by the fastest safe way; returns which."""
    method = file_copy_snapshot(source, dest_path, busy_timeout_s, lock_budget_s)
    if method is not None:
        return method
    src = connect_ro(source, busy_timeout_s)
    try:
        copy_database(src, dest_path, max_copy_s)
    except BaseException:
        remove_copy(dest_path)
        raise
    finally:
        src.close()
    return "online backup API"


@contextmanager
def long_reading(
    path: Path,
    busy_timeout_s: float = 5.0,
    shared: bool = True,
    lock_budget_s: float = WRITE_LOCK_BUDGET_S,
) -> Iterator[sqlite3.Connection]:
    """A read-only connection for a long query that must not hold the ERP up.

    In WAL mode (or when `shared` is False: nobody else writes the file) it reads `path` itself. A
    rollback-journal file that the ERP writes is read from a private consistent copy instead: a
    reader there would block every commit for as long as the query runs.
    """
    path = Path(path)
    if not path.is_file():
        raise DatabaseFileError(f"database file {path} does not exist")
    if not shared or uses_wal(path):
        with reading(path, busy_timeout_s) as conn:
            yield conn
        return
    with tempfile.TemporaryDirectory(prefix="production-snapshot-") as folder:
        copy = Path(folder) / path.name
        try:
            consistent_copy(path, copy, busy_timeout_s, lock_budget_s)
        except sqlite3.Error as exc:
            raise DatabaseFileError(f"{path}: cannot take a snapshot to read: {exc}") from exc
        try:
            with reading(copy, busy_timeout_s) as conn:
                yield conn
        except DatabaseFileError as exc:  # name the live file, not the private copy
            raise DatabaseFileError(str(exc).replace(str(copy), str(path))) from exc
