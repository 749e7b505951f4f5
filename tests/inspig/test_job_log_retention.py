"""TS_INS_JOB_LOG retention (rows are kept six months) on the real PostgreSQL farm database."""

import datetime as dt

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._utils.schedules import cron_string_iterator

from inspig_assets import schema as t
from inspig_assets.definitions import defs
from inspig_assets.jobs import inspig_job_log_retention_job
from inspig_assets.options import RunOptions
from inspig_assets.periods import ReportWeek
from inspig_assets.report import run_week
from inspig_assets.retention import months_before
from inspig_assets.schedules import build_schedules
from resources.farm_db import FarmDbResource
from resources.kst import KST, now_kst
from resources.settings import load_settings

from .conftest import SAMPLE_UNTIL

COMPLETE_MASTER, RUNNING_MASTER = 1, 2
# log row SEQ → (age in days, own status, master); with 6 months kept, 11, 12 and 16 go
ROWS: dict[int, tuple[int, str | None, int | None]] = {
    11: (240, "SUCCESS", COMPLETE_MASTER),
    12: (210, "ERROR", COMPLETE_MASTER),
    13: (30, "SUCCESS", COMPLETE_MASTER),  # recent
    14: (270, "RUNNING", COMPLETE_MASTER),  # a log row still running
    15: (270, "SUCCESS", RUNNING_MASTER),  # its week's report job is running
    16: (300, None, None),  # no status, no master
    17: (170, "SUCCESS", COMPLETE_MASTER),  # just inside six months
}
EXPIRED = {11, 12, 16}


@pytest.fixture
def logged(farm_db: FarmDbResource) -> FarmDbResource:
    """Two masters (COMPLETE, RUNNING) and job-log rows of various ages and statuses."""
    now = now_kst()
    with farm_db.begin() as conn:
        conn.execute(
            t.ts_ins_master.insert(),
            [
                {"seq": seq, "day_gb": "WEEK", "report_year": 2026, "report_week_no": week,
                 "status_cd": status, "start_dt": now}
                for seq, week, status in (
                    (COMPLETE_MASTER, 10, "COMPLETE"), (RUNNING_MASTER, 11, "RUNNING"),
                )
            ],
        )  # fmt: skip
        conn.execute(
            t.ts_ins_job_log.insert(),
            [
                {
                    "seq": seq,
                    "master_seq": master,
                    "job_nm": "INSPIG_WEEKLY",
                    "proc_nm": "ModonProcessor",
                    "farm_no": 1387,
                    "status_cd": status,
                    "start_dt": now - dt.timedelta(days=age),
                    "log_ins_dt": now - dt.timedelta(days=age),
                }
                for seq, (age, status, master) in ROWS.items()
            ],
        )
    return farm_db


def _seqs(db: FarmDbResource) -> set[int]:
    with db.begin() as conn:
        return set(conn.execute(sa.select(t.ts_ins_job_log.c.seq)).scalars())


def _run(db: FarmDbResource, **config: object) -> tuple[int, dict[str, object]]:
    """Rows deleted, and the metadata observed on the ts_ins_job_log asset."""
    result = inspig_job_log_retention_job.execute_in_process(
        run_config={"ops": {"delete_old_job_log": {"config": config}}},
        resources={"farm_db": db},
    )
    assert result.success
    (observation,) = result.asset_observations_for_node("delete_old_job_log")
    assert observation.asset_key == dg.AssetKey("ts_ins_job_log")
    metadata = {k: v.value for k, v in observation.metadata.items()}
    return result.output_for_node("delete_old_job_log"), metadata


def test_retention_deletes_rows_older_than_six_months_except_running_jobs(
    logged: FarmDbResource,
) -> None:
    deleted, meta = _run(logged, batch_size=2)
    assert deleted == 3
    assert _seqs(logged) == set(ROWS) - EXPIRED
    assert meta["keep_months"] == 6
    assert meta["rows_eligible"] == meta["rows_deleted"] == 3
    assert meta["rows_kept_running"] == 2  # 14 (RUNNING row) and 15 (RUNNING master)
    assert meta["rows_remaining"] == 0
    assert meta["batches"] == 2  # 2 + 1 rows, one commit each
    assert meta["dry_run"] is False
    # a second run finds nothing more
    again, meta = _run(logged)
    assert again == 0 and meta["rows_eligible"] == 0 and meta["batches"] == 0
    assert _seqs(logged) == set(ROWS) - EXPIRED


def test_dry_run_counts_and_deletes_nothing(logged: FarmDbResource) -> None:
    deleted, meta = _run(logged, dry_run=True)
    assert deleted == 0 and _seqs(logged) == set(ROWS)
    assert meta["dry_run"] is True
    assert (meta["rows_eligible"], meta["rows_remaining"], meta["rows_kept_running"]) == (3, 3, 2)
    oldest = dt.datetime.fromisoformat(meta["oldest_eligible"])  # type: ignore[arg-type]
    assert (now_kst() - oldest).days == 300


def test_one_run_is_bounded_and_the_next_run_continues(logged: FarmDbResource) -> None:
    deleted, meta = _run(logged, batch_size=1, max_batches=2)
    assert deleted == 2 and meta["rows_remaining"] == 1
    # oldest SEQ first: 11 and 12 went, 16 waits for the next run
    assert _seqs(logged) == set(ROWS) - {11, 12}
    deleted, meta = _run(logged, batch_size=1, max_batches=2)
    assert deleted == 1 and meta["rows_remaining"] == 0
    assert _seqs(logged) == set(ROWS) - EXPIRED


def test_retention_months_are_configurable(logged: FarmDbResource) -> None:
    deleted, meta = _run(logged, keep_months=9)
    assert deleted == 1 and _seqs(logged) == set(ROWS) - {16}
    assert meta["keep_months"] == 9
    deleted, _ = _run(logged, keep_months=5)  # 17 (170 days) is now older than the retention
    assert deleted == 3 and _seqs(logged) == {13, 14, 15}


def test_config_refuses_zero_months(logged: FarmDbResource) -> None:
    with pytest.raises(Exception, match="keep_months"):
        _run(logged, keep_months=0)
    assert _seqs(logged) == set(ROWS)


def test_months_before_keeps_the_day_or_the_months_last_day() -> None:
    at = dt.datetime(2026, 8, 31, 4, 0, tzinfo=KST)
    assert months_before(at, 6) == dt.datetime(2026, 2, 28, 4, 0, tzinfo=KST)
    assert months_before(at, 8) == dt.datetime(2025, 12, 31, 4, 0, tzinfo=KST)
    assert months_before(dt.datetime(2028, 8, 29, tzinfo=KST), 6).date() == dt.date(2028, 2, 29)


def test_a_weeks_logs_stay_until_both_groups_finished(sample_db: FarmDbResource) -> None:
    """After AM7 alone the week's master is RUNNING (PM2 to come): its old logs are kept."""
    engine = sample_db.get_engine()
    week = ReportWeek.before(SAMPLE_UNTIL)

    def backdate() -> int:
        with engine.begin() as conn:
            stmt = t.ts_ins_job_log.update().values(start_dt=now_kst() - dt.timedelta(days=200))
            return conn.execute(stmt).rowcount

    run_week(engine, week, "AM7", RunOptions(), inserter=sample_db.insert_rows)
    am7_rows = backdate()
    assert am7_rows > 0
    deleted, meta = _run(sample_db)
    assert deleted == 0 and meta["rows_kept_running"] == am7_rows
    run_week(engine, week, "PM2", RunOptions(), inserter=sample_db.insert_rows)
    all_rows = backdate()
    deleted, meta = _run(sample_db, batch_size=50)
    assert deleted == all_rows and meta["rows_kept_running"] == 0
    assert meta["batches"] == -(-all_rows // 50)
    assert _seqs(sample_db) == set()


def test_retention_job_and_weekly_schedule_are_in_the_location() -> None:
    repository = defs.get_repository_def()
    assert repository.get_job("inspig_job_log_retention_job")
    schedule = repository.get_schedule_def("inspig_job_log_retention_schedule")
    assert schedule.job_name == "inspig_job_log_retention_job"
    # from Thursday 2026-11-19 15:00 KST the next tick is Sunday 11-22 04:00 KST, then a week on
    ticks = cron_string_iterator(
        dt.datetime(2026, 11, 19, 15, 0, tzinfo=KST).timestamp(),
        schedule.cron_schedule,
        schedule.execution_timezone,
    )
    sunday = next(ticks).astimezone(KST)
    assert sunday == dt.datetime(2026, 11, 22, 4, 0, tzinfo=KST)
    assert next(ticks).astimezone(KST) == sunday + dt.timedelta(days=7)
    context = dg.build_schedule_context(scheduled_execution_time=sunday, repository_def=repository)
    (request,) = schedule.evaluate_tick(context).run_requests or []
    assert request.job_name in (None, "inspig_job_log_retention_job")


@pytest.mark.parametrize(
    ("env", "status"),
    [("prod", dg.DefaultScheduleStatus.RUNNING), ("local", dg.DefaultScheduleStatus.STOPPED)],
)
def test_schedules_start_running_in_prod_and_stopped_locally(
    env: str, status: dg.DefaultScheduleStatus
) -> None:
    settings = load_settings().model_copy(update={"platform_env": env})
    assert {s.name: s.default_status for s in build_schedules(settings)} == {
        name: status
        for name in (
            "inspig_weekly_am7_schedule",
            "inspig_weekly_pm2_schedule",
            "inspig_productivity_weekly_schedule",
            "inspig_productivity_monthly_schedule",
            "inspig_job_log_retention_schedule",
            "inspig_weather_schedule",
            "inspig_weather_observed_schedule",
        )
    }
