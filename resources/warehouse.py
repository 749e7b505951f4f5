"""PostgreSQL warehouse resource: bulk COPY, transactional partition replace and upsert."""

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import sqlalchemy as sa
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter
from pydantic import Field

from resources.copy_format import binary_chunks, binary_schema, csv_chunks
from resources.embedded_pg import embedded_postgres_url, sqlalchemy_url

# Rows per CSV chunk handed to COPY: large enough to amortise per-call overhead, small enough that
# serialising the next chunk overlaps with the server ingesting the previous one.
COPY_CHUNK_ROWS = 100_000
# CSV chunks serialised ahead of the COPY (while the server deletes the old rows, say): at most this
# many wait in memory (a 100,000-row chunk of 10 columns is about 13 MB).
PREFETCH_CHUNKS = 12
# Advisory lock that serialises table creation across processes (any fixed number would do).
DDL_LOCK_KEY = 80_020_001

_engines: dict[tuple[str, str], sa.Engine] = {}
_engines_lock = threading.Lock()

TableRef = str | sa.Table


def engine_for(url: str, search_path: str) -> sa.Engine:
    """One pooled engine per (URL, search_path) and process."""
    key = (url, search_path)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = sa.create_engine(
                sqlalchemy_url(url),
                pool_pre_ping=True,
                connect_args={"options": f"-c search_path={search_path}"},
            )
            _engines[key] = engine
        return engine


def dispose_engines(search_path: str | None = None) -> int:
    """Close the pooled engines of `search_path` (all when None); returns how many were closed.

    A process that is done with a schema (a test, a benchmark) calls it so that the pools'
    idle connections do not add up on the server.
    """
    with _engines_lock:
        keys = [key for key in _engines if search_path is None or key[1] == search_path]
        engines = [_engines.pop(key) for key in keys]
    for engine in engines:
        engine.dispose()
    return len(engines)


def _qualified(table: TableRef) -> sql.Composable:
    if isinstance(table, sa.Table):
        parts = [table.schema, table.name] if table.schema else [table.name]
    else:
        parts = table.split(".")
    return sql.SQL(".").join(sql.Identifier(p) for p in parts)


def _column_list(columns: Sequence[str]) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(c) for c in columns)


class PrefetchedChunks:
    """The COPY CSV of frames, serialised on a worker thread ahead of the COPY that sends it.

    Started before the statements that precede the COPY in the transaction (the DELETE of a
    partition replace, the staging table of an upsert), so that the client's serialisation
    overlaps the server's work instead of waiting for it. At most PREFETCH_CHUNKS chunks are held.
    Frames given as an iterator are taken on the worker thread too (a generator that builds them
    lazily overlaps its work with the server's); `check` sees each frame before it is serialised
    and raises to refuse it; `serialise` writes a frame's chunks (CSV unless told). An error of
    the serialisation (a column that cannot be converted), of the check or of the generator is
    raised by the iteration.
    """

    _DONE = object()

    def __init__(
        self,
        frames: pd.DataFrame | Iterable[pd.DataFrame],
        chunk_rows: int | None = None,
        check: Callable[[pd.DataFrame], None] | None = None,
        serialise: Callable[[pd.DataFrame, int], Iterable[Any]] = csv_chunks,
    ) -> None:
        chunk_rows = chunk_rows or COPY_CHUNK_ROWS
        self._serialise = serialise
        if isinstance(frames, pd.DataFrame):
            frames = [frames]
        self.rows = 0  # rows serialised so far (all of them once the iteration has ended)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=PREFETCH_CHUNKS)
        self._cancelled = threading.Event()
        self._thread = threading.Thread(
            target=self._produce,
            args=(frames, chunk_rows, check),
            name="copy-serialise",
            daemon=True,
        )
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._cancelled.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(
        self,
        frames: Iterable[pd.DataFrame],
        chunk_rows: int,
        check: Callable[[pd.DataFrame], None] | None,
    ) -> None:
        try:
            for frame in frames:
                if check is not None:
                    check(frame)
                for chunk in self._serialise(frame, chunk_rows):
                    if not self._put(chunk):
                        return
                self.rows += len(frame)
            self._put(self._DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(exc)

    def __iter__(self) -> Iterator[memoryview]:
        while True:
            item = self._queue.get()
            if item is self._DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        """Stop the worker (when the COPY did not consume everything) and wait for it."""
        self._cancelled.set()
        self._thread.join()

    def __enter__(self) -> "PrefetchedChunks":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def copy_chunks(
    dbapi_conn: Any,
    table: TableRef,
    columns: Sequence[str],
    chunks: Iterable[memoryview | bytes],
    binary: bool = False,
) -> None:
    """COPY CSV (or binary) chunks into `table` (`columns`) on a raw psycopg connection.

    Runs in the connection's transaction. A psycopg worker thread sends each chunk while the next
    one is produced.
    """
    statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT {})").format(
        _qualified(table), _column_list(columns), sql.SQL("binary" if binary else "csv")
    )
    with dbapi_conn.cursor() as cur:
        with cur.copy(statement, writer=QueuedLibpqWriter(cur)) as copy:
            for chunk in chunks:
                copy.write(chunk)


def copy_rows(dbapi_conn: Any, table: TableRef, frame: pd.DataFrame) -> int:
    """COPY `frame` into `table` on a raw psycopg connection (inside its transaction).

    The frame's columns name the target columns. Serialisation runs on this thread while a
    psycopg worker thread sends the previous chunk.
    """
    copy_chunks(
        dbapi_conn, table, [str(c) for c in frame.columns], csv_chunks(frame, COPY_CHUNK_ROWS)
    )
    return len(frame)


def column_types(dbapi_conn: Any, table: TableRef, columns: Sequence[str]) -> list[str] | None:
    """The PostgreSQL type names of `columns` of `table` (None when a column is not found)."""
    with dbapi_conn.cursor() as cur:
        cur.execute(
            "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
            (_qualified(table).as_string(dbapi_conn),),
        )
        types = dict(cur.fetchall())
    if any(c not in types for c in columns):
        return None
    return [types[c] for c in columns]


def _driver_connection(conn: sa.Connection) -> Any:
    return conn.connection.driver_connection


class WarehouseResource(dg.ConfigurableResource):
    """The PostgreSQL warehouse; an embedded server under PLATFORM_HOME/pg when no URL is given."""

    url: str | None = Field(default=None, description="SQLAlchemy/libpq URL; None = embedded")
    embedded_dir: str = Field(
        default=".platform/pg", description="Data folder of the embedded server"
    )
    search_path: str = Field(default="public", description="Schemas searched for unqualified names")

    @property
    def is_embedded(self) -> bool:
        """True when the warehouse is the embedded pgserver."""
        return not self.url

    def get_engine(self, search_path: str | None = None) -> sa.Engine:
        """SQLAlchemy engine (optionally for another search path); starts the embedded server."""
        url = self.url or embedded_postgres_url(Path(self.embedded_dir))
        return engine_for(url, search_path or self.search_path)

    @contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """A connection inside one transaction (commit on success, rollback on error)."""
        with self.get_engine().begin() as conn:
            yield conn

    def schema_name(self) -> str:
        """The first schema of the search path: where unqualified tables are created."""
        return self.search_path.split(",")[0].strip()

    def create_tables(self, metadata: sa.MetaData) -> None:
        """Create the search-path schema and every table of `metadata` that is missing.

        Steps of one run start in parallel processes and may all find a table missing: the check
        and the CREATE run under one advisory lock, since CREATE ... IF NOT EXISTS is not safe
        against a concurrent CREATE of the same name in PostgreSQL.
        """
        with self.begin() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": DDL_LOCK_KEY})
            schemas = {t.schema for t in metadata.tables.values() if t.schema} | {
                self.schema_name()
            }
            for schema in sorted(schemas):
                conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            metadata.create_all(conn, checkfirst=True)

    def read_frame(self, query: str | sa.Executable, params: dict | None = None) -> pd.DataFrame:
        """Run a query and return its rows as a DataFrame."""
        stmt = sa.text(query) if isinstance(query, str) else query
        with self.begin() as conn:
            result = conn.execute(stmt, params or {})
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

    def execute(self, query: str | sa.Executable, params: dict | None = None) -> int:
        """Run one statement in its own transaction and return the affected row count."""
        stmt = sa.text(query) if isinstance(query, str) else query
        with self.begin() as conn:
            return conn.execute(stmt, params or {}).rowcount

    def copy_frame(
        self, frame: pd.DataFrame, table: TableRef, conn: sa.Connection | None = None
    ) -> int:
        """Append `frame` to `table` with COPY FROM STDIN; the frame's columns name the targets."""
        if conn is not None:
            return copy_rows(_driver_connection(conn), table, frame)
        with self.begin() as own:
            return copy_rows(_driver_connection(own), table, frame)

    def replace_partition(
        self,
        frame: pd.DataFrame,
        table: TableRef,
        key_column: str,
        start: date | datetime | str | int,
        end: date | datetime | str | int,
    ) -> int:
        """Replace the rows with `start <= key_column < end` by `frame`, in one transaction.

        Rows of `frame` outside the range are refused (they would land in another partition).
        The rows go by binary COPY when every column's type allows (`copy_format.binary_schema`:
        the server then parses no text), else as CSV. Returns the number of rows written.
        """
        return self._replace(
            [frame], [str(c) for c in frame.columns], table, key_column, start, end, frame
        )

    def replace_partition_frames(
        self,
        frames: Iterable[pd.DataFrame],
        columns: Sequence[str],
        table: TableRef,
        key_column: str,
        start: date | datetime | str | int,
        end: date | datetime | str | int,
    ) -> int:
        """`replace_partition` of the rows of several frames (each with exactly `columns`).

        The frames are taken one at a time (a generator may build them while the earlier ones
        are sent); all of them are written in the one transaction, and a refused frame or an
        error of the generator rolls the whole replace back. Returns the number of rows written.
        """
        return self._replace(frames, columns, table, key_column, start, end, None)

    def _replace(
        self,
        frames: Iterable[pd.DataFrame],
        columns: Sequence[str],
        table: TableRef,
        key_column: str,
        start: date | datetime | str | int,
        end: date | datetime | str | int,
        whole: pd.DataFrame | None,
    ) -> int:
        """The replace of a partition; `whole` (the only frame, when known) may go as binary."""
        columns = [str(c) for c in columns]
        if key_column not in columns:
            raise ValueError(f"replace_partition: frame has no key column '{key_column}'")

        def check(frame: pd.DataFrame) -> None:
            if [str(c) for c in frame.columns] != columns:
                raise ValueError(
                    f"replace_partition into {table}: a frame has columns "
                    f"{list(frame.columns)}, expected {columns}"
                )
            keys = frame[key_column]
            inside = (keys >= start) & (keys < end)
            if len(frame) and not inside.all():
                raise ValueError(
                    f"replace_partition: {int((~inside).sum())} row(s) of {table} have "
                    f"{key_column} outside [{start}, {end})"
                )

        delete = sql.SQL("DELETE FROM {} WHERE {} >= %s AND {} < %s").format(
            _qualified(table), sql.Identifier(key_column), sql.Identifier(key_column)
        )
        with self.begin() as conn:
            raw = _driver_connection(conn)
            serialise: Callable[[pd.DataFrame, int], Iterable[Any]] = csv_chunks
            schema = None
            if whole is not None:
                pg_types = column_types(raw, table, columns)
                schema = binary_schema(whole, pg_types) if pg_types else None
                if schema is not None:

                    def serialise(frame: pd.DataFrame, rows: int) -> Iterable[Any]:
                        return binary_chunks(frame, rows, pg_types, schema)

            # The rows are serialised while the server deletes the old ones.
            with PrefetchedChunks(frames, check=check, serialise=serialise) as chunks:
                with raw.cursor() as cur:
                    cur.execute(delete, (start, end))
                copy_chunks(raw, table, columns, chunks, binary=schema is not None)
                return chunks.rows

    def upsert(
        self,
        frame: pd.DataFrame,
        table: TableRef,
        key_columns: Sequence[str],
        update_columns: Sequence[str] | None = None,
    ) -> int:
        """Insert or update `frame` on `key_columns`: COPY into a staging table, then merge.

        `update_columns` defaults to every non-key column of the frame. Duplicate keys within the
        frame are refused, naming how many there are. Returns the number of rows merged.
        """
        missing = [c for c in key_columns if c not in frame.columns]
        if missing:
            raise ValueError(f"upsert into {table}: frame lacks key column(s) {missing}")
        duplicated = int(frame.duplicated(subset=list(key_columns)).sum())
        if duplicated:
            raise ValueError(
                f"upsert into {table}: {duplicated} row(s) repeat a key {list(key_columns)}"
            )
        columns = list(frame.columns)
        updates = [c for c in (update_columns or columns) if c not in key_columns]
        staging = sql.Identifier("_upsert_staging")
        target = _qualified(table)
        conflict = (
            sql.SQL("DO UPDATE SET {}").format(
                sql.SQL(", ").join(
                    sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c))
                    for c in updates
                )
            )
            if updates
            else sql.SQL("DO NOTHING")
        )
        with PrefetchedChunks(frame) as chunks, self.begin() as conn:
            raw = _driver_connection(conn)
            with raw.cursor() as cur:
                cur.execute(
                    sql.SQL(
                        "CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA"
                    ).format(staging, _column_list(columns), target)
                )
            copy_chunks(raw, "_upsert_staging", [str(c) for c in columns], chunks)
            with raw.cursor() as cur:
                cur.execute(
                    sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT ({}) {}").format(
                        target,
                        _column_list(columns),
                        _column_list(columns),
                        staging,
                        _column_list(key_columns),
                        conflict,
                    )
                )
                return cur.rowcount
