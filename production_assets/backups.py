"""Verified backups of the production SQLite files, their retention, and restore.

Backups are consistent copies (see `snapshots`: a file copy under a read snapshot, or SQLite's
online backup API), verified with `PRAGMA integrity_check`: the check that decides whether a backup
is worth keeping. Unlike `quick_check` it also verifies that every index holds exactly the rows of
its table, the damage a changed table byte causes, and it is the check a restore makes, so a
backup that passed it can be restored. Only a verified copy gets the name
`{prefix}_YYYYMMDD_HHMMSS.db` (KST); a copy that fails the check is kept for salvage as
`{prefix}_YYYYMMDD_HHMMSS.unverified.db`, and retention never deletes the newest verified backup
of a file, whatever the count. A partial file never survives. Plain Python: nothing here imports
Dagster.
"""

import datetime as dt
import os
import re
import shutil
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from production_assets.databases import (
    TABLE,
    DatabaseFileError,
    connect_ro,
    connect_rw,
    require_table,
)
from production_assets.maintenance import integrity_check, is_ok
from production_assets.snapshots import MAX_COPY_S, consistent_copy, remove_copy
from resources.kst import KST, now_kst

STAMP_FORMAT = "%Y%m%d_%H%M%S"
# A partial file untouched for this long was left by a backup that was killed (a running backup
# writes to its partial file continuously).
STALE_PARTIAL_S = 3600.0


class BackupError(RuntimeError):
    """A backup or restore could not be made or did not verify."""


@dataclass(frozen=True)
class BackupResult:
    """One verified backup."""

    source: str
    path: str
    rows: int
    size_bytes: int
    duration_s: float
    integrity_check: str
    method: str


UNVERIFIED_SUFFIX = ".unverified.db"
# Backups of any file: (prefix, timestamp), verified or not.
ANY_BACKUP = re.compile(r"^(production|archive_\d{4})_(\d{8}_\d{6})(?:\.unverified)?\.db$")


def backup_pattern(prefix: str) -> re.Pattern[str]:
    """Regex matching exactly the backups of `prefix`, verified or not (capturing the timestamp)."""
    return re.compile(rf"^{re.escape(prefix)}_(\d{{8}}_\d{{6}})(?:\.unverified)?\.db$")


def is_verified(path: Path) -> bool:
    """True for a backup that passed integrity_check (its name has no `.unverified`)."""
    return not path.name.endswith(UNVERIFIED_SUFFIX)


def backup_prefixes(backup_dir: Path) -> set[str]:
    """Prefixes of every file that has a backup in `backup_dir`."""
    if not backup_dir.is_dir():
        return set()
    return {m.group(1) for entry in os.listdir(backup_dir) if (m := ANY_BACKUP.match(entry))}


def list_backups(backup_dir: Path, prefix: str) -> list[tuple[dt.datetime, Path]]:
    """Backups of `prefix`, newest first, ordered by the timestamp in their name."""
    pattern = backup_pattern(prefix)
    found: list[tuple[dt.datetime, Path]] = []
    if not backup_dir.is_dir():
        return found
    for entry in os.listdir(backup_dir):
        match = pattern.match(entry)
        if match:
            stamp = dt.datetime.strptime(match.group(1), STAMP_FORMAT).replace(tzinfo=KST)
            found.append((stamp, backup_dir / entry))
    return sorted(found, reverse=True)


def apply_retention(backup_dir: Path, prefix: str, keep: int) -> list[str]:
    """Delete all but the `keep` newest backups of `prefix`; returns the deleted file names.

    The newest verified backup is kept outside the count: when the file went bad, the backups
    made since (unverified) never push out the last copy that can be restored.
    """
    if keep < 1:
        raise ValueError("retention must keep at least one backup")
    found = list_backups(backup_dir, prefix)
    last_good = next((path for _, path in found if is_verified(path)), None)
    deleted = []
    for _, path in found[keep:]:
        if path == last_good:
            continue
        path.unlink(missing_ok=True)
        deleted.append(path.name)
    return deleted


def future_backups(backup_dir: Path, prefix: str, now: dt.datetime | None = None) -> list[str]:
    """Backups of `prefix` whose name carries a time after `now` (a wrong clock, a copy by hand)."""
    now = now or now_kst()
    return [path.name for stamp, path in list_backups(backup_dir, prefix) if stamp > now]


def newest_backup(
    backup_dir: Path, prefix: str, now: dt.datetime | None = None, verified_only: bool = False
) -> tuple[dt.datetime, Path] | None:
    """The newest backup of `prefix` whose time is not in the future, or None."""
    now = now or now_kst()
    return next(
        (
            (stamp, path)
            for stamp, path in list_backups(backup_dir, prefix)
            if stamp <= now and (is_verified(path) or not verified_only)
        ),
        None,
    )


def last_change(source: Path) -> float:
    """When a database last changed: its WAL's mtime when the WAL holds frames, else the file's.

    In WAL mode a commit only writes `<file>-wal` until a checkpoint, so the main file's mtime
    alone misses changes.
    """
    changed = os.stat(source).st_mtime
    try:
        wal = os.stat(f"{source}-wal")
    except FileNotFoundError:
        return changed
    return max(changed, wal.st_mtime) if wal.st_size else changed


def is_current(source: Path, backup_dir: Path, prefix: str, now: dt.datetime | None = None) -> bool:
    """True when the newest verified backup of `prefix` was started after the source last changed.

    A backup whose name carries a future time is not taken into account: it would otherwise cover
    every change until that time. Nor is an unverified one: a damaged file is copied and reported
    again on every run until it is repaired.
    """
    newest = newest_backup(backup_dir, prefix, now, verified_only=True)
    if newest is None:
        return False
    mtime = dt.datetime.fromtimestamp(last_change(source), KST).replace(microsecond=0)
    return mtime < newest[0]


def remove_stale_partials(backup_dir: Path, prefix: str, now: float | None = None) -> list[str]:
    """Delete partial files of `prefix` left behind by a killed backup; returns their names."""
    pattern = re.compile(rf"^\.{re.escape(prefix)}_\d{{8}}_\d{{6}}\.db\.partial$")
    now = time.time() if now is None else now
    removed = []
    for entry in os.listdir(backup_dir) if backup_dir.is_dir() else []:
        path = backup_dir / entry
        if pattern.match(entry):
            try:
                if now - path.stat().st_mtime > STALE_PARTIAL_S:
                    path.unlink()
                    removed.append(entry)
            except FileNotFoundError:
                pass  # finished or removed meanwhile
    return removed


def _free_name(backup_dir: Path, prefix: str, when: dt.datetime | None) -> str:
    """`{prefix}_YYYYMMDD_HHMMSS.db` for the start time; never a name that is taken.

    On the real clock a taken name means waiting for the next second (a stamp in the future would
    claim to cover changes that have not happened yet); with an explicit time the stamp moves on.
    """
    stamp = (when or now_kst()).astimezone(KST).replace(microsecond=0)
    while any(
        (backup_dir / f"{prefix}_{stamp.strftime(STAMP_FORMAT)}{end}").exists()
        for end in (".db", UNVERIFIED_SUFFIX)
    ):
        if when is None:
            time.sleep(1.0 - time.time() % 1.0 + 0.001)
            stamp = now_kst().replace(microsecond=0)
        else:
            stamp += dt.timedelta(seconds=1)
    return f"{prefix}_{stamp.strftime(STAMP_FORMAT)}.db"


def fsync_file(path: Path) -> None:
    """Flush a finished file to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup_database(
    source: Path,
    backup_dir: Path,
    prefix: str,
    now: dt.datetime | None = None,
    busy_timeout_s: float = 5.0,
    max_copy_s: float = MAX_COPY_S,
) -> BackupResult:
    """Make one verified backup `{prefix}_YYYYMMDD_HHMMSS.db` of `source` in `backup_dir`."""
    started = time.perf_counter()
    backup_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(backup_dir, prefix)
    source_size = os.stat(source).st_size if source.exists() else 0
    if shutil.disk_usage(backup_dir).free < source_size * 1.1:
        raise BackupError(f"not enough free space in {backup_dir} to back up {source}")
    name = _free_name(backup_dir, prefix, now)
    final = backup_dir / name
    partial = backup_dir / f".{name}.partial"
    try:
        src = connect_ro(source, busy_timeout_s)
        try:
            require_table(src, source)
        finally:
            src.close()
        try:
            method = consistent_copy(source, partial, busy_timeout_s, max_copy_s=max_copy_s)
        except (sqlite3.Error, OSError) as exc:
            raise BackupError(f"backup of {source} failed: {exc}") from exc
        # Writing the copy to disk (I/O) and checking it (CPU, from the page cache) overlap.
        with ThreadPoolExecutor(1) as pool:
            synced = pool.submit(fsync_file, partial)
            messages = integrity_check(partial)
            if is_ok(messages):
                check = sqlite3.connect(f"{partial.resolve().as_uri()}?mode=ro", uri=True)
                try:
                    rows = int(check.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()[0])
                finally:
                    check.close()
            synced.result()
        if not is_ok(messages):
            kept = final.with_name(final.name[: -len(".db")] + UNVERIFIED_SUFFIX)
            os.replace(partial, kept)
            raise BackupError(
                f"{source} fails integrity_check ({'; '.join(messages[:5])}): its copy is kept "
                f"for salvage as {kept.name}, and the newest verified backup is kept whatever the "
                "retention"
            )
        os.replace(partial, final)
    except BaseException:
        remove_copy(partial)
        raise
    return BackupResult(
        source=str(source),
        path=str(final),
        rows=rows,
        size_bytes=os.stat(final).st_size,
        duration_s=round(time.perf_counter() - started, 3),
        integrity_check="ok",
        method=method,
    )


def verify_backup(path: Path) -> int:
    """Full integrity check of a backup file; returns its row count or raises BackupError."""
    if not path.is_file():
        raise BackupError(f"backup file {path} does not exist")
    messages = integrity_check(path)
    if not is_ok(messages):
        raise BackupError(f"backup {path} failed integrity_check: {'; '.join(messages[:5])}")
    try:
        conn = connect_ro(path)
        try:
            require_table(conn, path)
            return int(conn.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()[0])
        finally:
            conn.close()
    except DatabaseFileError as exc:
        raise BackupError(str(exc)) from exc


def retire_wal(path: Path, busy_timeout_s: float = 1.0) -> str | None:
    """Before a file is swapped out: checkpoint its WAL and leave rollback-journal mode.

    Returns the file's journal mode, or None when the file could not be opened as a database (a
    corrupt file: its WAL is moved aside with it). Raises BackupError when another process keeps
    the file open, since a swapped file must not inherit a WAL that belongs to the old one.
    """
    if not path.exists():
        return None
    try:
        conn = connect_rw(path, busy_timeout_s)
    except DatabaseFileError:
        return None
    try:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if mode == "wal":
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            if conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0] != "delete":
                raise BackupError(f"{path} is in use by another process; cannot replace it now")
        return mode
    except sqlite3.OperationalError as exc:
        raise BackupError(
            f"{path} is in use by another process ({exc}); cannot replace it now"
        ) from exc
    except sqlite3.DatabaseError:
        return None
    finally:
        conn.close()


def set_aside(path: Path, suffix: str) -> Path | None:
    """Keep the current file (and any WAL/SHM) under `<name>.<suffix>`; returns the kept path."""
    if not path.exists():
        return None
    aside = path.with_name(f"{path.name}.{suffix}")
    n = 0
    while aside.exists():  # never overwrite a file kept earlier
        n += 1
        aside = path.with_name(f"{path.name}.{suffix}.{n}")
    try:
        os.link(path, aside)
    except OSError:
        shutil.copy2(path, aside)
    for extra in ("-wal", "-shm"):
        companion = Path(f"{path}{extra}")
        if companion.exists():
            os.replace(companion, Path(f"{aside}{extra}"))
    return aside


@dataclass(frozen=True)
class RestoreResult:
    """A completed restore."""

    backup: str
    target: str
    rows: int
    replaced_kept_as: str | None
    journal_mode: str = "delete"


def restore_backup(backup: Path, target: Path, now: dt.datetime | None = None) -> RestoreResult:
    """Put a verified backup in place of `target`, keeping the replaced file aside.

    The backup is integrity-checked, copied next to the target, checked again and swapped in with an
    atomic rename; the replaced file stays as `<name>.replaced_YYYYMMDD_HHMMSS`.
    """
    rows = verify_backup(backup)
    stamp = (now or now_kst()).astimezone(KST).strftime(STAMP_FORMAT)
    staged = target.with_name(f".{target.name}.restore.tmp")
    staged.unlink(missing_ok=True)
    try:
        consistent_copy(backup, staged)
        messages = integrity_check(staged, quick=True)
        if not is_ok(messages):
            raise BackupError(f"restored copy of {backup} failed quick_check: {messages[:5]}")
        fsync_file(staged)
        journal_mode = retire_wal(target)
        if journal_mode == "wal":
            # The restored file keeps the replaced file's journal mode: the ERP and the backups
            # (which copy a WAL file without holding its writer up) rely on it.
            _set_wal(staged)
        kept = set_aside(target, f"replaced_{stamp}")
        os.replace(staged, target)
    except BaseException:
        remove_copy(staged)
        raise
    return RestoreResult(
        str(backup), str(target), rows, str(kept) if kept else None, journal_mode or "delete"
    )


def _set_wal(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        if conn.execute("PRAGMA journal_mode=WAL").fetchone()[0] != "wal":
            raise BackupError(f"could not put {path} in WAL mode")
    finally:
        conn.close()
    _remove_companions(path)


def _remove_companions(path: Path) -> None:
    """Delete the empty -wal/-shm files SQLite leaves next to a closed WAL file."""
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
