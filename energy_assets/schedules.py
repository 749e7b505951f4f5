"""Schedules in Asia/Seoul: ASOS 09:00 and KOSPO 09:30 for yesterday, KOEN the 10th at 10:00."""

import dagster as dg

from energy_assets.jobs import nambu_daily_job, namdong_monthly_job, weather_daily_job
from resources.policies import schedule_status
from resources.settings import PlatformSettings


def build_schedules(settings: PlatformSettings) -> list[dg.ScheduleDefinition]:
    """The location's schedules, RUNNING in prod and STOPPED locally (`schedule_status`)."""
    status = schedule_status(settings)
    return [
        dg.build_schedule_from_partitioned_job(
            weather_daily_job,
            name="weather_daily_schedule",
            hour_of_day=9,
            default_status=status,
            description="09:00 KST: yesterday's ASOS weather (KMA completes a day by about 10:00 "
            "at the latest; a late hour is filled in by the next run's upsert).",
        ),
        dg.build_schedule_from_partitioned_job(
            nambu_daily_job,
            name="nambu_daily_schedule",
            hour_of_day=9,
            minute_of_hour=30,
            default_status=status,
            description="09:30 KST: yesterday's KOSPO generation, plus recent incomplete days.",
        ),
        dg.build_schedule_from_partitioned_job(
            namdong_monthly_job,
            name="namdong_monthly_schedule",
            day_of_month=10,
            hour_of_day=10,
            default_status=status,
            description="The 10th at 10:00 KST: the previous month's KOEN generation.",
        ),
    ]
