"""Assets of the weekly pig-farm report: the TS_INS_* tables and TS_PRODUCTIVITY."""

import datetime as dt
import time
from collections.abc import Iterator

import dagster as dg
from pydantic import Field

from inspig_assets import checks as ck
from inspig_assets.partitions import (
    inspig_month_partitions,
    inspig_report_partitions,
    inspig_week_partitions,
    split_report_key,
)
from inspig_assets.periods import ReportWeek, now_kst
from inspig_assets.productivity import StatPeriod, all_farms, save_rows, service_farms
from inspig_assets.report import RunOptions, RunRefused, RunResult, run_week, schedule_gate
from inspig_assets.sample import SampleSpec, ensure_sample
from inspig_assets.sources import ProductivityApiResource
from resources.farm_db import FarmDbResource
from resources.settings import load_settings

GROUP = "inspig"
KINDS = {"oracle"}
RETRY = dg.RetryPolicy(
    max_retries=2, delay=1, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


def prepare_farm_db(farm_db: FarmDbResource, log: dg.DagsterLogManager | None = None) -> None:
    """Locally, create the tables and the sample farms when missing (Oracle is used as it is).

    The sample's size is the setting INSPIG_SAMPLE_FARMS (default 50), read when it is generated.
    """
    if farm_db.is_oracle:
        return
    spec = SampleSpec(farms=load_settings().inspig_sample_farms, until=now_kst().date())
    ensure_sample(farm_db.get_engine(), spec, farm_db.insert_rows, log=log.info if log else print)


# -- productivity ----------------------------------------------------------------------------------
def _collect(
    context: dg.AssetExecutionContext,
    farm_db: FarmDbResource,
    api: ProductivityApiResource,
    periods: list[StatPeriod],
    monthly: bool,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    prepare_farm_db(farm_db, context.log)
    started = time.perf_counter()
    written, farms_total, failed_all = 0, 0, {}
    engine = farm_db.get_engine()
    for period in periods:
        with engine.begin() as conn:
            farms = (
                all_farms(conn) if monthly else service_farms(conn, period.last + dt.timedelta(1))
            )
            rows, failed = api.collect(conn, farms, period)
            if farms and len(failed) == len(farms):
                first = next(iter(failed.values()))
                raise dg.Failure(
                    f"productivity {period.label}: every farm failed; first error: {first}",
                    metadata={"failed_farms": len(failed), "source": api.source_label},
                )
            ok = [f for f in farms if f not in failed]
            written += save_rows(conn, rows, ok, period, farm_db.insert_rows, now_kst())
        farms_total += len(farms)
        failed_all.update({f"{period.label}/{f}": m for f, m in failed.items()})
        context.log.info(f"productivity {period.label}: {len(farms)} farm(s), {len(rows)} row(s)")
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": written,
            "periods": ", ".join(p.label for p in periods),
            "farms": farms_total,
            "farms_failed": len(failed_all),
            "source": api.source_label,
            "database": farm_db.source_label,
            "elapsed_sec": round(time.perf_counter() - started, 2),
        }
    )
    yield dg.AssetCheckResult(
        check_name=ck.CHECK_PRODUCTIVITY,
        passed=not failed_all,
        metadata={
            "failed": dg.MetadataValue.json(dict(list(failed_all.items())[:50])),
            "farms": farms_total,
        },
    )


@dg.asset(
    partitions_def=inspig_week_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds=KINDS,
    group_name=GROUP,
    retry_policy=RETRY,
    check_specs=[dg.AssetCheckSpec(ck.CHECK_PRODUCTIVITY, asset="ts_productivity")],
)
def ts_productivity(
    context: dg.AssetExecutionContext,
    farm_db: FarmDbResource,
    productivity_api: ProductivityApiResource,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Weekly productivity of the service farms (PCODE 031–035: PSY, MSY, sow inventory, …)."""
    window = context.partition_time_window
    monday = window.start.date()
    periods = []
    while monday < window.end.date():
        periods.append(StatPeriod.week(monday))
        monday += dt.timedelta(days=7)
    yield from _collect(context, farm_db, productivity_api, periods, monthly=False)


@dg.asset(
    partitions_def=inspig_month_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds=KINDS,
    group_name=GROUP,
    retry_policy=RETRY,
    check_specs=[dg.AssetCheckSpec(ck.CHECK_PRODUCTIVITY, asset="ts_productivity_monthly")],
)
def ts_productivity_monthly(
    context: dg.AssetExecutionContext,
    farm_db: FarmDbResource,
    productivity_api: ProductivityApiResource,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Monthly productivity of every farm in use (PCODE 031–035, PERIOD M)."""
    window = context.partition_time_window
    first = window.start.date()
    periods = []
    while first < window.end.date():
        periods.append(StatPeriod.month(first))
        first = StatPeriod.month(first).last + dt.timedelta(days=1)
    yield from _collect(context, farm_db, productivity_api, periods, monthly=True)


# -- weekly report --------------------------------------------------------------------------------
class WeeklyReportConfig(dg.Config):
    """Run modes of the weekly report (the original CLI's options)."""

    test_mode: bool = Field(
        default=False,
        description="Test farms only: farm_list, or 1387,2807,848,4223,1013 when unset.",
    )
    farm_list: list[int] | None = Field(
        default=None, description="Only these farms (wins over exclude_farms)."
    )
    exclude_farms: list[int] = Field(default_factory=list, description="Leave these farms out.")
    init_week: bool = Field(
        default=False,
        description="Test mode only: delete this week's report rows first (farm_list's farms, "
        "or the whole week when farm_list is unset).",
    )
    init_all: bool = Field(
        default=False,
        description="Test mode only: delete all report rows of farm_list's farms, or every "
        "TS_INS_* row when farm_list is unset.",
    )
    dry_run: bool = Field(
        default=False,
        description="Write nothing; report the weeks, groups and farms a run would process.",
    )

    def options(self) -> RunOptions:
        """As the logic module's options."""
        return RunOptions(
            test_mode=self.test_mode,
            farm_list=tuple(self.farm_list) if self.farm_list else None,
            exclude_farms=tuple(self.exclude_farms),
            init_week=self.init_week,
            init_all=self.init_all,
            dry_run=self.dry_run,
        )


_WEEK_DEP = dg.AssetDep(
    "ts_productivity",
    partition_mapping=dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="week"),
)
REPORT_SPECS = [
    dg.AssetSpec(
        "ts_ins_master",
        description="One row per report week (shared by AM7 and PM2): farms targeted/done/failed.",
        kinds=KINDS,
        group_name=GROUP,
        skippable=True,
    ),
    dg.AssetSpec(
        "ts_ins_week",
        description="Each farm's weekly report header: key figures, status and share token.",
        kinds=KINDS,
        group_name=GROUP,
        deps=[_WEEK_DEP],
        skippable=True,
    ),
    dg.AssetSpec(
        "ts_ins_week_sub",
        description="Detail rows of each weekly report: the ten processors' tables and charts.",
        kinds=KINDS,
        group_name=GROUP,
        skippable=True,
    ),
    dg.AssetSpec(
        "ts_ins_job_log",
        description="One log row per processor and farm: elapsed ms, rows, errors.",
        kinds=KINDS,
        group_name=GROUP,
        skippable=True,
    ),
]
REPORT_CHECKS = [
    dg.AssetCheckSpec(ck.CHECK_FARMS_COMPLETE, asset="ts_ins_week"),
    dg.AssetCheckSpec(ck.CHECK_MASTER_COUNTS, asset="ts_ins_master"),
    dg.AssetCheckSpec(ck.CHECK_FIXED_ROWS, asset="ts_ins_week_sub"),
    dg.AssetCheckSpec(ck.CHECK_JOB_LOG, asset="ts_ins_job_log"),
]


def _dry_run_checks() -> Iterator[dg.AssetCheckResult]:
    """A dry run writes nothing: every report check passes, marked as a dry run."""
    for spec in REPORT_CHECKS:
        yield dg.AssetCheckResult(
            asset_key=spec.asset_key, check_name=spec.name, passed=True, metadata={"dry_run": True}
        )


@dg.multi_asset(
    name="ts_ins_weekly_report",
    specs=REPORT_SPECS,
    check_specs=REPORT_CHECKS,
    partitions_def=inspig_report_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    can_subset=False,
)
def ts_ins_weekly_report(
    context: dg.AssetExecutionContext, config: WeeklyReportConfig, farm_db: FarmDbResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """The weekly farm report of one week and schedule group (all ten processors)."""
    # A backfill is one run over a range: weeks oldest first (each compares with the week before).
    runs = sorted(split_report_key(k) for k in context.partition_keys)
    week_key, group = runs[0]
    week = ReportWeek.of_monday(dt.date.fromisoformat(week_key))
    options = config.options()
    try:
        options.validate()
    except RunRefused as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None
    prepare_farm_db(farm_db, context.log)
    engine = farm_db.get_engine()
    schedule = context.run.tags.get("dagster/schedule_name")
    if schedule:
        with engine.connect() as conn:
            gate = schedule_gate(conn)
        if gate not in ("Y", "T"):
            context.log.warning(
                f"skipped: TA_SYS_CONFIG.INS_SCHEDULE_YN is {gate!r} (Y or T runs the scheduled "
                f"batch); {week.label} group {group} was not built. Manual runs ignore the gate."
            )
            for spec in REPORT_CHECKS:  # the tables are not materialized; the checks say why
                yield dg.AssetCheckResult(
                    asset_key=spec.asset_key,
                    check_name=spec.name,
                    passed=False,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={"skipped": f"TA_SYS_CONFIG.INS_SCHEDULE_YN={gate!r}"},
                )
            return
    if len(runs) > 1:
        yield from _report_range(context, runs, options, farm_db)
        return
    result = run_week(
        engine, week, group, options, inserter=farm_db.insert_rows, log=context.log.info
    )
    yield from report_results(result, farm_db, group)


def _report_range(
    context: dg.AssetExecutionContext,
    runs: list[tuple[str, str]],
    options: RunOptions,
    farm_db: FarmDbResource,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """A backfill over many weeks and groups in one run: each week and group as a scheduled run."""
    engine = farm_db.get_engine()
    results: list[tuple[RunResult, str]] = []
    for week_key, group in runs:
        week = ReportWeek.of_monday(dt.date.fromisoformat(week_key))
        context.log.info(f"{week.label} group {group}")
        result = run_week(
            engine, week, group, options, inserter=farm_db.insert_rows, log=context.log.info
        )
        results.append((result, group))
    # One materialization per table covers every partition of the range; per-run figures inside.
    summary = {
        f"{r.week.dt_from.isoformat()}|{g}": {
            "master_seq": r.master_seq,
            "targets": len(r.targets),
            "built": len(r.to_build),
            "complete_kept": len(r.kept_complete),
            "errors": len(r.errors),
            "master_status": r.master_status,
        }
        for r, g in results
    }
    common = {
        "partitions": len(results),
        "weeks": ", ".join(sorted({r.week.label for r, _ in results})),
        "groups": ", ".join(sorted({g for _, g in results})),
        "database": farm_db.source_label,
        "dry_run": options.dry_run,
        "runs": dg.MetadataValue.json(summary),
    }
    rows = {
        "ts_ins_master": len({r.master_seq for r, _ in results if r.master_seq is not None}),
        "ts_ins_week": sum(len(r.to_build) for r, _ in results),
        "ts_ins_week_sub": sum(r.sub_rows for r, _ in results),
        "ts_ins_job_log": sum(r.job_log_rows for r, _ in results),
    }
    for key, count in rows.items():
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={**common, "dagster/row_count": 0 if options.dry_run else count},
        )
    if options.dry_run:
        yield from _dry_run_checks()
        return
    failed: dict[str, str] = {}
    mismatch: dict[str, list[int]] = {}
    missing: dict[str, list[str]] = {}
    no_logs: dict[str, object] = {}
    with engine.connect() as conn:
        for r, g in results:
            assert r.master_seq is not None
            part = f"{r.week.dt_from.isoformat()}|{g}"
            failed.update(
                {f"{part}/{f}": m[:300] for f, m in ck.error_farms(conn, r.master_seq, g).items()}
            )
            mismatch.update(
                {
                    f"{r.week.label}/{k}": list(v)
                    for k, v in ck.master_count_mismatch(conn, r.master_seq).items()
                }
            )
            missing.update(
                {f"{part}/{f}": v for f, v in ck.missing_fixed_rows(conn, r.master_seq, g).items()}
            )
            lacking = ck.farms_without_logs(conn, r.master_seq, g)
            if lacking:
                no_logs[part] = lacking
    outcomes = (
        ("ts_ins_week", ck.CHECK_FARMS_COMPLETE, failed, "failed_farms"),
        ("ts_ins_master", ck.CHECK_MASTER_COUNTS, mismatch, "mismatch"),
        ("ts_ins_week_sub", ck.CHECK_FIXED_ROWS, missing, "missing"),
        ("ts_ins_job_log", ck.CHECK_JOB_LOG, no_logs, "farms_without_logs"),
    )
    for asset, name, found, label in outcomes:
        yield dg.AssetCheckResult(
            asset_key=asset,
            check_name=name,
            passed=not found,
            metadata={label: dg.MetadataValue.json(dict(list(found.items())[:100]))},
        )


def report_results(
    result: RunResult, farm_db: FarmDbResource, group: str
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Materialization metadata of the four tables, then the four checks."""
    common = {
        "week": result.week.label,
        "group": group,
        "database": farm_db.source_label,
        "dry_run": result.dry_run,
    }
    if result.dry_run:
        plan = {
            **common,
            "target_farms": len(result.targets),
            "would_build": dg.MetadataValue.json(result.to_build),
            "complete_kept": dg.MetadataValue.json(result.kept_complete),
            "dagster/row_count": 0,
        }
        for key in ("ts_ins_master", "ts_ins_week", "ts_ins_week_sub", "ts_ins_job_log"):
            yield dg.MaterializeResult(asset_key=key, metadata=plan)
        yield from _dry_run_checks()
        return
    counts = result.master_counts
    yield dg.MaterializeResult(
        asset_key="ts_ins_master",
        metadata={
            **common,
            "dagster/row_count": 1,
            "master_seq": result.master_seq,
            "status": result.master_status,
            "target_cnt": counts.get("target", 0),
            "complete_cnt": counts.get("complete", 0),
            "error_cnt": counts.get("error", 0),
            "deleted": dg.MetadataValue.json(result.deleted),
        },
    )
    yield dg.MaterializeResult(
        asset_key="ts_ins_week",
        metadata={
            **common,
            "dagster/row_count": len(result.to_build),
            "target_farms": len(result.targets),
            "farms_ok": len(result.completed),
            "farms_error": len(result.errors),
            "farms_kept_complete": len(result.kept_complete),
            "failed_farms": dg.MetadataValue.json(
                {str(f): m[:300] for f, m in list(result.errors.items())[:100]}
            ),
            "elapsed_sec": round(result.elapsed_sec, 2),
        },
    )
    yield dg.MaterializeResult(
        asset_key="ts_ins_week_sub", metadata={**common, "dagster/row_count": result.sub_rows}
    )
    yield dg.MaterializeResult(
        asset_key="ts_ins_job_log", metadata={**common, "dagster/row_count": result.job_log_rows}
    )
    seq = result.master_seq
    assert seq is not None
    with farm_db.get_engine().connect() as conn:
        failed = ck.error_farms(conn, seq, group)
        mismatch = ck.master_count_mismatch(conn, seq)
        missing = ck.missing_fixed_rows(conn, seq, group)
        no_logs = ck.farms_without_logs(conn, seq, group)
    yield dg.AssetCheckResult(
        asset_key="ts_ins_week",
        check_name=ck.CHECK_FARMS_COMPLETE,
        passed=not failed,
        metadata={
            "failed_farms": dg.MetadataValue.json({str(f): m[:300] for f, m in failed.items()}),
            "failed_count": len(failed),
        },
    )
    yield dg.AssetCheckResult(
        asset_key="ts_ins_master",
        check_name=ck.CHECK_MASTER_COUNTS,
        passed=not mismatch,
        metadata={"mismatch": dg.MetadataValue.json({k: list(v) for k, v in mismatch.items()})},
    )
    yield dg.AssetCheckResult(
        asset_key="ts_ins_week_sub",
        check_name=ck.CHECK_FIXED_ROWS,
        passed=not missing,
        metadata={"missing": dg.MetadataValue.json({str(k): v for k, v in missing.items()})},
    )
    yield dg.AssetCheckResult(
        asset_key="ts_ins_job_log",
        check_name=ck.CHECK_JOB_LOG,
        passed=not no_logs,
        metadata={"farms_without_logs": dg.MetadataValue.json(no_logs)},
    )
