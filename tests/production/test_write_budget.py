"""The platform's writes and long reads never hold the ERP's writer up.

Driven step by step, without timing: the ERP stand-in runs with a busy timeout of 0, so a lock the
platform still holds fails its step at once; the write-lock budget is forced over by a budget far
below any index build (1 ns: SQLite looks at the clock every 1000 VM instructions, and a build on
20,000 rows takes many more) and lifted by none at all. How long the writer waits on a large file
is a figure of bench/production.py, not a test.
"""

import sqlite3
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pytest

from production_assets import assets, maintenance, snapshots
from production_assets.checks import REQUIRED_INDEXES_CHECK
from production_assets.databases import LIVE_DB_NAME, REQUIRED_INDEXES, SCHEMA_SQL, discover
from production_assets.maintenance import heal_indexes, integrity_check, missing_indexes
from production_assets.sources import ProductionDbResource
from production_assets.summaries import month_fingerprints, monthly_totals
from tests.production.conftest import count

ROWS = 20_000
NO_TIME = 1e-9  # a write-lock budget no index build fits in


def big_db(path: Path, rows: int, journal: str) -> Path:
    """A live file of `rows` rows without indexes, generated inside SQLite."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute(SCHEMA_SQL)
    conn.execute(
        """
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ? - 1)
        INSERT INTO production_records (production_date, lot_number, item_code, item_name,
                                        good_quantity)
        SELECT date('2026-01-01', '+' || (i % 300) || ' days') || ' 오전 9:00:00',
               'LT' || printf('%09d', (i * 7919) % ?), 'IT' || printf('%04d', (i * 31) % 997),
               'item', (i % 1500) + 1.0
        FROM n
        """,
        (rows, rows),
    )
    conn.commit()
    conn.execute(f"PRAGMA journal_mode={journal}")
    conn.close()
    return path


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_index_builds_over_the_lock_budget_are_rolled_back_and_release_the_lock_between_builds(
    tmp_path: Path, erp_writer, monkeypatch: pytest.MonkeyPatch, journal: str
) -> None:
    live = big_db(tmp_path / LIVE_DB_NAME, ROWS, journal)
    erp = erp_writer(live)  # busy timeout 0: any lock the platform still holds fails its commit
    real_bounded_write = maintenance.bounded_write
    after_each_build = []

    @contextmanager
    def then_the_erp_commits(conn: sqlite3.Connection, budget_s: float | None):
        try:
            with real_bounded_write(conn, budget_s):
                yield
        finally:  # the build committed or was rolled back: the lock must be free again
            after_each_build.append(erp.do("insert 5"))

    monkeypatch.setattr(maintenance, "bounded_write", then_the_erp_commits)
    result = heal_indexes(live, lock_budget_s=NO_TIME)
    assert result.healed == [] and sorted(result.deferred) == sorted(REQUIRED_INDEXES)
    assert all("write lock for more than 1e-09 s" in why for why in result.deferred.values())
    assert [a["ok"] for a in after_each_build] == [True] * len(REQUIRED_INDEXES)
    # Nothing half-built: every index is still missing and the file is sound.
    assert sorted(missing_indexes(live)) == sorted(REQUIRED_INDEXES)
    assert integrity_check(live, quick=True) == ["ok"]

    # In a window when the ERP is idle the operator lifts the budget and every index is built.
    after_each_build.clear()
    rest = heal_indexes(live, lock_budget_s=None)
    assert sorted(rest.healed) == sorted(REQUIRED_INDEXES) and not rest.deferred
    assert [a["ok"] for a in after_each_build] == [True] * len(REQUIRED_INDEXES)
    assert missing_indexes(live) == []
    # 6 builds x 2 heals x 5 rows committed by the ERP between builds, none lost
    assert erp.close() == 60 and count(live) == ROWS + 60


def test_index_healing_waits_for_an_erp_transaction_and_never_breaks_it(
    tmp_path: Path, erp_writer
) -> None:
    live = big_db(tmp_path / LIVE_DB_NAME, 1000, "wal")
    erp = erp_writer(live)
    erp.ok("begin")
    erp.ok("insert 5")  # the ERP holds the write lock with a transaction open
    with pytest.raises(maintenance.DatabaseFileError, match="cannot create indexes"):
        heal_indexes(live, busy_timeout_s=0.0)
    assert erp.ok("commit")["rows"] == 5  # the ERP's transaction is untouched
    assert heal_indexes(live, busy_timeout_s=0.0).healed == list(REQUIRED_INDEXES)
    assert count(live) == 1005


def test_indexes_over_the_lock_budget_fail_the_check_and_a_larger_budget_builds_them(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "database"
    folder.mkdir()
    big_db(folder / LIVE_DB_NAME, ROWS, "wal")
    production_db = ProductionDbResource(db_dir=str(folder), write_lock_budget_seconds=NO_TIME)
    instance = dg.DagsterInstance.ephemeral()

    def run(config: dict | None = None) -> dg.ExecuteInProcessResult:
        run_config = {"ops": {"production_db_indexes": {"config": config}}} if config else None
        return dg.materialize(
            [assets.production_db_indexes],
            resources={"production_db": production_db},
            instance=instance,
            run_config=run_config,
        )

    first = run()
    assert first.success  # the step itself does not fail: nothing was lost, only postponed
    checks = {c.check_name: c for c in first.get_asset_check_evaluations()}
    missing = checks[REQUIRED_INDEXES_CHECK]
    assert not missing.passed
    deferred = missing.metadata["deferred_over_lock_budget"].value[LIVE_DB_NAME]
    assert sorted(deferred) == sorted(REQUIRED_INDEXES)
    assert "20,000 rows" in next(iter(deferred.values()))
    assert sorted(missing_indexes(folder / LIVE_DB_NAME)) == sorted(REQUIRED_INDEXES)

    second = run({"max_lock_seconds": 3600.0})  # an hour: any build on 20,000 rows fits
    checks = {c.check_name: c for c in second.get_asset_check_evaluations()}
    assert checks[REQUIRED_INDEXES_CHECK].passed
    assert missing_indexes(folder / LIVE_DB_NAME) == []


def test_long_reads_of_a_rollback_journal_file_read_a_snapshot_the_erp_can_commit_under(
    tmp_path: Path, erp_writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = big_db(tmp_path / LIVE_DB_NAME, ROWS, "delete")
    layout = discover(tmp_path)
    erp = erp_writer(live)  # busy timeout 0: a read lock on the live file fails its commit
    real_reading = snapshots.reading
    during_reads = []

    @contextmanager
    def while_the_query_runs(path: Path, busy_timeout_s: float = 5.0):
        with real_reading(path, busy_timeout_s) as conn:
            rows = conn.execute("SELECT id FROM production_records")
            rows.fetchone()  # the statement is open: its read lock is held
            during_reads.append(erp.do("insert 5"))
            rows.close()
            yield conn

    monkeypatch.setattr(snapshots, "reading", while_the_query_runs)
    integrity = integrity_check(live, shared=True)
    digests = month_fingerprints(layout.live)
    totals = monthly_totals(layout, "2026-01-01", "2027-01-01")
    assert len(during_reads) == 3 and all(a["ok"] for a in during_reads)
    assert integrity == ["ok"]
    # Each read saw one snapshot: the rows before it, whole ERP transactions only.
    assert sum(d[0] for d in digests.values()) == ROWS + 5  # the snapshot after the first commit
    assert totals.rows_by_file[LIVE_DB_NAME] == ROWS + 10
    assert erp.close() == 15 and count(live) == ROWS + 15
