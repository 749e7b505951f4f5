"""Code location 'production'."""

import dagster as dg

from production_assets import assets, checks
from production_assets.jobs import (
    production_archive_rollover_job,
    production_maintenance_job,
    production_monthly_totals_job,
    production_restore_job,
)
from production_assets.schedules import production_maintenance_schedule
from production_assets.sensors import production_db_change_sensor
from production_assets.sources import ProductionDbResource
from resources import load_settings, platform_definitions


def production_db_resource() -> ProductionDbResource:
    """The production database folder from the settings (samples under PLATFORM_HOME locally)."""
    settings = load_settings()
    return ProductionDbResource(
        db_dir=str(settings.production_db_dir) if settings.production_db_dir else None,
        sample_dir=str(settings.home / "production"),
        backup_dir=str(settings.production_backup_dir) if settings.production_backup_dir else None,
        live_backup_retention=settings.production_live_backup_retention,
        archive_backup_retention=settings.production_archive_backup_retention,
    )


defs = dg.Definitions.merge(
    platform_definitions("production"),
    dg.Definitions(
        assets=dg.load_assets_from_modules([assets]),
        asset_checks=dg.load_asset_checks_from_modules([checks]),
        jobs=[
            production_maintenance_job,
            production_monthly_totals_job,
            production_archive_rollover_job,
            production_restore_job,
        ],
        schedules=[production_maintenance_schedule],
        resources={"production_db": production_db_resource()},
        sensors=[production_db_change_sensor],
    ),
)
