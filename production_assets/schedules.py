"""Schedules of the production location."""

import dagster as dg

from production_assets.jobs import production_maintenance_job

# Daily at 02:00 KST: index healing, ANALYZE when due and verified backups.
production_maintenance_schedule = dg.ScheduleDefinition(
    name="production_maintenance_schedule",
    job=production_maintenance_job,
    cron_schedule="0 2 * * *",
    execution_timezone="Asia/Seoul",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Daily 02:00 KST maintenance and backups of the production databases.",
)
