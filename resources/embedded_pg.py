"""Embedded PostgreSQL (pgserver) for machines without a database server.

`python -m resources.embedded_pg -- CMD ...` keeps the embedded server up while CMD runs (used by
`make demo` and `make dev`), so the run workers attach to one server instead of starting their own;
the server stops when the last process holding it exits.
"""

import subprocess
import sys
from pathlib import Path
from typing import Any

from resources.settings import load_settings

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


def main(argv: list[str]) -> int:
    """Run a command while holding the embedded server (no-op when WAREHOUSE_URL is set)."""
    if argv and argv[0] == "--":
        argv = argv[1:]
    settings = load_settings()
    if not settings.warehouse_url:
        url = embedded_postgres_url(settings.home / "pg")
        print(f"embedded PostgreSQL ready: {url.split('?')[0]} (data in {settings.home / 'pg'})")
    if not argv:
        return 0
    return subprocess.call(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
