"""WAL and disk-space checks, and the 02:00 KST maintenance schedule."""

import datetime as dt
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import yaml

from production_assets.assets import FILES_POOL
from production_assets.checks import production_db_free_disk_check, production_db_wal_check
from production_assets.databases import wal_size
from production_assets.definitions import defs
from production_assets.schedules import production_maintenance_schedule
from production_assets.sources import ProductionDbResource


def _check(
    check: dg.AssetChecksDefinition, resource: ProductionDbResource
) -> dg.AssetCheckEvaluation:
    result = dg.materialize(
        [check],
        resources={"production_db": resource},
        instance=dg.DagsterInstance.ephemeral(),
        selection=dg.AssetSelection.checks(check),
    )
    return result.get_asset_check_evaluations()[0]


def test_an_oversized_wal_is_checkpointed(db_dir: Path) -> None:
    live = db_dir / "production_analysis.db"
    erp = sqlite3.connect(live)  # an ERP connection that never checkpoints
    erp.execute("PRAGMA wal_autocheckpoint=0")
    with erp:
        erp.executemany(
            "INSERT INTO production_records (production_date, item_code, good_quantity) "
            "VALUES (?, ?, ?)",
            [("2026-04-01", f"IT{i % 9}", float(i)) for i in range(20_000)],
        )
    before = wal_size(live)
    assert before > 200_000
    evaluation = _check(
        production_db_wal_check, ProductionDbResource(db_dir=str(db_dir), wal_limit_mb=0.1)
    )
    erp.close()
    assert evaluation.passed
    wal = evaluation.metadata["wal"].value["production_analysis.db"]
    assert wal["before_bytes"] == before and wal["after_bytes"] == 0


def test_low_free_disk_space_fails_the_check(db_dir: Path) -> None:
    ok = _check(production_db_free_disk_check, ProductionDbResource(db_dir=str(db_dir)))
    assert ok.passed  # the default minimum is 5 GB
    low = _check(
        production_db_free_disk_check,
        ProductionDbResource(db_dir=str(db_dir), min_free_disk_gb=10**9),
    )
    assert not low.passed and low.metadata["minimum_gb"].value == 10**9


def test_maintenance_runs_daily_at_two_in_the_morning_kst() -> None:
    tick = dt.datetime(2026, 11, 23, 2, 0, tzinfo=ZoneInfo("Asia/Seoul"))
    context = dg.build_schedule_context(scheduled_execution_time=tick)
    requests = production_maintenance_schedule.evaluate_tick(context).run_requests
    assert [r.job_name for r in requests] == [
        None
    ] or requests  # one request for the schedule's job
    assert production_maintenance_schedule.job_name == "production_maintenance_job"
    assert production_maintenance_schedule.cron_schedule == "0 2 * * *"
    assert production_maintenance_schedule.execution_timezone == "Asia/Seoul"
    job = defs.resolve_job_def("production_maintenance_job")
    assert {"production_db_indexes", "production_db_statistics", "production_db_backups"} <= {
        n.name for n in job.nodes
    }


def test_every_step_that_writes_the_files_holds_the_files_pool() -> None:
    """Two writers never overlap, whichever runs they are in (the instance limits pools to 1)."""
    writers = {
        "production_db_indexes",
        "production_db_statistics",
        "production_db_backups",
        "production_db_statistics_wal_below_limit",
        "archive_rollover",
        "restore_backup",
    }
    pools: dict[str, str | None] = {}
    for job_name in (
        "production_maintenance_job",
        "production_archive_rollover_job",
        "production_restore_job",
        "production_monthly_totals_job",
    ):
        for node in defs.resolve_job_def(job_name).graph.node_defs:
            pools[node.name] = node.pool
    assert {name for name, pool in pools.items() if pool == FILES_POOL} == writers
    instance_config = yaml.safe_load(Path("dagster.yaml").read_text())
    assert instance_config["concurrency"]["pools"]["default_limit"] == 1
