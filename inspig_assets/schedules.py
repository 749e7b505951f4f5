"""Schedules in Asia/Seoul: AM7/PM2 reports on Monday, productivity, job-log retention on Sunday."""

import datetime as dt

import dagster as dg

from inspig_assets.jobs import (
    inspig_job_log_retention_job,
    inspig_productivity_monthly_job,
    inspig_productivity_weekly_job,
    inspig_weekly_report_job,
)
from inspig_assets.options import gate_open
from inspig_assets.partitions import report_key
from inspig_assets.periods import ReportWeek, add_months
from inspig_assets.targets import schedule_gate
from inspig_assets.weather_assets import weather_schedules
from resources.farm_db import FarmDbResource
from resources.kst import KST_NAME, as_kst
from resources.policies import schedule_status
from resources.settings import PlatformSettings


def report_run_request(scheduled: dt.datetime, group: str) -> dg.RunRequest:
    """The run for the week that ended on the Sunday before `scheduled`, for one group."""
    week = ReportWeek.before(as_kst(scheduled).date())
    key = report_key(week.dt_from.isoformat(), group)
    return dg.RunRequest(run_key=f"{group}|{week.dt_from.isoformat()}", partition_key=key)


def _report_schedule(
    group: str, hour: int, status: dg.DefaultScheduleStatus
) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=f"inspig_weekly_{group.lower()}_schedule",
        cron_schedule=f"0 {hour} * * 1",
        execution_timezone=KST_NAME,
        job=inspig_weekly_report_job,
        default_status=status,
        description=f"Monday {hour:02d}:00 KST: last week's reports of group {group}, when "
        "TA_SYS_CONFIG.INS_SCHEDULE_YN is Y or T.",
    )
    def _schedule(
        context: dg.ScheduleEvaluationContext, farm_db: FarmDbResource
    ) -> dg.RunRequest | dg.SkipReason:
        with farm_db.get_engine().connect() as conn:
            gate = schedule_gate(conn)
        if not gate_open(gate):
            return dg.SkipReason(
                f"TA_SYS_CONFIG.INS_SCHEDULE_YN is {gate!r}: only Y or T runs the scheduled "
                f"{group} reports (a local sample is created by the first manual run)"
            )
        return report_run_request(context.scheduled_execution_time, group)

    return _schedule


def _productivity_monthly_schedule(status: dg.DefaultScheduleStatus) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="inspig_productivity_monthly_schedule",
        cron_schedule="5 2 1,15 * *",
        execution_timezone=KST_NAME,
        job=inspig_productivity_monthly_job,
        default_status=status,
        description="1st and 15th, 02:05 KST: the previous month's productivity (the 15th "
        "refreshes).",
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        scheduled = as_kst(context.scheduled_execution_time)
        month = add_months(scheduled.date(), -1).isoformat()
        return dg.RunRequest(run_key=f"{month}|{scheduled.date().isoformat()}", partition_key=month)

    return _schedule


def build_schedules(settings: PlatformSettings) -> list[dg.ScheduleDefinition]:
    """The location's schedules, RUNNING in prod and STOPPED locally (`schedule_status`)."""
    status = schedule_status(settings)
    return [
        _report_schedule("AM7", 2, status),
        _report_schedule("PM2", 12, status),
        dg.build_schedule_from_partitioned_job(
            inspig_productivity_weekly_job,
            name="inspig_productivity_weekly_schedule",
            day_of_week=1,
            hour_of_day=0,
            minute_of_hour=5,
            default_status=status,
            description="Monday 00:05 KST: last week's productivity.",
        ),
        _productivity_monthly_schedule(status),
        dg.ScheduleDefinition(
            name="inspig_job_log_retention_schedule",
            job=inspig_job_log_retention_job,
            cron_schedule="0 4 * * 0",
            execution_timezone=KST_NAME,
            default_status=status,
            description="Sunday 04:00 KST (no report runs then): delete job-log rows older than "
            "6 months.",
        ),
        *weather_schedules(status),
    ]
