"""Schedules in Asia/Seoul: AM7/PM2 reports on Monday, productivity, job-log retention on Sunday."""

import datetime as dt

import dagster as dg

from inspig_assets.jobs import (
    inspig_job_log_retention_job,
    inspig_productivity_monthly_job,
    inspig_productivity_weekly_job,
    inspig_weekly_report_job,
)
from inspig_assets.partitions import TIMEZONE, report_key
from inspig_assets.periods import KST, ReportWeek, add_months


def report_run_request(scheduled: dt.datetime, group: str) -> dg.RunRequest:
    """The run for the week that ended on the Sunday before `scheduled`, for one group."""
    week = ReportWeek.before(scheduled.astimezone(KST).date())
    key = report_key(week.dt_from.isoformat(), group)
    return dg.RunRequest(run_key=f"{group}|{week.dt_from.isoformat()}", partition_key=key)


def _report_schedule(group: str, hour: int) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=f"inspig_weekly_{group.lower()}_schedule",
        cron_schedule=f"0 {hour} * * 1",
        execution_timezone=TIMEZONE,
        job=inspig_weekly_report_job,
        description=f"Monday {hour:02d}:00 KST: last week's reports of group {group}.",
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        return report_run_request(context.scheduled_execution_time, group)

    return _schedule


inspig_weekly_am7_schedule = _report_schedule("AM7", 2)
inspig_weekly_pm2_schedule = _report_schedule("PM2", 12)

inspig_productivity_weekly_schedule = dg.build_schedule_from_partitioned_job(
    inspig_productivity_weekly_job,
    name="inspig_productivity_weekly_schedule",
    day_of_week=1,
    hour_of_day=0,
    minute_of_hour=5,
    description="Monday 00:05 KST: last week's productivity.",
)


@dg.schedule(
    name="inspig_productivity_monthly_schedule",
    cron_schedule="5 2 1,15 * *",
    execution_timezone=TIMEZONE,
    job=inspig_productivity_monthly_job,
    description="1st and 15th, 02:05 KST: the previous month's productivity (the 15th refreshes).",
)
def inspig_productivity_monthly_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Previous month on the 1st and again on the 15th."""
    scheduled = context.scheduled_execution_time.astimezone(KST)
    month = add_months(scheduled.date(), -1).isoformat()
    return dg.RunRequest(run_key=f"{month}|{scheduled.date().isoformat()}", partition_key=month)


inspig_job_log_retention_schedule = dg.ScheduleDefinition(
    name="inspig_job_log_retention_schedule",
    job=inspig_job_log_retention_job,
    cron_schedule="0 4 * * 0",
    execution_timezone=TIMEZONE,
    description="Sunday 04:00 KST (no report runs then): delete job-log rows older than 6 months.",
)


SCHEDULES = [
    inspig_weekly_am7_schedule,
    inspig_weekly_pm2_schedule,
    inspig_productivity_weekly_schedule,
    inspig_productivity_monthly_schedule,
    inspig_job_log_retention_schedule,
]
