"""The production database folder as a Dagster resource (the ERP's files, or generated samples)."""

from pathlib import Path

import dagster as dg
from pydantic import Field

from production_assets.databases import (
    LIVE_DB_NAME,
    WRITE_LOCK_BUDGET_S,
    DatabaseFileError,
    DbFile,
    DbLayout,
    discover,
)
from production_assets.sample_data import ensure_sample
from production_assets.snapshots import MAX_COPY_S
from production_assets.watch import STABILIZATION_CHECKS, STABILIZATION_WAIT_S
from resources.kst import today_kst
from resources.settings import PlatformSettings

# Steps that write the database files or the backups hold one slot of this concurrency pool
# (limit 1 by the instance's default), so two of them never run at once, even in ad-hoc runs.
FILES_POOL = "production_files"


class ProductionDbResource(dg.ConfigurableResource):
    """Folder of the ERP's SQLite files; without one, deterministic sample files are generated."""

    db_dir: str | None = Field(
        default=None, description="Folder of the live and archive files (PRODUCTION_DB_DIR)"
    )
    sample_dir: str = Field(
        default=".platform/production",
        description="Where sample files are generated when db_dir is unset",
    )
    live_name: str = Field(default=LIVE_DB_NAME, description="File name of the live database")
    backup_dir: str | None = Field(default=None, description="Backups folder; default <db>/backups")
    live_backup_retention: int = Field(default=30, ge=1, description="Live backups kept")
    archive_backup_retention: int = Field(default=12, ge=1, description="Backups kept per archive")
    busy_timeout_seconds: float = Field(default=5.0, description="Busy timeout of every read")
    write_lock_budget_seconds: float = Field(
        default=WRITE_LOCK_BUDGET_S,
        gt=0,
        description=(
            "Longest the platform holds a file's write lock in one transaction (index build, "
            "ANALYZE); a longer one is rolled back and reported, so the ERP is never held up"
        ),
    )
    online_copy_max_seconds: float = Field(
        default=MAX_COPY_S,
        gt=0,
        description=(
            "Longest a backup of a rollback-journal file keeps copying while the ERP changes it; "
            "it then fails naming the file and is tried again on the next run"
        ),
    )
    wal_limit_mb: float = Field(
        default=256.0, description="WAL size above which it is checkpointed"
    )
    min_free_disk_gb: float = Field(default=5.0, description="Free disk space below which to warn")
    analyze_interval_hours: float = Field(default=24.0, description="Minimum time between ANALYZEs")
    analysis_limit: int = Field(
        default=100_000,
        ge=0,
        description="Rows ANALYZE samples per index (0 = all); bounds how long it holds the lock",
    )
    stabilization_checks: int = Field(
        default=STABILIZATION_CHECKS,
        ge=1,
        description="Unchanged checks before a change is acted on",
    )
    stabilization_wait_seconds: float = Field(
        default=STABILIZATION_WAIT_S, description="Minimum time between two stabilisation checks"
    )

    @property
    def uses_sample(self) -> bool:
        """True when the files are the generated samples."""
        return not self.db_dir

    def folder(self) -> Path:
        """The database folder (samples are generated on first use)."""
        if self.db_dir:
            folder = Path(self.db_dir).expanduser()
            if not folder.is_dir():
                raise DatabaseFileError(f"production database folder {folder} does not exist")
            return folder
        folder = Path(self.sample_dir).expanduser().resolve()
        ensure_sample(folder, today_kst())
        return folder

    def layout(self) -> DbLayout:
        """The live file and the archives found in the folder, with the derived cutoff."""
        return discover(self.folder(), self.live_name)

    def backups_path(self) -> Path:
        """Folder of the backups."""
        return Path(self.backup_dir).expanduser() if self.backup_dir else self.folder() / "backups"

    def retention_for(self, db: DbFile) -> int:
        """How many backups of `db` are kept."""
        return self.live_backup_retention if db.kind == "live" else self.archive_backup_retention


def domain_resources(settings: PlatformSettings) -> dict[str, dg.ConfigurableResource]:
    """The production location's own resources: the database folder (samples when it is unset)."""
    return {
        "production_db": ProductionDbResource(
            db_dir=str(settings.production_db_dir) if settings.production_db_dir else None,
            sample_dir=str(settings.home / "production"),
            backup_dir=(
                str(settings.production_backup_dir) if settings.production_backup_dir else None
            ),
            live_backup_retention=settings.production_live_backup_retention,
            archive_backup_retention=settings.production_archive_backup_retention,
        )
    }
