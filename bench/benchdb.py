"""The PostgreSQL server benchmarks run against."""

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from resources.embedded_pg import sqlalchemy_url


@contextmanager
def bench_database_url() -> Iterator[str]:
    """BENCH_DATABASE_URL, else TEST_DATABASE_URL, else a temporary embedded server."""
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if url:
        yield sqlalchemy_url(url)
        return
    import pgserver

    server = pgserver.get_server(Path(tempfile.mkdtemp()) / "pg", cleanup_mode="delete")
    try:
        yield sqlalchemy_url(server.get_uri())
    finally:
        server.cleanup()


@contextmanager
def fresh_schema(url: str, name: str) -> Iterator[str]:
    """An empty schema `name` for one benchmark, dropped afterwards."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
            conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
        yield name
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
    finally:
        engine.dispose()


def raw_copy(engine: sa.Engine, statement: str, data: bytes) -> None:
    """The baseline: COPY FROM STDIN of rows already serialised in memory, in 1 MB writes."""
    with engine.begin() as conn:
        cur = conn.connection.driver_connection.cursor()
        with cur.copy(statement) as copy:
            view = memoryview(data)
            for start in range(0, len(view), 1 << 20):
                copy.write(view[start : start + (1 << 20)])


def best_seconds(repeat: int, reset: Callable[[], None], work: Callable[[], None]) -> float:
    """The shortest of `repeat` timed runs of `work`, each after `reset` (not timed)."""
    times = []
    for _ in range(repeat):
        reset()
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)
