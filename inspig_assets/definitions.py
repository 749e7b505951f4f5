"""Code location 'inspig': the weekly pig-farm report."""

import dagster as dg

from inspig_assets.assets import ts_ins_weekly_report, ts_productivity, ts_productivity_monthly
from inspig_assets.jobs import (
    inspig_farm_report_job,
    inspig_job_log_retention_job,
    inspig_productivity_monthly_job,
    inspig_productivity_weekly_job,
    inspig_weekly_report_job,
)
from inspig_assets.schedules import SCHEDULES
from inspig_assets.sources import ProductivityApiResource
from resources import platform_definitions
from resources.settings import load_settings


def _productivity_api() -> ProductivityApiResource:
    settings = load_settings()
    return ProductivityApiResource(
        base_url=settings.productivity_api_url,
        api_key=dg.EnvVar("PRODUCTIVITY_API_KEY") if settings.productivity_api_key else None,
    )


defs = dg.Definitions.merge(
    platform_definitions("inspig"),
    dg.Definitions(
        assets=[ts_productivity, ts_productivity_monthly, ts_ins_weekly_report],
        jobs=[
            inspig_weekly_report_job,
            inspig_productivity_weekly_job,
            inspig_productivity_monthly_job,
            inspig_farm_report_job,
            inspig_job_log_retention_job,
        ],
        schedules=SCHEDULES,
        resources={"productivity_api": _productivity_api()},
    ),
)
