"""Fixtures of the production tests: small real SQLite files and an ERP writer process."""

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from production_assets.databases import LIVE_DB_NAME, REQUIRED_INDEXES, SCHEMA_SQL
from production_assets.sources import ProductionDbResource

WRITER = Path(__file__).with_name("erp_writer.py")

Row = tuple[str, str, str, str, float]


INSERT_SQL = (
    "INSERT INTO production_records (production_date, lot_number, item_code, item_name, "
    "good_quantity) VALUES (?, ?, ?, ?, ?)"
)


def add_rows(path: Path, rows: list[Row]) -> None:
    """Append rows (date, lot, item, name, qty) to an existing file, as the ERP would."""
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(INSERT_SQL, rows)
    conn.close()


def make_db(path: Path, rows: list[Row], indexes: bool = True, wal: bool = False) -> Path:
    """A production database file with `rows` (date, lot, item, name, qty)."""
    conn = sqlite3.connect(path)
    conn.execute(SCHEMA_SQL)
    conn.executemany(INSERT_SQL, rows)
    if indexes:
        for ddl in REQUIRED_INDEXES.values():
            conn.execute(ddl)
    conn.commit()
    if wal:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    return path


def rows_for(days: list[str], per_day: int = 3) -> list[Row]:
    """Deterministic rows: items A/B/C with quantities 10, 20, 30 per day."""
    out = []
    for day in days:
        for n in range(per_day):
            code = "ABC"[n % 3]
            out.append(
                (
                    f"{day} 오전 {8 + n}:00:00",
                    f"LT{day}{n}",
                    f"IT{code}",
                    f"item {code}",
                    10.0 * (n + 1),
                )
            )
    return out


def count(path: Path, where: str = "1=1") -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT COUNT(*) FROM production_records WHERE {where}").fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def db_dir(tmp_path: Path) -> Path:
    """archive_2025.db (2024-2025) and a live file with 2026 rows plus two reappearing 2025 rows."""
    folder = tmp_path / "database"
    folder.mkdir()
    archive_rows = rows_for(["2024-06-01", "2025-11-30", "2025-12-31"])
    make_db(folder / "archive_2025.db", archive_rows)
    live_rows = archive_rows[-2:] + rows_for(["2026-01-01", "2026-01-31", "2026-02-15"])
    make_db(folder / LIVE_DB_NAME, live_rows, wal=True)
    return folder


@pytest.fixture
def production_db(db_dir: Path) -> ProductionDbResource:
    return ProductionDbResource(db_dir=str(db_dir))


def run_writer(*args: str) -> dict:
    """Run the ERP writer to completion and return its report."""
    done = subprocess.run(
        [sys.executable, str(WRITER), *args], capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(done.stdout)


@pytest.fixture
def start_writer(tmp_path: Path) -> Iterator:
    """Start the ERP writer in the background; returns (process, wait() -> report)."""
    procs: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        ready = tmp_path / f"writer-ready-{len(procs)}"
        proc = subprocess.Popen(
            [sys.executable, str(WRITER), *args, "--ready", str(ready)],
            stdout=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        deadline = time.monotonic() + 20
        while not ready.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("ERP writer did not start")
            time.sleep(0.01)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def writer_report(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    return json.loads(out)
