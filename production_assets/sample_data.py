"""Deterministic sample production databases for local runs (no ERP needed).

`ensure_sample(folder, today)` creates, when absent, `archive_{Y-1}.db` with the two years before
current one and `production_analysis.db` with the current year up to yesterday (KST). Rows of a day
depend only on the day, so any two generations agree. Dates come in the ERP's three shapes: a bare
day, a 24-hour time and a Korean 오전/오후 time. Like a real ERP refresh, the live file carries some
prior-year rows again and only the three older indexes. Plain Python: nothing here imports Dagster.
"""

import datetime as dt
import os
import random
import sqlite3
import uuid
from pathlib import Path

from production_assets.databases import LIVE_DB_NAME, REQUIRED_INDEXES, SCHEMA_SQL, TABLE

ITEMS: tuple[tuple[str, str, int], ...] = (
    # code, name, typical batch size
    ("BW0021", "원데이 클리어 30P", 1200),
    ("BW0034", "원데이 토릭 30P", 800),
    ("BW0110", "먼슬리 컬러 브라운", 450),
    ("BW0112", "먼슬리 컬러 그레이", 420),
    ("CL1010", "실리콘 하이드로겔 1M", 600),
    ("CL1022", "난시용 2W", 350),
    ("DL2001", "데일리 블루라이트", 950),
    ("DL2015", "데일리 UV 90P", 1500),
    ("SC3003", "서클렌즈 블랙", 300),
    ("SC3007", "서클렌즈 초코", 280),
)
OLD_INDEXES = (
    "CREATE INDEX IF NOT EXISTS idx_production_date ON production_records(production_date)",
    "CREATE INDEX IF NOT EXISTS idx_item_code ON production_records(item_code)",
    "CREATE INDEX IF NOT EXISTS idx_item_date ON production_records(item_code, production_date)",
)
STALE_ROWS = 40


def format_time(day: dt.date, minutes: int, shape: int) -> str:
    """The ERP's date shapes: bare day, 24-hour time, or Korean AM/PM time."""
    hour, minute = divmod(minutes, 60)
    if shape == 0:
        return day.isoformat()
    if shape == 1:
        return f"{day.isoformat()} {hour:02d}:{minute:02d}:00"
    marker = "오전" if hour < 12 else "오후"
    hour12 = hour % 12 or 12
    return f"{day.isoformat()} {marker} {hour12}:{minute:02d}:00"


def day_rows(day: dt.date) -> list[tuple[str, str, str, str, float]]:
    """The production rows of one day (deterministic)."""
    rng = random.Random(f"production:{day.isoformat()}")
    batches = rng.randint(6, 12) if day.weekday() == 6 else rng.randint(18, 34)
    rows = []
    for n in range(batches):
        code, name, size = ITEMS[rng.randrange(len(ITEMS))]
        quantity = float(max(1, round(rng.gauss(size, size * 0.15))))
        minutes = rng.randrange(6 * 60, 23 * 60)
        lot = f"LT{day:%Y%m%d}{n + 1:03d}"
        rows.append((format_time(day, minutes, rng.randrange(3)), lot, code, name, quantity))
    return sorted(rows)


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days)]


def write_database(
    path: Path,
    rows: list[tuple[str, str, str, str, float]],
    indexes: tuple[str, ...] | list[str],
    wal: bool = False,
) -> None:
    """Write a database file atomically (temp file, then rename)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    conn = sqlite3.connect(tmp)
    try:
        conn.execute(SCHEMA_SQL)
        conn.executemany(
            f"INSERT INTO {TABLE} (production_date, lot_number, item_code, item_name, "
            "good_quantity) VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        for ddl in indexes:
            conn.execute(ddl)
        conn.commit()
        if wal:
            conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    os.replace(tmp, path)


def ensure_sample(folder: Path, today: dt.date) -> list[Path]:
    """Create the sample live and archive databases that do not exist yet; returns those created."""
    live = folder / LIVE_DB_NAME
    has_archive = folder.is_dir() and any(folder.glob("archive_*.db"))
    if has_archive and live.exists():
        return []
    folder.mkdir(parents=True, exist_ok=True)
    created = []
    archive_year = today.year - 1
    archive_rows = [
        row
        for day in _days(dt.date(archive_year - 1, 1, 1), dt.date(today.year, 1, 1))
        for row in day_rows(day)
    ]
    if not has_archive:
        path = folder / f"archive_{archive_year}.db"
        write_database(path, archive_rows, list(REQUIRED_INDEXES.values()))
        created.append(path)
    if not live.exists():
        current = [row for day in _days(dt.date(today.year, 1, 1), today) for row in day_rows(day)]
        # The ERP re-sends the end of the previous year: those rows already live in the archive.
        write_database(live, archive_rows[-STALE_ROWS:] + current, OLD_INDEXES, wal=True)
        created.append(live)
    return created
