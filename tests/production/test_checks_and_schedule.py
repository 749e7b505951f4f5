"""WAL and disk-space checks, and the 02:00 KST maintenance schedule."""

import datetime as dt
import itertools
import sqlite3
from pathlib import Path

import dagster as dg
import yaml
from dagster._utils.schedules import cron_string_iterator

from production_assets.assets import production_db_statistics
from production_assets.checks import production_db_free_disk_check
from production_assets.databases import wal_size
from production_assets.definitions import defs
from production_assets.schedules import build_schedules
from production_assets.sources import FILES_POOL, ProductionDbResource
from resources.kst import KST
from resources.settings import PlatformSettings


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
    result = dg.materialize(
        [production_db_statistics],
        resources={"production_db": ProductionDbResource(db_dir=str(db_dir), wal_limit_mb=0.1)},
        instance=dg.DagsterInstance.ephemeral(),
    )
    evaluation = result.get_asset_check_evaluations()[0]
    erp.close()
    assert evaluation.passed
    wal = evaluation.metadata["wal"].value["production_analysis.db"]
    # the check runs after ANALYZE, whose own commit also went into the WAL
    assert wal["before_bytes"] >= before and wal["after_bytes"] == 0


def test_low_free_disk_space_fails_the_check(db_dir: Path) -> None:
    ok = _check(production_db_free_disk_check, ProductionDbResource(db_dir=str(db_dir)))
    assert ok.passed  # the default minimum is 5 GB
    low = _check(
        production_db_free_disk_check,
        ProductionDbResource(db_dir=str(db_dir), min_free_disk_gb=10**9),
    )
    assert not low.passed and low.metadata["minimum_gb"].value == 10**9


def test_maintenance_runs_daily_at_two_in_the_morning_kst() -> None:
    (schedule,) = build_schedules(PlatformSettings(platform_env="local"))
    # The ticks after midnight KST of 22 November 2026: 02:00 KST that day and the next. 02:00 KST
    # is 17:00 UTC of the day before, so a UTC schedule would tick at another hour.
    midnight = dt.datetime(2026, 11, 22, tzinfo=KST)
    ticks = cron_string_iterator(
        midnight.timestamp(), schedule.cron_schedule, schedule.execution_timezone
    )
    assert [t.astimezone(KST) for t in itertools.islice(ticks, 2)] == [
        dt.datetime(2026, 11, 22, 2, 0, tzinfo=KST),
        dt.datetime(2026, 11, 23, 2, 0, tzinfo=KST),
    ]
    # The 02:00 KST tick requests one run of the maintenance job, which heals the indexes, refreshes
    # the statistics and takes the backups.
    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2026, 11, 23, 2, 0, tzinfo=KST)
    )
    (request,) = schedule.evaluate_tick(context).run_requests or []
    assert request.job_name in (None, "production_maintenance_job")
    assert schedule.job_name == "production_maintenance_job"
    job = defs.resolve_job_def(schedule.job_name)
    assert {"production_db_indexes", "production_db_statistics", "production_db_backups"} <= {
        n.name for n in job.nodes
    }


def test_the_schedule_follows_the_prod_local_rule() -> None:
    (local,) = build_schedules(PlatformSettings(platform_env="local"))
    (prod,) = build_schedules(PlatformSettings(platform_env="prod"))
    assert local.default_status == dg.DefaultScheduleStatus.STOPPED
    assert prod.default_status == dg.DefaultScheduleStatus.RUNNING


def test_every_step_that_writes_the_files_holds_the_files_pool() -> None:
    """Two writers never overlap, whichever runs they are in (the instance limits pools to 1)."""
    writers = {
        "production_db_indexes",
        "production_db_statistics",
        "production_db_backups",
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
