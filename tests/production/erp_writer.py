"""A stand-in for the ERP: a separate process that writes the live database like the real one.

Modes:
  serve         write on command, one step at a time, so a test decides exactly when the ERP holds
                the write lock and when it commits. Commands come one per line on stdin; every
                command is answered with one JSON line on stdout:
                  begin           BEGIN IMMEDIATE: take the write lock (waits the busy timeout)
                  insert N        insert N rows in the open transaction, else as one transaction
                  commit          COMMIT the open transaction
                  checkpoint      PRAGMA wal_checkpoint(PASSIVE), as the ERP does after commits
                  timeout S       set the busy timeout to S seconds (0: never wait for a lock)
                  quit            close the connection and exit
                An answer is {"ok": true, "rows": <rows committed so far>} or {"ok": false,
                "error": "<SQLite's message>"} (the open transaction is then rolled back).
  replace       write a complete new file next to the live one and rename it over the live file
  drop-indexes  drop every index but the primary key's, as an ERP table rebuild does
"""

import argparse
import json
import os
import sqlite3
import sys
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
INSERT = (
    "INSERT INTO production_records (production_date, lot_number, item_code, item_name,"
    " good_quantity) VALUES (?, ?, ?, ?, ?)"
)


def row(n: int, day: str) -> tuple[str, str, str, str, float]:
    return (
        f"{day} 오후 {1 + n % 11}:{n % 60:02d}:00",
        f"LTW{n:07d}",
        f"IT{n % 7:02d}",
        "writer",
        10.0,
    )


def serve(db: Path, day: str, journal: str | None, busy_timeout: float) -> None:
    conn = sqlite3.connect(db, timeout=busy_timeout, isolation_level=None)
    if journal:
        conn.execute(f"PRAGMA journal_mode={journal}")
    committed = pending = 0
    answer = {"ok": True, "rows": 0}
    print(json.dumps(answer), flush=True)  # ready
    for line in sys.stdin:
        command, *args = line.split()
        try:
            if command == "begin":
                conn.execute("BEGIN IMMEDIATE")
            elif command == "insert":
                n = int(args[0])
                rows = [row(committed + pending + i, day) for i in range(n)]
                if conn.in_transaction:
                    conn.executemany(INSERT, rows)
                    pending += n
                else:  # one transaction of n rows
                    conn.execute("BEGIN IMMEDIATE")
                    conn.executemany(INSERT, rows)
                    conn.execute("COMMIT")
                    committed += n
            elif command == "commit":
                conn.execute("COMMIT")
                committed, pending = committed + pending, 0
            elif command == "checkpoint":
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            elif command == "timeout":
                conn.execute(f"PRAGMA busy_timeout={int(float(args[0]) * 1000)}")
            elif command == "quit":
                break
            else:
                raise ValueError(f"unknown command {command!r}")
            answer = {"ok": True, "rows": committed}
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            pending = 0
            answer = {"ok": False, "error": str(exc), "rows": committed}
        print(json.dumps(answer), flush=True)
    conn.close()
    print(json.dumps({"ok": True, "rows": committed}), flush=True)


def replace(db: Path, rows: int, day: str) -> dict:
    tmp = db.with_name(db.name + ".erp-new")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(tmp)
    conn.execute(SCHEMA)
    conn.executemany(INSERT, [row(i, day) for i in range(rows)])
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
    parser.add_argument("mode", choices=["serve", "replace", "drop-indexes"])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=5)
    parser.add_argument("--day", default="2026-03-15")
    parser.add_argument("--journal", choices=["wal", "delete"], help="switch the file's mode")
    parser.add_argument("--busy-timeout", type=float, default=0.0)
    args = parser.parse_args()
    if args.mode == "serve":
        serve(args.db, args.day, args.journal, args.busy_timeout)
        return
    if args.mode == "replace":
        result = replace(args.db, args.rows, args.day)
    else:
        result = drop_indexes(args.db)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
