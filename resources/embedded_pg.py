"""Embedded PostgreSQL (pgserver) for machines without a database server."""

from pathlib import Path
from typing import Any

_servers: dict[Path, Any] = {}


def sqlalchemy_url(libpq_uri: str) -> str:
    """Turn a libpq URI (`postgresql://…`) into a SQLAlchemy URL with the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if libpq_uri.startswith(prefix):
            return "postgresql+psycopg://" + libpq_uri[len(prefix) :]
    return libpq_uri


def embedded_postgres_url(pg_dir: Path, cleanup_mode: str | None = "stop") -> str:
    """Start (or attach to) the embedded server in `pg_dir` and return its SQLAlchemy URL."""
    import pgserver  # imported lazily: only the local default needs it

    pg_dir = pg_dir.expanduser().resolve()
    server = _servers.get(pg_dir)
    if server is None:
        pg_dir.parent.mkdir(parents=True, exist_ok=True)
        server = pgserver.get_server(pg_dir, cleanup_mode=cleanup_mode)
        _servers[pg_dir] = server
    return sqlalchemy_url(server.get_uri())
