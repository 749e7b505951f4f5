"""Production SQLite databases: observations, maintenance, backups and monthly summaries."""

import datetime as dt
import os
import time
from collections.abc import Iterator
from typing import Any

import dagster as dg
from pydantic import Field

from production_assets import backups, maintenance, month_store
from production_assets.checks import (
    INTEGRITY_CHECK,
    LIVE_ROWS_BEFORE_CUTOFF_CHECK,
    REJECTED_ROWS_CHECK,
    REJECTED_ROWS_MAX_SHARE,
    REQUIRED_INDEXES_CHECK,
    WAL_SIZE_CHECK,
    wal_check,
)
from production_assets.databases import DatabaseFileError, DbFile, DbLayout, file_stats, row_count
from production_assets.partitions import production_monthly_partitions
from production_assets.schema import MONTHLY_VIEW_SQL, metadata
from production_assets.sources import FILES_POOL, ProductionDbResource
from production_assets.summaries import MonthlyTotals, monthly_totals
from resources.kst import KST, as_kst, now_kst
from resources.metadata import Stopwatch, partition_metadata
from resources.warehouse import WarehouseResource

GROUP = "production"
SQLITE_KIND = {"dagster/kind/sqlite": ""}


def _source_label(db: ProductionDbResource) -> str:
    return "sample" if db.uses_sample else "erp"


def _fail(errors: dict[str, str], what: str) -> None:
    if errors:
        details = "; ".join(f"{name}: {message}" for name, message in errors.items())
        raise dg.Failure(
            description=f"{what} failed for {len(errors)} file(s): {details}",
            metadata={"errors": dg.MetadataValue.json(errors)},
            allow_retries=False,
        )


def _observe(
    files: list[DbFile], production_db: ProductionDbResource, extra: dict[str, str]
) -> dg.ObserveResult:
    """Stats of each file; an unreadable file is reported, never stops the other steps of a run."""
    stats = []
    errors: dict[str, str] = {}
    for db in files:
        try:
            stats.append(file_stats(db, production_db.busy_timeout_seconds))
        except DatabaseFileError as exc:
            errors[db.name] = str(exc)
    version = ";".join(f"{s.name}:{s.mtime}:{s.size_bytes}" for s in stats)
    version += "".join(f";{name}:unreadable" for name in errors)
    return dg.ObserveResult(
        data_version=dg.DataVersion(version or "none"),
        metadata=partition_metadata(
            rows=sum(s.row_count for s in stats),
            source=_source_label(production_db),
            files=dg.MetadataValue.json([s.as_dict() for s in stats]),
            unreadable=dg.MetadataValue.json(errors),
            size_mb=round(sum(s.size_bytes for s in stats) / 1024**2, 2),
            min_date=min((s.min_date for s in stats if s.min_date), default=None) or "-",
            max_date=max((s.max_date for s in stats if s.max_date), default=None) or "-",
            rows_outside_range=sum(s.rows_outside_range for s in stats),
            **extra,
        ),
    )


@dg.observable_source_asset(
    group_name=GROUP, tags=SQLITE_KIND, description="The ERP's live production database file."
)
def production_live_db(production_db: ProductionDbResource) -> dg.ObserveResult:
    """The ERP's live production database file."""
    layout = production_db.layout()
    return _observe([layout.live], production_db, {"cutoff": layout.cutoff or "-"})


@dg.observable_source_asset(
    group_name=GROUP,
    tags=SQLITE_KIND,
    description="Yearly archive database files (archive_YYYY.db) found in the database folder.",
)
def production_archive_dbs(production_db: ProductionDbResource) -> dg.ObserveResult:
    """Yearly archive database files (archive_YYYY.db) found in the database folder."""
    layout = production_db.layout()
    names = ", ".join(a.name for a in layout.archives) or "-"
    return _observe(list(layout.archives), production_db, {"archives": names})


class IndexConfig(dg.Config):
    """How long one index build may hold a file's write lock (default: the resource's budget).

    Raise it for a run in a window when the ERP is idle, to build an index on a table too large
    for the everyday budget.
    """

    max_lock_seconds: float | None = None


@dg.asset(
    group_name=GROUP,
    kinds={"sqlite"},
    deps=[production_live_db, production_archive_dbs],
    pool=FILES_POOL,
    check_specs=[
        dg.AssetCheckSpec(INTEGRITY_CHECK, asset="production_db_indexes"),
        dg.AssetCheckSpec(REQUIRED_INDEXES_CHECK, asset="production_db_indexes"),
    ],
)
def production_db_indexes(
    context: dg.AssetExecutionContext, config: IndexConfig, production_db: ProductionDbResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Required indexes present on every production database file (missing ones are created)."""
    watch = Stopwatch()
    layout = production_db.layout()
    budget = config.max_lock_seconds or production_db.write_lock_budget_seconds
    healed: dict[str, list[str]] = {}
    deferred: dict[str, dict[str, str]] = {}
    errors: dict[str, str] = {}
    integrity: dict[str, str] = {}
    still_missing: dict[str, list[str] | str] = {}
    rows = 0
    for db in layout.files:
        messages = maintenance.integrity_check(
            db.path, busy_timeout_s=production_db.busy_timeout_seconds, shared=db.kind == "live"
        )
        integrity[db.name] = "ok" if maintenance.is_ok(messages) else "; ".join(messages[:5])
        try:
            if not db.path.exists():
                raise DatabaseFileError(f"database file {db.path} does not exist")
            result = maintenance.heal_indexes(db.path, lock_budget_s=budget)
            rows += row_count(db.path, production_db.busy_timeout_seconds)
            absent = maintenance.missing_indexes(db.path, production_db.busy_timeout_seconds)
        except DatabaseFileError as exc:
            errors[db.name] = still_missing[db.name] = str(exc)
            context.log.error(f"{db.name}: {exc}")
            continue
        healed[db.name] = result.healed
        if absent:
            still_missing[db.name] = absent
        if result.healed:
            context.log.warning(f"{db.name}: created missing indexes {', '.join(result.healed)}")
        if result.deferred:
            deferred[db.name] = result.deferred
            context.log.error(
                f"{db.name}: not built within the {budget:g} s write-lock budget: "
                + "; ".join(f"{name}: {why}" for name, why in result.deferred.items())
                + ". Materialize production_db_indexes with a larger max_lock_seconds when the "
                "ERP is idle."
            )
    # The checks are reported even when a file fails the step: they say which file and why.
    yield dg.AssetCheckResult(
        check_name=INTEGRITY_CHECK,
        passed=all(v == "ok" for v in integrity.values()),
        metadata={"results": dg.MetadataValue.json(integrity)},
        description="PRAGMA integrity_check on every database file.",
    )
    yield dg.AssetCheckResult(
        check_name=REQUIRED_INDEXES_CHECK,
        passed=not still_missing,
        metadata={
            "missing": dg.MetadataValue.json(still_missing),
            "deferred_over_lock_budget": dg.MetadataValue.json(deferred),
            "lock_budget_s": budget,
        },
        description="Every required index exists on every database file.",
    )
    _fail(errors, "index healing")
    yield dg.MaterializeResult(
        metadata=partition_metadata(
            rows=rows,
            source=_source_label(production_db),
            elapsed=watch,
            files_checked=len(healed),
            indexes_created=sum(len(v) for v in healed.values()),
            healed=dg.MetadataValue.json(healed),
            deferred_over_lock_budget=dg.MetadataValue.json(deferred),
        )
    )


class StatisticsConfig(dg.Config):
    """Run ANALYZE even when the last run was less than the interval ago."""

    force: bool = False


def _last_analyzed(context: dg.AssetExecutionContext) -> dict[str, float]:
    event = context.instance.get_latest_materialization_event(context.asset_key)
    if event is None or event.asset_materialization is None:
        return {}
    value = event.asset_materialization.metadata.get("analyzed_at")
    return dict(value.value) if value is not None else {}  # type: ignore[arg-type]


# Not downstream of production_db_indexes: a file that step cannot handle must not stop ANALYZE
# and the WAL check of the other files. A file is due again as soon as one of its indexes has no
# statistics (an index built after the last ANALYZE), so the order of the two steps does not matter.
@dg.asset(
    group_name=GROUP,
    kinds={"sqlite"},
    deps=[production_live_db, production_archive_dbs],
    pool=FILES_POOL,
    check_specs=[dg.AssetCheckSpec(WAL_SIZE_CHECK, asset="production_db_statistics")],
)
def production_db_statistics(
    context: dg.AssetExecutionContext,
    config: StatisticsConfig,
    production_db: ProductionDbResource,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Query-planner statistics (ANALYZE) of every database file, refreshed at most once a day."""
    watch = Stopwatch()
    layout = production_db.layout()
    previous = _last_analyzed(context)
    interval_s = production_db.analyze_interval_hours * 3600
    now = time.time()
    analyzed_at: dict[str, float] = {}
    durations: dict[str, float] = {}
    deferred: list[str] = []
    errors: dict[str, str] = {}
    rows = 0
    for db in layout.files:
        try:
            rows += row_count(db.path, production_db.busy_timeout_seconds)
            last = previous.get(db.name, 0.0)
            if not os.access(db.path, os.W_OK):
                # An archive made read-only at the OS level keeps the statistics it was given.
                context.log.warning(f"{db.name} is read-only: statistics not refreshed")
                analyzed_at[db.name] = last
                continue
            due = (
                config.force or now - last >= interval_s or not maintenance.has_statistics(db.path)
            )
            analyzed_at[db.name] = last
            if due:
                durations[db.name] = maintenance.analyze(
                    db.path,
                    analysis_limit=production_db.analysis_limit,
                    lock_budget_s=production_db.write_lock_budget_seconds,
                )
                analyzed_at[db.name] = now
        except maintenance.LockBudgetExceeded as exc:
            # Not an error of the file: it stays due and is tried again on the next run.
            deferred.append(db.name)
            context.log.warning(f"{db.name}: {exc}; lower analysis_limit if this repeats")
        except DatabaseFileError as exc:
            errors[db.name] = str(exc)
            context.log.error(f"{db.name}: {exc}")
    # Reported even when a file fails the step: the WAL of every other file is still checked.
    yield wal_check(production_db, layout.files)
    _fail(errors, "ANALYZE")
    next_due = min(analyzed_at.values(), default=now) + interval_s
    yield dg.MaterializeResult(
        metadata=partition_metadata(
            rows=rows,
            source=_source_label(production_db),
            elapsed=watch,
            analyzed=", ".join(durations)
            or ("none (deferred)" if deferred else "none (ran less than the interval ago)"),
            analyze_ms=dg.MetadataValue.json(durations),
            deferred_over_lock_budget=", ".join(deferred) or "-",
            analyzed_at=dg.MetadataValue.json(analyzed_at),
            next_due=dt.datetime.fromtimestamp(next_due, KST).isoformat(timespec="seconds"),
            forced=config.force,
            analysis_limit=production_db.analysis_limit,
        )
    )


class BackupConfig(dg.Config):
    """Back up every file even when its newest backup is already newer than its last change."""

    force: bool = False


# Backups do not wait for index healing or ANALYZE: a file those steps cannot handle must not
# stop the other files from being backed up.
@dg.asset(
    group_name=GROUP,
    kinds={"sqlite"},
    deps=[production_live_db, production_archive_dbs],
    pool=FILES_POOL,
)
def production_db_backups(
    context: dg.AssetExecutionContext,
    config: BackupConfig,
    production_db: ProductionDbResource,
) -> dg.MaterializeResult:
    """Online backups of every database file, verified by integrity_check, with retention."""
    watch = Stopwatch()
    layout = production_db.layout()
    backup_dir = production_db.backups_path()
    made: list[dict[str, Any]] = []
    skipped: list[str] = []
    deleted: list[str] = []
    errors: dict[str, str] = {}
    future: list[str] = []
    for db in layout.files:
        future += backups.future_backups(backup_dir, db.backup_prefix)
        try:
            if not db.path.exists():
                raise DatabaseFileError(f"database file {db.path} does not exist")
            if not config.force and backups.is_current(db.path, backup_dir, db.backup_prefix):
                skipped.append(db.name)
            else:
                result = backups.backup_database(
                    db.path,
                    backup_dir,
                    db.backup_prefix,
                    busy_timeout_s=production_db.busy_timeout_seconds,
                    max_copy_s=production_db.online_copy_max_seconds,
                )
                made.append(result.__dict__)
                context.log.info(f"{db.name}: backup {result.path} ({result.rows} rows) verified")
        except (DatabaseFileError, backups.BackupError) as exc:
            errors[db.name] = str(exc)
            context.log.error(f"{db.name}: {exc}")
        # Also after a failed backup: the copies that failed their check count too.
        deleted += backups.apply_retention(
            backup_dir, db.backup_prefix, production_db.retention_for(db)
        )
    if future:
        context.log.warning(
            f"backups named with a future time (not taken as covering any change): {future}"
        )
    orphaned = backups.backup_prefixes(backup_dir) - {db.backup_prefix for db in layout.files}
    if orphaned:
        context.log.warning(
            f"backups of files no longer in {layout.db_dir} (kept, never rotated): "
            + ", ".join(f"{p}.db" for p in sorted(orphaned))
        )
    _fail(errors, "backup")
    return dg.MaterializeResult(
        metadata=partition_metadata(
            rows=sum(m["rows"] for m in made),
            source=_source_label(production_db),
            elapsed=watch,
            backups_made=len(made),
            backups=dg.MetadataValue.json(made),
            unchanged_skipped=", ".join(skipped) or "-",
            deleted_by_retention=dg.MetadataValue.json(deleted),
            named_in_the_future=", ".join(future) or "-",
            backups_of_missing_files=", ".join(f"{p}.db" for p in sorted(orphaned)) or "-",
            backup_dir=str(backup_dir),
        )
    )


def _month_start(value: dt.datetime) -> dt.date:
    return as_kst(value).date()


class MonthlyTotalsConfig(dg.Config):
    """Database files accepted as gone on purpose: their months are recomputed without them.

    Without it, a month computed earlier from a file that no longer exists fails, naming the file,
    and its warehouse rows stay as they were.
    """

    accept_missing_files: list[str] = Field(default_factory=list)


@dg.asset(
    group_name=GROUP,
    kinds={"sqlite", "postgres"},
    deps=[production_live_db, production_archive_dbs],
    partitions_def=production_monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=[
        dg.AssetCheckSpec(REJECTED_ROWS_CHECK, asset="production_monthly_totals"),
        dg.AssetCheckSpec(LIVE_ROWS_BEFORE_CUTOFF_CHECK, asset="production_monthly_totals"),
    ],
)
def production_monthly_totals(
    context: dg.AssetExecutionContext,
    config: MonthlyTotalsConfig,
    production_db: ProductionDbResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """Production total, batch count and weighted average batch size per month and item."""
    watch = Stopwatch()
    window = context.partition_time_window
    start, end = _month_start(window.start), _month_start(window.end)
    layout = production_db.layout()
    warehouse.create_tables(metadata)
    warehouse.execute(MONTHLY_VIEW_SQL)
    present = {db.name for db in layout.files} | set(config.accept_missing_files)
    vanished = month_store.months_of_vanished_files(warehouse, start, end, present)
    if vanished:
        details = "; ".join(f"{name} (months {', '.join(m)})" for name, m in vanished.items())
        raise dg.Failure(
            description=(
                f"monthly totals {start}..{end}: computed earlier from file(s) that no longer "
                f"exist in {layout.db_dir}: {details}. Their warehouse rows are kept; put the "
                "file(s) back, or list them in accept_missing_files to recompute without them."
            ),
            metadata={"missing_files": dg.MetadataValue.json(vanished)},
            allow_retries=False,
        )
    # Every input is read (and every check computed) before anything is written.
    try:
        totals = monthly_totals(layout, start.isoformat(), end.isoformat())
    except DatabaseFileError as exc:
        raise dg.Failure(
            description=f"monthly totals {start}..{end}: {exc}; the warehouse rows are unchanged",
            allow_retries=False,
        ) from exc
    check_results = _totals_checks(totals, layout, production_db)
    rows = month_store.frames(totals, now_kst())
    written = month_store.replace_window(warehouse, rows, start, end)

    source_rows = sum(totals.rows_by_file.values())
    by_month = totals.by_month()
    return dg.MaterializeResult(
        metadata=partition_metadata(
            rows=written,
            rejected=len(totals.rejected),
            rejected_by_reason=_reasons(totals),
            source=_source_label(production_db),
            elapsed=watch,
            source_rows=source_rows,
            rows_by_file=dg.MetadataValue.json(totals.rows_by_file),
            months=dg.MetadataValue.json(
                {m: {k: round(v, 3) for k, v in f.items()} for m, f in by_month.items()}
            ),
            total_production=round(sum(f["total_production"] for f in by_month.values()), 3),
            batch_count=int(sum(f["batch_count"] for f in by_month.values())),
            cutoff=layout.cutoff or "-",
        ),
        check_results=check_results,
    )


def _reasons(totals: MonthlyTotals) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in totals.rejected:
        counts[row.reason] = counts.get(row.reason, 0) + 1
    return counts


def _totals_checks(
    totals: MonthlyTotals, layout: DbLayout, production_db: ProductionDbResource
) -> list[dg.AssetCheckResult]:
    """The checks `production_monthly_totals` reports with each materialization."""
    source_rows = sum(totals.rows_by_file.values())
    share = len(totals.rejected) / max(1, source_rows + len(totals.rejected))
    try:
        live_before = maintenance.live_rows_before_cutoff(
            layout, production_db.busy_timeout_seconds
        )
        live_error = None
    except DatabaseFileError as exc:
        # A broken live file does not fail months the archives hold: the check says why it
        # could not compare.
        live_before, live_error = maintenance.RowsBeforeCutoff(), str(exc)
    return [
        dg.AssetCheckResult(
            check_name=REJECTED_ROWS_CHECK,
            passed=share <= REJECTED_ROWS_MAX_SHARE,
            metadata={"rows_rejected": len(totals.rejected), "share": round(share, 4)},
            description="Rows whose production_date does not start with YYYY-MM- are kept aside.",
        ),
        dg.AssetCheckResult(
            check_name=LIVE_ROWS_BEFORE_CUTOFF_CHECK,
            passed=live_before.not_in_archive == 0
            and not live_before.unreadable
            and not live_error,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "live_file_unreadable": live_error or "-",
                "rows": live_before.rows,
                "rows_not_in_any_archive": live_before.not_in_archive,
                "archives_not_compared": ", ".join(live_before.unreadable) or "-",
                "cutoff": layout.cutoff or "-",
            },
            description=(
                "Live-file rows dated before the cutoff are not counted from the live file; it "
                "fails when some of them are in no archive either."
            ),
        ),
    ]
