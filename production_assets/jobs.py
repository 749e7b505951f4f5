"""Jobs of the production location: maintenance, summaries, year-end rollover and restore."""

import re
from pathlib import Path

import dagster as dg

from production_assets import backups, rollover
from production_assets.assets import (
    production_archive_dbs,
    production_db_backups,
    production_db_indexes,
    production_db_statistics,
    production_live_db,
    production_monthly_totals,
)
from production_assets.sources import FILES_POOL, ProductionDbResource
from resources.metadata import ELAPSED, ROW_COUNT

# Maintenance, rollover and restore all write the database files (and backups named by the second):
# the instances (dagster.yaml, deploy/dagster.yaml) run one run with this tag at a time. Job tags
# are run tags, so runs from the UI, the schedule and the sensor all carry it.
FILES_WRITE_TAG_KEY = "production/files"
FILES_WRITE_TAGS = {FILES_WRITE_TAG_KEY: "write"}

production_maintenance_job = dg.define_asset_job(
    "production_maintenance_job",
    selection=dg.AssetSelection.assets(
        production_live_db.key,
        production_archive_dbs.key,
        production_db_indexes,
        production_db_statistics,
        production_db_backups,
    ),
    description="Observe the files, heal indexes, ANALYZE when due, take verified backups.",
    tags=FILES_WRITE_TAGS,
)

production_monthly_totals_job = dg.define_asset_job(
    "production_monthly_totals_job",
    selection=dg.AssetSelection.assets(production_monthly_totals),
    description="Recompute the monthly production totals of the selected months.",
)


class RolloverConfig(dg.Config):
    """The year whose rows move from the live file into archive_{year}.db."""

    year: int


@dg.op(pool=FILES_POOL)
def archive_rollover(
    context: dg.OpExecutionContext, config: RolloverConfig, production_db: ProductionDbResource
) -> None:
    """Year-end rollover: backup, archive the year, fresh live file, verify; all or nothing."""
    folder = production_db.folder()
    try:
        report = rollover.rollover(
            folder, config.year, production_db.backups_path(), production_db.live_name
        )
    except rollover.RolloverError as exc:
        raise dg.Failure(
            description=f"rollover of {config.year} refused or failed, files unchanged: {exc}",
            allow_retries=False,
        ) from exc
    context.log.info(
        f"archived {report.rows_moved} rows into {report.archive}; "
        f"{report.rows_kept_in_live} rows stay live; cutoff {report.cutoff_before} -> "
        f"{report.cutoff_after}"
    )
    if report.duplicates_dropped:
        context.log.warning(
            f"{report.archive} already held {report.duplicates_dropped} rows of the same "
            f"production_date, item_code and lot_number as live rows; the live rows replaced them "
            f"({report.duplicates_changed} had a different good_quantity or item_name)"
        )
    context.log_event(
        dg.AssetObservation(
            asset_key=production_archive_dbs.key,
            metadata={
                "rollover_year": config.year,
                "rows_moved": report.rows_moved,
                "stale_rows_moved": report.stale_rows_moved,
                "rows_kept_in_live": report.rows_kept_in_live,
                "duplicates_dropped": report.duplicates_dropped,
                "duplicates_changed": report.duplicates_changed,
                "rows_before": dg.MetadataValue.json(report.rows_before),
                "rows_after": dg.MetadataValue.json(report.rows_after),
                "cutoff": report.cutoff_after or "-",
                "final_backups": dg.MetadataValue.json(report.backups),
                ELAPSED: report.duration_s,
            },
        )
    )


@dg.job(
    description="Year-end: archive a year's rows and start a fresh live database.",
    tags=FILES_WRITE_TAGS,
)
def production_archive_rollover_job() -> None:
    """Year-end rollover (config: year)."""
    archive_rollover()


BACKUP_NAME = re.compile(r"^(production|archive_\d{4})_\d{8}_\d{6}\.db$")


class RestoreConfig(dg.Config):
    """A backup file name (in the backups folder) or path to put back in place."""

    backup_file: str


@dg.op(pool=FILES_POOL)
def restore_backup(
    context: dg.OpExecutionContext, config: RestoreConfig, production_db: ProductionDbResource
) -> None:
    """Restore a verified backup over its database file, keeping the replaced file aside."""
    candidate = Path(config.backup_file)
    path = candidate if candidate.is_absolute() else production_db.backups_path() / candidate
    layout = production_db.layout()
    match = BACKUP_NAME.match(path.name)
    if not match:
        raise dg.Failure(
            description=f"{path.name} is not a backup name ({{prefix}}_YYYYMMDD_HHMMSS.db)",
            allow_retries=False,
        )
    prefix = match.group(1)
    target = layout.live.path if prefix == "production" else layout.db_dir / f"{prefix}.db"
    try:
        result = backups.restore_backup(path, target)
    except backups.BackupError as exc:
        raise dg.Failure(
            description=f"restore of {path.name} refused, {target.name} unchanged: {exc}",
            allow_retries=False,
        ) from exc
    context.log.info(
        f"restored {path.name} over {target.name} ({result.rows} rows); "
        f"the replaced file is kept as {result.replaced_kept_as or '(none: the file was missing)'}"
    )
    context.log_event(
        dg.AssetObservation(
            asset_key=(
                production_live_db if target == layout.live.path else production_archive_dbs
            ).key,
            metadata={
                "restored_from": str(path),
                ROW_COUNT: result.rows,
                "replaced_kept_as": result.replaced_kept_as or "-",
            },
        )
    )


@dg.job(
    description="Put a verified backup back in place of its database file.", tags=FILES_WRITE_TAGS
)
def production_restore_job() -> None:
    """Restore a backup (config: backup_file)."""
    restore_backup()


JOBS = [
    production_maintenance_job,
    production_monthly_totals_job,
    production_archive_rollover_job,
    production_restore_job,
]
