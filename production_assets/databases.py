"""The production SQLite files: layout, routing cutoff, schema, indexes and safe connections.

The live database (`production_analysis.db`) is owned by the ERP, which may rewrite or replace it at
any time. Archives are found by name (`archive_YYYY.db`). The cutoff is derived from the files: the
year after the newest archive. Each archive covers the years after the previous archive up to its
year, the live file covers the cutoff onwards, and every read applies these bounds on both sides so
prior-year rows that reappear in the live file are never counted twice.

Plain Python: nothing here imports Dagster.
"""

import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

LIVE_DB_NAME = "production_analysis.db"
TABLE = "production_records"
ARCHIVE_NAME_RE = re.compile(r"^archive_(\d{4})\.db$")

SCHEMA_SQL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    production_date TEXT NOT NULL,
    lot_number TEXT,
    item_code TEXT NOT NULL,
    item_name TEXT,
    good_quantity REAL DEFAULT 0
)
"""
REQUIRED_COLUMNS = ("production_date", "item_code", "item_name", "good_quantity", "lot_number")

# The required index set: every database file, live and archive, carries all of them.
REQUIRED_INDEXES: dict[str, str] = {
    "idx_production_date": f"CREATE INDEX IF NOT EXISTS idx_production_date ON {TABLE}"
    "(production_date)",
    "idx_item_code": f"CREATE INDEX IF NOT EXISTS idx_item_code ON {TABLE}(item_code)",
    "idx_production_date_item": "CREATE INDEX IF NOT EXISTS idx_production_date_item ON "
    f"{TABLE}(production_date, item_code)",
    "idx_lot_number": f"CREATE INDEX IF NOT EXISTS idx_lot_number ON {TABLE}(lot_number)",
    "idx_agg_covering": "CREATE INDEX IF NOT EXISTS idx_agg_covering ON "
    f"{TABLE}(item_code, production_date, good_quantity)",
    "idx_date_qty": f"CREATE INDEX IF NOT EXISTS idx_date_qty ON {TABLE}(production_date, "
    "good_quantity)",
}


DEFAULT_BUSY_TIMEOUT_S = 5.0
# Longest time the platform may hold a file's lock against the ERP's writer in one go (the ERP
# must never wait a second), and the pause between two such holds: longer than the busy
# handler's longest sleep (100 ms), so a writer that was waiting gets its turn.
WRITE_LOCK_BUDGET_S = 0.6
WRITER_TURN_S = 0.2


class DatabaseFileError(RuntimeError):
    """A database file is missing, unreadable or not a production database."""


@dataclass(frozen=True)
class DbFile:
    """One database file and the date range [start, end) it is responsible for."""

    name: str
    path: Path
    kind: str  # "live" or "archive"
    year: int | None = None  # archive year
    start: str | None = None  # inclusive ISO date, None = unbounded
    end: str | None = None  # exclusive ISO date, None = unbounded

    @property
    def backup_prefix(self) -> str:
        """Prefix of this file's backups: `production` for live, `archive_YYYY` for archives."""
        return "production" if self.kind == "live" else f"archive_{self.year}"

    def bounds_sql(self, column: str = "production_date") -> tuple[str, list[str]]:
        """SQL predicate (and parameters) restricting rows to this file's date range."""
        clauses: list[str] = []
        params: list[str] = []
        if self.start is not None:
            clauses.append(f"{column} >= ?")
            params.append(self.start)
        if self.end is not None:
            clauses.append(f"{column} < ?")
            params.append(self.end)
        return (" AND ".join(clauses) or "1=1"), params


@dataclass(frozen=True)
class DbLayout:
    """The live file and the archives of one database folder, with their routing ranges."""

    db_dir: Path
    live: DbFile
    archives: tuple[DbFile, ...] = field(default_factory=tuple)

    @property
    def cutoff_year(self) -> int | None:
        """First year served by the live file (newest archive year + 1); None without archives."""
        return self.archives[-1].year + 1 if self.archives else None  # type: ignore[operator]

    @property
    def cutoff(self) -> str | None:
        """The cutoff date (`YYYY-01-01`) or None when every row belongs to the live file."""
        year = self.cutoff_year
        return f"{year}-01-01" if year is not None else None

    @property
    def files(self) -> tuple[DbFile, ...]:
        """Archives (oldest first), then the live file."""
        return (*self.archives, self.live)

    @property
    def backup_dir(self) -> Path:
        """Default folder of the backups."""
        return self.db_dir / "backups"

    def archive(self, year: int) -> DbFile | None:
        """The archive of `year`, if present."""
        return next((a for a in self.archives if a.year == year), None)


def discover(db_dir: Path, live_name: str = LIVE_DB_NAME) -> DbLayout:
    """Find the live file and every `archive_YYYY.db` in `db_dir` and assign their ranges."""
    db_dir = Path(db_dir)
    years = sorted(
        int(m.group(1))
        for entry in (os.listdir(db_dir) if db_dir.is_dir() else [])
        if (m := ARCHIVE_NAME_RE.match(entry)) and (db_dir / entry).is_file()
    )
    archives: list[DbFile] = []
    previous: int | None = None
    for year in years:
        archives.append(
            DbFile(
                name=f"archive_{year}.db",
                path=db_dir / f"archive_{year}.db",
                kind="archive",
                year=year,
                start=f"{previous + 1}-01-01" if previous is not None else None,
                end=f"{year + 1}-01-01",
            )
        )
        previous = year
    live = DbFile(
        name=live_name,
        path=db_dir / live_name,
        kind="live",
        start=f"{previous + 1}-01-01" if previous is not None else None,
    )
    return DbLayout(db_dir=db_dir, live=live, archives=tuple(archives))


def signature(path: Path) -> tuple[int, ...] | None:
    """(mtime ns, size) of a file and of its non-empty WAL, or None when the file does not exist.

    In WAL mode a commit only touches `<file>-wal` until a checkpoint, so the WAL is part of what
    a change looks like; an empty WAL (as a reader leaves it) counts as none.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    try:
        wal = os.stat(f"{path}-wal")
        wal_sig = (wal.st_mtime_ns, wal.st_size) if wal.st_size else (0, 0)
    except FileNotFoundError:
        wal_sig = (0, 0)
    return st.st_mtime_ns, st.st_size, *wal_sig


def wal_path(path: Path) -> Path:
    """The write-ahead log next to a database file."""
    return Path(f"{path}-wal")


def wal_size(path: Path) -> int:
    """Size of the file's WAL in bytes (0 when there is none)."""
    try:
        return os.stat(wal_path(path)).st_size
    except FileNotFoundError:
        return 0


def _uri(path: Path, mode: str) -> str:
    return f"{Path(path).resolve().as_uri()}?mode={mode}"


def connect_ro(path: Path, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> sqlite3.Connection:
    """A read-only connection with a busy timeout; a missing file raises DatabaseFileError."""
    path = Path(path)
    if not path.is_file():
        raise DatabaseFileError(f"database file {path} does not exist")
    try:
        conn = sqlite3.connect(_uri(path, "ro"), uri=True, timeout=busy_timeout_s)
        conn.execute("PRAGMA query_only = ON")
    except sqlite3.Error as exc:
        raise DatabaseFileError(f"cannot open {path} read-only: {exc}") from exc
    return conn


def connect_rw(path: Path, busy_timeout_s: float = 10.0) -> sqlite3.Connection:
    """A read-write connection to an existing file (never creates one)."""
    path = Path(path)
    if not path.is_file():
        raise DatabaseFileError(f"database file {path} does not exist")
    try:
        return sqlite3.connect(_uri(path, "rw"), uri=True, timeout=busy_timeout_s)
    except sqlite3.Error as exc:
        raise DatabaseFileError(f"cannot open {path} for writing: {exc}") from exc


@contextmanager
def reading(
    path: Path, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S
) -> Iterator[sqlite3.Connection]:
    """Context manager around `connect_ro` that always closes the connection.

    A SQLite error raised while reading (a corrupt page, a lock held past the busy timeout) becomes
    a DatabaseFileError naming the file, so the step reports which file failed.
    """
    conn = connect_ro(path, busy_timeout_s)
    try:
        yield conn
    except sqlite3.Error as exc:
        raise DatabaseFileError(f"{path}: {type(exc).__name__}: {exc}") from exc
    finally:
        conn.close()


def require_table(conn: sqlite3.Connection, path: Path) -> None:
    """Raise DatabaseFileError unless `production_records` exists with the required columns."""
    try:
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({TABLE})")}
    except sqlite3.DatabaseError as exc:
        raise DatabaseFileError(f"{path} is not a readable SQLite database: {exc}") from exc
    if not columns:
        raise DatabaseFileError(f"{path} has no table {TABLE}")
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise DatabaseFileError(f"{path}: table {TABLE} lacks column(s) {', '.join(missing)}")


def create_schema(conn: sqlite3.Connection) -> None:
    """Create the production table and every required index (idempotent)."""
    conn.execute(SCHEMA_SQL)
    for ddl in REQUIRED_INDEXES.values():
        conn.execute(ddl)


@dataclass(frozen=True)
class FileStats:
    """What an observation reports about one database file."""

    name: str
    path: str
    mtime: float
    size_bytes: int
    row_count: int
    min_date: str | None
    max_date: str | None
    rows_outside_range: int

    def as_dict(self) -> dict[str, object]:
        """Plain dict for metadata."""
        return dict(self.__dict__)


def file_stats(db: DbFile, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> FileStats:
    """Row count, date range and size of one file, read in one read-only transaction."""
    with reading(db.path, busy_timeout_s) as conn:
        require_table(conn, db.path)
        st = os.stat(db.path)
        count, min_date, max_date = conn.execute(
            f"SELECT COUNT(*), MIN(production_date), MAX(production_date) FROM {TABLE}"
        ).fetchone()
        where, params = db.bounds_sql()
        inside = conn.execute(f"SELECT COUNT(*) FROM {TABLE} WHERE {where}", params).fetchone()[0]
    return FileStats(
        name=db.name,
        path=str(db.path),
        mtime=st.st_mtime,
        size_bytes=st.st_size,
        row_count=int(count),
        min_date=min_date,
        max_date=max_date,
        rows_outside_range=int(count) - int(inside),
    )


def row_count(path: Path, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> int:
    """Number of production rows in a file."""
    with reading(path, busy_timeout_s) as conn:
        require_table(conn, path)
        return int(conn.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()[0])
