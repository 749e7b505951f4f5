"""Fixtures of the production tests: small real SQLite files and an ERP writer process."""

import json
import queue
import sqlite3
import subprocess
import sys
import threading
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
    """Run the ERP writer in a one-shot mode (replace, drop-indexes) and return its report."""
    done = subprocess.run(
        [sys.executable, str(WRITER), *args], capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(done.stdout)


class ErpWriter:
    """The ERP's writer in its own process, doing one step at a time on command.

    Each call waits for the writer's answer, so when it returns the step has happened (or failed
    with SQLite's message); `send` without waiting lets the writer block on a lock the platform
    holds while the test carries on, and `answer` collects the outcome later.
    """

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.answer()  # ready: connected to the file

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put("")  # the writer exited

    def send(self, command: str) -> None:
        """Give the writer a command without waiting for it to finish."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def answer(self, timeout_s: float = 60.0) -> dict:
        """The answer to the oldest command not yet answered."""
        try:
            line = self.lines.get(timeout=timeout_s)
        except queue.Empty:
            raise RuntimeError("the ERP writer did not answer") from None
        if not line:
            raise RuntimeError(f"the ERP writer exited ({self.proc.wait()})")
        return json.loads(line)

    def do(self, command: str) -> dict:
        """Run one command and return its answer."""
        self.send(command)
        return self.answer()

    def ok(self, command: str) -> dict:
        """Run one command that must succeed."""
        answer = self.do(command)
        assert answer["ok"], f"ERP writer: {command}: {answer.get('error')}"
        return answer

    def transaction(self, rows: int) -> int:
        """Commit one transaction of `rows` rows; returns the rows committed so far."""
        return self.ok(f"insert {rows}")["rows"]

    def close(self) -> int:
        """Stop the writer; returns the rows it committed."""
        if self.proc.poll() is not None:
            return -1
        rows = self.ok("quit")["rows"]
        self.proc.wait(timeout=60)
        return rows


@pytest.fixture
def erp_writer() -> Iterator:
    """Start ERP writers on files: `erp_writer(path, busy_timeout=0.0, day=..., journal=None)`.

    The default busy timeout of 0 makes any lock the platform holds fail the writer's step at
    once, so "the platform never holds the ERP up" is a plain assertion on the answer.
    """
    writers: list[ErpWriter] = []

    def start(
        db: Path, busy_timeout: float = 0.0, day: str = "2026-03-15", journal: str | None = None
    ) -> ErpWriter:
        args = ["serve", "--db", str(db), "--day", day, "--busy-timeout", str(busy_timeout)]
        if journal:
            args += ["--journal", journal]
        proc = subprocess.Popen(
            [sys.executable, str(WRITER), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        writers.append(ErpWriter(proc))
        return writers[-1]

    yield start
    for writer in writers:
        if writer.proc.poll() is None:
            writer.proc.kill()
        writer.proc.wait()
