"""A stand-in for the ERP: a separate process that writes the live database like the real one.

Modes:
  append   insert a few rows per transaction until --duration ends; reports its slowest commit
  replace  write a complete new file next to the live one and rename it over the live file
  drop-indexes  drop every index but the primary key's, as an ERP table rebuild does
"""

import argparse
import json
import os
import sqlite3
import sys
import time
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS production_records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    production_date TEXT NOT NULL,
    lot_number TEXT,
    item_code TEXT NOT NULL,
    item_name TEXT,
    good_quantity REAL DEFAULT 0
)
"""


def row(n: int, day: str) -> tuple[str, str, str, str, float]:
    return (
        f"{day} 오후 {1 + n % 11}:{n % 60:02d}:00",
        f"LTW{n:07d}",
        f"IT{n % 7:02d}",
        "writer",
        10.0,
    )


def append(
    db: Path,
    duration: float,
    rows_per_commit: int,
    day: str,
    ready: Path | None,
    journal: str,
    checkpoint: bool = False,
) -> dict:
    conn = sqlite3.connect(db, timeout=30)
    conn.execute(f"PRAGMA journal_mode={journal}")
    worst = 0.0
    commits = 0
    written = 0
    end = time.monotonic() + duration
    if ready:
        ready.write_text("ready")
    while time.monotonic() < end:
        started = time.monotonic()
        with conn:
            conn.executemany(
                "INSERT INTO production_records (production_date, lot_number, item_code, item_name,"
                " good_quantity) VALUES (?, ?, ?, ?, ?)",
                [row(written + i, day) for i in range(rows_per_commit)],
            )
        if checkpoint:  # try to copy the WAL into the main file after every commit
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        worst = max(worst, time.monotonic() - started)
        commits += 1
        written += rows_per_commit
        time.sleep(0.005)
    conn.close()
    return {"commits": commits, "rows": written, "worst_commit_s": worst}


def replace(db: Path, rows: int, day: str) -> dict:
    tmp = db.with_name(db.name + ".erp-new")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(tmp)
    conn.execute(SCHEMA)
    conn.executemany(
        "INSERT INTO production_records (production_date, lot_number, item_code, item_name,"
        " good_quantity) VALUES (?, ?, ?, ?, ?)",
        [row(i, day) for i in range(rows)],
    )
    conn.commit()
    conn.close()
    os.replace(tmp, db)
    return {"rows": rows}


def drop_indexes(db: Path) -> dict:
    conn = sqlite3.connect(db, timeout=30)
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='index' AND sql IS NOT NULL"
        )
    ]
    for name in names:
        conn.execute(f'DROP INDEX "{name}"')
    conn.commit()
    conn.close()
    return {"dropped": names}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["append", "replace", "drop-indexes"])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--duration", type=float, default=2.0)
    parser.add_argument("--rows", type=int, default=5)
    parser.add_argument("--day", default="2026-03-15")
    parser.add_argument("--ready", type=Path)
    parser.add_argument("--journal", default="wal", choices=["wal", "delete"])
    parser.add_argument("--checkpoint", action="store_true")
    args = parser.parse_args()
    if args.mode == "append":
        result = append(
            args.db, args.duration, args.rows, args.day, args.ready, args.journal, args.checkpoint
        )
    elif args.mode == "replace":
        result = replace(args.db, args.rows, args.day)
    else:
        result = drop_indexes(args.db)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
