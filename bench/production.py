"""Production SQLite maintenance: backup throughput, sensor evaluation, monthly totals.

Two live databases (three years, 200 items, the ERP's three date shapes, all six indexes, WAL mode)
are generated once under PLATFORM_HOME/bench/production and reused: about 500 MB (2,300,000 rows)
for the backup and the sensor, and 5,000,000 rows (about 1 GB) for the monthly totals.

- Backup: the consistent copy a backup makes (`snapshots.consistent_copy`) of the file in three
  states (quiet WAL; the ERP's connection open with committed rows still in the WAL; rollback
  journal) and the online backup API fallback, each against a plain file copy (`shutil.copyfile`)
  of the same files in the same run; then the whole verified backup (`backup_database`: copy +
  integrity_check + row count + fsync) against the same work done by hand (copyfile, then
  integrity_check of the copy, then fsync). The replaced script's backup (backup API + quick_check)
  is timed too. Best of three; all copies read from the page cache.
- Sensor: one evaluation of `production_db_change_sensor` with a settled cursor (the every-minute
  case), against a no-op sensor evaluated the same way (Dagster's own cost per tick). Median of 50.
  The evaluation that acts on a settled change (it digests every month) is timed too.
- Monthly totals over all 5,000,000 rows (a single-run backfill over every month, the SQLite side of
  `production_monthly_totals`), against the replaced reporting API's `monthly_by_item` query on the
  same file.
- The ERP writer's worst wait: a writer process commits a few rows every 5 ms (as the ERP does)
  while the platform backs up the live file (WAL) and a 300,000-row rollback-journal file, heals the
  indexes of a 1,000,000-row file under the 0.6 s write-lock budget, and runs the long reads of the
  rollback-journal file; its slowest commit is the figure (target < 1 s: the ERP must never wait a
  second).

Ratios read the same way in every benchmark: the platform's throughput over the baseline's, measured
in the same run (bigger is better), printed as `(r ×, target ≥ t ×)`.
"""

import datetime as dt
import multiprocessing
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg

from production_assets.backups import backup_database, fsync_file
from production_assets.databases import (
    LIVE_DB_NAME,
    REQUIRED_INDEXES,
    SCHEMA_SQL,
    TABLE,
    connect_ro,
    discover,
    wal_path,
    wal_size,
)
from production_assets.definitions import defs
from production_assets.maintenance import heal_indexes, integrity_check
from production_assets.sensors import build_db_change_sensor
from production_assets.snapshots import consistent_copy, copy_database, remove_copy
from production_assets.sources import ProductionDbResource
from production_assets.summaries import month_fingerprints, monthly_totals
from resources.settings import load_settings

production_db_change_sensor = build_db_change_sensor()

ROWS = 5_000_000
BACKUP_ROWS = 2_300_000
PENDING_ROWS = 500  # committed by the ERP and still in the WAL (a few thousand pages)
DAYS = 1096  # 2024-01-01 .. 2026-12-31

GENERATE = """
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {rows} - 1)
INSERT INTO {TABLE} (production_date, lot_number, item_code, item_name, good_quantity)
SELECT date('2024-01-01', '+' || (i * {days} / {rows}) || ' days') ||
       CASE i % 3 WHEN 0 THEN '' WHEN 1 THEN ' ' || printf('%02d:%02d:00', 6 + i % 17, i % 60)
       ELSE ' 오후 ' || (1 + i % 11) || ':' || printf('%02d', i % 60) || ':00' END,
       'LT' || printf('%09d', i),
       'IT' || printf('%04d', (i * 7919) % 200),
       '품목 ' || ((i * 7919) % 200),
       ((i * 2654435761) % 1500) + 1.0
FROM n
""".replace("{TABLE}", TABLE)

# The monthly report query of the reporting API the platform replaces.
BASELINE_MONTHLY_BY_ITEM = f"""
SELECT substr(production_date, 1, 7) AS year_month, item_code, MAX(item_name),
       SUM(good_quantity) AS total_production, COUNT(*) AS batch_count,
       AVG(good_quantity) AS avg_batch_size
FROM {TABLE}
GROUP BY year_month, item_code
ORDER BY year_month DESC, total_production DESC
"""


def build(folder: Path, rows: int) -> Path:
    live = folder / LIVE_DB_NAME
    if live.exists():
        return live
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "building.db"
    tmp.unlink(missing_ok=True)
    print(f"generating {rows:,} rows in {live} (once) ...", flush=True)
    started = time.perf_counter()
    conn = sqlite3.connect(tmp)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-200000")
    conn.execute(SCHEMA_SQL)
    conn.execute(GENERATE.format(rows=rows, days=DAYS))
    conn.commit()
    for ddl in REQUIRED_INDEXES.values():
        conn.execute(ddl)
    conn.execute(f"ANALYZE {TABLE}")
    conn.commit()
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    os.replace(tmp, live)
    print(f"  generated in {time.perf_counter() - started:.1f} s", flush=True)
    return live


def best_of(times: int, work: Callable[[], None]) -> float:
    results = []
    for _ in range(times):
        started = time.perf_counter()
        work()
        results.append(time.perf_counter() - started)
    return min(results)


def plain_copy(files: list[Path], folder: Path) -> None:
    """A baseline: `shutil.copyfile` of the file (and its WAL) as it lies on disk."""
    for path in files:
        (folder / path.name).unlink(missing_ok=True)  # a new file, as a backup writes
        shutil.copyfile(path, folder / path.name)


def kernel_copy(files: list[Path], folder: Path) -> None:
    """The other baseline: one `copy_file_range` loop per file, as `cp` does."""
    for path in files:
        (folder / path.name).unlink(missing_ok=True)
        with open(path, "rb") as src, open(folder / path.name, "wb") as dest:
            while os.copy_file_range(src.fileno(), dest.fileno(), 1 << 30):
                pass


def checked_copy(files: list[Path], folder: Path) -> None:
    """The baseline of a verified backup: the same work done by hand, one step after the other.

    `shutil.copyfile` of the file (and its WAL), `PRAGMA integrity_check` of the copy, then fsync.
    """
    plain_copy(files, folder)
    copy = folder / files[0].name
    conn = sqlite3.connect(copy)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()
    fsync_file(copy)


def replaced_backup(source: Path, folder: Path) -> None:
    """The replaced backup script: the online backup API, then `PRAGMA quick_check` of the copy."""
    dest = folder / "replaced.db"
    dest.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    out = sqlite3.connect(dest)
    try:
        src.backup(out)
        assert out.execute("PRAGMA quick_check").fetchall() == [("ok",)]
    finally:
        out.close()
        src.close()


def bench_backup(live: Path, scratch: Path) -> tuple[float, float]:
    """Backup against plain copies; returns (ratio, seconds) of the verified quiet-WAL backup."""
    size_mb = live.stat().st_size / 1024**2
    # Two more states of the same database, on scratch copies (the cached file stays as it is):
    # the ERP's connection open with committed rows still in the WAL, and rollback-journal mode.
    pending_dir, journal_dir = scratch / "pending", scratch / "journal"
    for folder in (pending_dir, journal_dir):
        folder.mkdir()
        shutil.copyfile(live, folder / LIVE_DB_NAME)
    journal = sqlite3.connect(journal_dir / LIVE_DB_NAME)
    journal.execute("PRAGMA journal_mode=DELETE")
    journal.close()
    erp = sqlite3.connect(pending_dir / LIVE_DB_NAME)
    erp.execute("PRAGMA wal_autocheckpoint=0")
    with erp:
        erp.execute(GENERATE.format(rows=PENDING_ROWS, days=DAYS))
    pending = pending_dir / LIVE_DB_NAME
    wal_mb = wal_size(pending) / 1024**2

    out = scratch / "out"
    out.mkdir()

    used: dict[Path, set[str]] = {}

    def copy_with(method: str, source: Path) -> Callable[[], None]:
        def work() -> None:
            remove_copy(out / "copy.db")
            how = consistent_copy(source, out / "copy.db")
            used.setdefault(source, set()).add(how)
            # A rollback-journal file whose copy would hold the read lock over the budget is
            # copied by the online backup API instead (on a slow or loaded disk).
            assert how.startswith(method) or (source == journal_file and how == "online backup API")

        return work

    def api_copy() -> None:
        remove_copy(out / "copy.db")
        src = connect_ro(live)
        try:
            copy_database(src, out / "copy.db")
        finally:
            src.close()

    def verified(source: Path) -> Callable[[], None]:
        def work() -> None:
            shutil.rmtree(out / "backups", ignore_errors=True)
            backup_database(source, out / "backups", "production")

        return work

    journal_file = journal_dir / LIVE_DB_NAME

    def baseline(*files: Path) -> float:
        plain_copy(list(files), out)  # warm the page cache
        return min(
            best_of(3, lambda: plain_copy(list(files), out)),
            best_of(3, lambda: kernel_copy(list(files), out)),
        )

    try:
        rows = [
            (
                "quiet WAL",
                baseline(live),
                best_of(3, copy_with("file copy under", live)),
            ),
            (
                f"WAL with {wal_mb:.0f} MB of frames pending",
                baseline(pending, wal_path(pending)),
                best_of(3, copy_with("file copy of the database and its WAL", pending)),
            ),
            (
                "rollback journal (read lock, budget 0.6 s)",
                baseline(journal_file),
                best_of(3, copy_with("file copy under", journal_file)),
            ),
            ("online backup API (fallback)", baseline(live), best_of(3, api_copy)),
        ]
        checked = [
            (
                "verified backup, quiet WAL",
                best_of(3, lambda: checked_copy([live], out)),
                best_of(3, verified(live)),
            ),
            (
                "verified backup, frames pending",
                best_of(3, lambda: checked_copy([pending, wal_path(pending)], out)),
                best_of(3, verified(pending)),
            ),
        ]
        replaced = best_of(3, lambda: replaced_backup(live, out))
    finally:
        erp.close()
    print(f"backup of a {size_mb:,.0f} MB live database ({BACKUP_ROWS:,} rows), best of 3:")
    print(f"  {'':<42} {'backup':>7} {'plain copy':>11}")
    for label, base, seconds in rows:
        print(f"  {label:<42} {seconds:5.2f} s {base:9.2f} s  ({base / seconds:.2f} ×)")
    if "online backup API" in used.get(journal_file, set()):
        print("  (rollback journal: the copy went over the 0.6 s lock budget, by the backup API)")
    print(
        "  (plain copy: the faster of shutil.copyfile and copy_file_range of the same files, "
        "unsynced; ratio = copy throughput of the backup / of the plain copy)"
    )
    print(f"  {'':<42} {'backup':>7} {'by hand':>11}")
    for label, base, seconds in checked:
        print(f"  {label:<42} {seconds:5.2f} s {base:9.2f} s  ({base / seconds:.2f} ×)")
    print(
        "  (verified: the asset's whole step: consistent copy + integrity_check + row count + "
        "fsync;\n   by hand: copyfile, then integrity_check of the copy, then fsync)"
    )
    print(
        f"  the replaced script's backup (backup API + quick_check, which misses an index that "
        f"disagrees with its table): {replaced:.2f} s"
    )
    return checked[0][1] / checked[0][2], checked[0][2]


@dg.sensor(name="noop_sensor", minimum_interval_seconds=60)
def noop_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """Baseline: a sensor that only keeps its cursor."""
    return dg.SensorResult(skip_reason=dg.SkipReason("nothing"), cursor=context.cursor)


def bench_sensor(folder: Path) -> None:
    resource = ProductionDbResource(db_dir=str(folder), stabilization_wait_seconds=0.0)
    instance = dg.DagsterInstance.ephemeral()
    noop_defs = dg.Definitions(sensors=[noop_sensor])

    def tick(sensor: dg.SensorDefinition, cursor: str | None, definitions: dg.Definitions) -> tuple:
        with dg.build_sensor_context(
            cursor=cursor,
            instance=instance,
            resources={"production_db": resource},
            definitions=definitions,
        ) as context:
            started = time.perf_counter()
            result = sensor.evaluate_tick(context)
            return time.perf_counter() - started, result

    cursor = None
    acting = 0.0
    months = 0
    for _ in range(5):  # first sight, three checks, then the settled change is acted on
        elapsed, result = tick(production_db_change_sensor, cursor, defs)
        cursor = result.cursor
        if result.run_requests:
            acting = elapsed
            months = sum(1 for r in result.run_requests if r.partition_key)
    idle = statistics.median(tick(production_db_change_sensor, cursor, defs)[0] for _ in range(50))
    base = statistics.median(tick(noop_sensor, "x", noop_defs)[0] for _ in range(50))
    print("sensor evaluation (settled cursor, nothing changed):")
    print(f"  no-op sensor (baseline)        {base * 1000:8.2f} ms")
    print(
        f"  production_db_change_sensor    {idle * 1000:8.2f} ms  ({base / idle:.2f} × of the "
        "no-op's tick rate; target < 50 ms a tick)"
    )
    print(
        f"  evaluation acting on a settled change: {acting * 1000:.0f} ms "
        f"(digests {BACKUP_ROWS:,} rows, requests {months} months)"
    )


def bench_totals(folder: Path) -> None:
    layout = discover(folder)

    def ours() -> None:
        totals = monthly_totals(layout, "2024-01-01", "2027-01-01")
        assert sum(totals.rows_by_file.values()) == ROWS

    def baseline_query() -> None:
        conn = connect_ro(layout.live.path)
        try:
            conn.execute(BASELINE_MONTHLY_BY_ITEM).fetchall()
        finally:
            conn.close()

    baseline = best_of(2, baseline_query)
    mine = best_of(2, ours)
    print(f"monthly totals over {ROWS:,} rows (36 months x 200 items):")
    print(f"  monthly_by_item query (baseline)          {baseline:6.2f} s")
    print(
        f"  production_monthly_totals, all months     {mine:6.2f} s  ({baseline / mine:.2f} × "
        f"of the baseline's rows/s; {ROWS / mine:,.0f} rows/s; target < 10 s)"
    )


INDEX_ROWS = 1_000_000
WRITER_ROWS = 5  # rows per ERP commit
WRITER_PAUSE_S = 0.005
WAIT_TARGET_S = 1.0
# A verified backup does the copy and the full check any backup worth keeping needs; what the
# platform adds around them (consistent snapshot, row count, bookkeeping) may cost at most 10 %.
VERIFIED_TARGET = 0.9


def _erp_append(db: str, ready: Any, stop: Any, out: Any) -> None:
    """The ERP: commit WRITER_ROWS rows every WRITER_PAUSE_S until `stop`; report the slowest."""
    conn = sqlite3.connect(db, timeout=30)
    worst, commits, n = 0.0, 0, 0
    while not stop.is_set():
        started = time.monotonic()
        with conn:
            conn.executemany(
                f"INSERT INTO {TABLE} (production_date, lot_number, item_code, item_name, "
                "good_quantity) VALUES ('2026-03-15 오후 1:00:00', ?, 'IT01', 'writer', 10.0)",
                [(f"LTW{n + i:07d}",) for i in range(WRITER_ROWS)],
            )
        worst = max(worst, time.monotonic() - started)
        ready.set()
        commits += 1
        n += WRITER_ROWS
        time.sleep(WRITER_PAUSE_S)
    conn.close()
    out.put((worst, commits))


@contextmanager
def erp_writing(db: Path, result: dict[str, tuple[float, int]], label: str) -> Iterator[None]:
    """Run the ERP writer process on `db` for as long as the block runs."""
    ctx = multiprocessing.get_context("spawn")
    ready, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=_erp_append, args=(str(db), ready, stop, out))
    proc.start()
    if not ready.wait(120):  # the writer is committing before the platform starts
        raise RuntimeError("the ERP writer did not start")
    try:
        yield
    finally:
        time.sleep(0.2)
        stop.set()
        result[label] = out.get(timeout=60)
        proc.join(60)


JOURNAL_ROWS = 300_000


def subset_copy(live: Path, dest: Path, rows: int, journal: str, indexes: bool) -> Path:
    """The first `rows` rows of `live` in a new file, with or without the required indexes."""
    dest.unlink(missing_ok=True)
    conn = sqlite3.connect(dest)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute(SCHEMA_SQL)
    conn.execute("ATTACH DATABASE ? AS src", (str(live),))
    conn.execute(f"INSERT INTO main.{TABLE} SELECT * FROM src.{TABLE} LIMIT {rows}")
    conn.commit()
    conn.execute("DETACH DATABASE src")
    if indexes:
        for ddl in REQUIRED_INDEXES.values():
            conn.execute(ddl)
        conn.commit()
    conn.execute(f"PRAGMA journal_mode={journal}")
    conn.close()
    return dest


def bench_writer_wait(live: Path, scratch: Path) -> float:
    """The ERP writer's slowest commit while the platform works on its file; returns the worst."""
    waits: dict[str, tuple[float, int]] = {}
    failed: dict[str, str] = {}

    def measure(label: str, db: Path, work: Callable[[], object]) -> None:
        try:
            with erp_writing(db, waits, label):
                work()
        except Exception as exc:  # reported with the figures: the platform gave up, not the ERP
            failed[label] = f"{type(exc).__name__}: {exc}"

    wal_live = scratch / "wal" / LIVE_DB_NAME
    wal_live.parent.mkdir()
    shutil.copyfile(live, wal_live)
    out = scratch / "backups"

    def two_backups(source: Path) -> Callable[[], None]:
        def work() -> None:
            for _ in range(2):
                backup_database(source, out, "production")
            shutil.rmtree(out, ignore_errors=True)

        return work

    measure(f"2 verified backups, WAL, {BACKUP_ROWS:,} rows", wal_live, two_backups(wal_live))
    wal_live.unlink()
    journal_live = scratch / "journal" / LIVE_DB_NAME
    journal_live.parent.mkdir()
    subset_copy(live, journal_live, JOURNAL_ROWS, "delete", indexes=True)
    label = f"2 verified backups, rollback journal, {JOURNAL_ROWS:,} rows"
    measure(label, journal_live, two_backups(journal_live))
    layout = discover(journal_live.parent)

    def long_reads() -> None:
        integrity_check(journal_live, shared=True)
        month_fingerprints(layout.live)
        monthly_totals(layout, "2024-01-01", "2027-01-01")

    measure("long reads, rollback journal (check, digests, totals)", journal_live, long_reads)
    for journal in ("wal", "delete"):
        target = subset_copy(live, scratch / f"unindexed-{journal}.db", INDEX_ROWS, journal, False)
        label = f"index healing, {INDEX_ROWS:,} rows, {journal} (budget 0.6 s)"
        measure(label, target, lambda target=target: heal_indexes(target))
    print(f"ERP writer's slowest commit ({WRITER_ROWS} rows every {WRITER_PAUSE_S * 1000:.0f} ms):")
    for label, (worst, commits) in waits.items():
        print(f"  {label:<58} {worst:6.3f} s  ({commits} commits)")
    for label, why in failed.items():
        print(f"  {label:<58} platform step failed: {why[:120]}")
    return max(worst for worst, _ in waits.values())


def main() -> None:
    root = load_settings().home / "bench" / "production"
    small, large = root / "500mb", root / "5m_rows"
    live = build(small, BACKUP_ROWS)
    build(large, ROWS)
    print(f"(run at {dt.datetime.now().isoformat(timespec='seconds')}, {os.cpu_count()} CPUs)")
    with tempfile.TemporaryDirectory(dir=root) as scratch:
        ratio, seconds = bench_backup(live, Path(scratch))
    with tempfile.TemporaryDirectory(dir=root) as scratch:
        worst = bench_writer_wait(live, Path(scratch))
    bench_sensor(small)
    bench_totals(large)
    print(f"ERP writer's worst wait: {worst:.3f} s (target < {WAIT_TARGET_S:g} s)")
    print(
        f"verified backup, quiet WAL: {seconds:.2f} s ({ratio:.2f} × of copy + integrity_check by "
        f"hand, target ≥ {VERIFIED_TARGET:g} ×)"
    )


if __name__ == "__main__":
    main()
