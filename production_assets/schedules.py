"""Schedules of the production location."""

import dagster as dg

from production_assets.jobs import production_maintenance_job
from resources.kst import KST_NAME
from resources.policies import schedule_status
from resources.settings import PlatformSettings


def build_schedules(settings: PlatformSettings) -> list[dg.ScheduleDefinition]:
    """The daily maintenance schedule (RUNNING in prod, STOPPED locally)."""
    return [
        # Daily at 02:00 KST: index healing, ANALYZE when due and verified backups.
        dg.ScheduleDefinition(
            name="production_maintenance_schedule",
            job=production_maintenance_job,
            cron_schedule="0 2 * * *",
            execution_timezone=KST_NAME,
            default_status=schedule_status(settings),
            description="Daily 02:00 KST maintenance and backups of the production databases.",
        )
    ]
