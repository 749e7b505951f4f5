"""The PostgreSQL server benchmarks run against."""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
