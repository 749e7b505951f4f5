"""Asset checks of the production database files and their backups, and every check's name.

The names below are the only place the checks are spelled: the integrity and required-index
checks are reported by `production_db_indexes` itself (so they still say which file is broken when
that step fails), the WAL check by `production_db_statistics`, the rejected-rows and
rows-before-cutoff checks by `production_monthly_totals`, all through `check_specs` with these
constants.
"""

import datetime as dt
import sqlite3
from collections.abc import Iterable

import dagster as dg

from production_assets import backups, maintenance
from production_assets.databases import DatabaseFileError, DbFile, wal_size
from production_assets.sources import ProductionDbResource
from resources.kst import now_kst

# Reported by production_db_indexes.
INTEGRITY_CHECK = "integrity_ok"
REQUIRED_INDEXES_CHECK = "required_indexes_present"
# Reported by production_db_statistics.
WAL_SIZE_CHECK = "wal_below_limit"
# Reported by production_monthly_totals.
REJECTED_ROWS_CHECK = "rejected_rows_below_threshold"
LIVE_ROWS_BEFORE_CUTOFF_CHECK = "live_rows_before_cutoff"
# The @asset_checks below.
FREE_DISK_CHECK = "free_disk_space"
BACKUPS_CURRENT_CHECK = "backups_current"

REJECTED_ROWS_MAX_SHARE = 0.01
BACKUP_MAX_AGE = dt.timedelta(hours=26)

# The assets checked here, by key: assets.py imports the names above, so it is not imported here.
BACKUPS_ASSET = "production_db_backups"


def wal_check(production_db: ProductionDbResource, files: Iterable[DbFile]) -> dg.AssetCheckResult:
    """Each file's WAL stays under the limit; an oversized WAL is checkpointed first.

    Reported by `production_db_statistics`. A file whose WAL cannot be checkpointed (unreadable,
    not a database) is listed with its error and fails the check; the other files are still
    checked.
    """
    limit = int(production_db.wal_limit_mb * 1024**2)
    sizes: dict[str, dict[str, int | bool | str]] = {}
    for db in files:
        before = wal_size(db.path)
        entry: dict[str, int | bool | str] = {"before_bytes": before, "after_bytes": before}
        if before > limit and db.path.exists():
            try:
                result = maintenance.checkpoint(db.path)
                entry = {"before_bytes": before, "after_bytes": result.after_bytes}
                entry["busy"] = result.busy
            except (DatabaseFileError, sqlite3.DatabaseError) as exc:
                entry["error"] = f"checkpoint failed: {exc}"
        sizes[db.name] = entry
    return dg.AssetCheckResult(
        check_name=WAL_SIZE_CHECK,
        passed=all(int(e["after_bytes"]) <= limit for e in sizes.values()),
        metadata={"limit_mb": production_db.wal_limit_mb, "wal": dg.MetadataValue.json(sizes)},
        description="Each file's WAL stays under the limit; an oversized WAL is checkpointed.",
    )


@dg.asset_check(asset=BACKUPS_ASSET, name=FREE_DISK_CHECK)
def production_db_free_disk_check(production_db: ProductionDbResource) -> dg.AssetCheckResult:
    """Free disk space of the database and backup folders is above the minimum (5 GB)."""
    folder = production_db.folder()
    backup_dir = production_db.backups_path()
    lowest = min(
        maintenance.free_disk_gb(folder),
        maintenance.free_disk_gb(backup_dir if backup_dir.exists() else folder),
    )
    return dg.AssetCheckResult(
        passed=lowest >= production_db.min_free_disk_gb,
        metadata={"free_gb": lowest, "minimum_gb": production_db.min_free_disk_gb},
    )


@dg.asset_check(asset=BACKUPS_ASSET, name=BACKUPS_CURRENT_CHECK)
def production_db_backups_current_check(
    production_db: ProductionDbResource,
) -> dg.AssetCheckResult:
    """Every file has a verified backup from the last day or from after its last change.

    It also fails when retention is exceeded beyond the kept last verified backup, when a backup's
    name carries a future time, and when backups exist of a file that is no longer there.
    """
    backup_dir = production_db.backups_path()
    now = now_kst()
    layout = production_db.layout()
    uncovered: list[str] = []
    over_retention: list[str] = []
    future: list[str] = []
    newest: dict[str, str] = {}
    for db in layout.files:
        future += backups.future_backups(backup_dir, db.backup_prefix, now)
        if not db.path.exists():
            uncovered.append(f"{db.name} (file missing)")
            continue
        found = backups.list_backups(backup_dir, db.backup_prefix)
        latest = backups.newest_backup(backup_dir, db.backup_prefix, now)
        newest[db.name] = latest[1].name if latest else "-"
        recent = latest is not None and now - latest[0] <= BACKUP_MAX_AGE
        good = latest is not None and backups.is_verified(latest[1])
        current = backups.is_current(db.path, backup_dir, db.backup_prefix, now)
        if not good or not (recent or current):
            uncovered.append(db.name)
        if len(found) > production_db.retention_for(db) + 1:
            over_retention.append(db.name)
    known = {db.backup_prefix for db in layout.files}
    orphaned = sorted(f"{p}.db" for p in backups.backup_prefixes(backup_dir) - known)
    return dg.AssetCheckResult(
        passed=not (uncovered or over_retention or future or orphaned),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "without_recent_verified_backup": ", ".join(uncovered) or "-",
            "over_retention": ", ".join(over_retention) or "-",
            "named_in_the_future": ", ".join(future) or "-",
            "backups_of_missing_files": ", ".join(orphaned) or "-",
            "newest": dg.MetadataValue.json(newest),
        },
    )
