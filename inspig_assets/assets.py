"""Assets of the weekly pig-farm report: the TS_INS_* tables and TS_PRODUCTIVITY."""

import datetime as dt
from collections.abc import Callable, Iterator

import dagster as dg
from pydantic import Field

from inspig_assets import checks as ck
from inspig_assets.options import RunOptions, RunRefused, gate_open
from inspig_assets.partitions import (
    inspig_month_partitions,
    inspig_report_partitions,
    inspig_week_partitions,
    split_report_key,
)
from inspig_assets.periods import ReportWeek
from inspig_assets.productivity import (
    StatPeriod,
    all_farms,
    save_rows,
    service_farms,
    stat_periods,
)
from inspig_assets.report import RunResult, run_week
from inspig_assets.sources import InspigSampleResource, ProductivityApiResource
from inspig_assets.targets import schedule_gate
from resources.farm_db import FarmDbResource
from resources.kst import now_kst
from resources.metadata import Stopwatch, md_table, partition_metadata
from resources.policies import STANDARD_RETRY

GROUP = "inspig"
KINDS = {"oracle"}


# -- productivity ----------------------------------------------------------------------------------
def _collect(
    context: dg.AssetExecutionContext,
    farm_db: FarmDbResource,
    api: ProductivityApiResource,
    sample: InspigSampleResource,
    period: Callable[[dt.date], StatPeriod],
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Collect and save every period of the run's window (weeks or months, oldest first)."""
    sample.prepare(farm_db, context.log.info)
    clock = Stopwatch()
    window = context.partition_time_window
    periods = stat_periods(window.start.date(), window.end.date(), period)
    written, farms_total, failed_all = 0, 0, {}
    engine = farm_db.get_engine()
    for p in periods:
        with engine.begin() as conn:
            # months: every farm in use; weeks: the service farms as of the Monday after
            monthly = p.period == "M"
            farms = all_farms(conn) if monthly else service_farms(conn, p.last + dt.timedelta(1))
            rows, failed = api.collect(conn, farms, p)
            if farms and len(failed) == len(farms):
                first = next(iter(failed.values()))
                raise dg.Failure(
                    f"productivity {p.label}: every farm failed; first error: {first}",
                    metadata={"failed_farms": len(failed), "source": api.source_label},
                )
            ok = [f for f in farms if f not in failed]
            written += save_rows(conn, rows, ok, p, farm_db.insert_rows, now_kst())
        farms_total += len(farms)
        failed_all.update({f"{p.label}/{f}": m for f, m in failed.items()})
        context.log.info(f"productivity {p.label}: {len(farms)} farm(s), {len(rows)} row(s)")
    yield dg.MaterializeResult(
        metadata=partition_metadata(
            rows=written,
            source=api.source_label,
            elapsed=clock,
            periods=", ".join(p.label for p in periods),
            farms=farms_total,
            farms_failed=len(failed_all),
            database=farm_db.source_label,
        )
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
    retry_policy=STANDARD_RETRY,
    check_specs=[dg.AssetCheckSpec(ck.CHECK_PRODUCTIVITY, asset="ts_productivity")],
)
def ts_productivity(
    context: dg.AssetExecutionContext,
    farm_db: FarmDbResource,
    productivity_api: ProductivityApiResource,
    inspig_sample: InspigSampleResource,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Weekly productivity of the service farms (PCODE 031–035: PSY, MSY, sow inventory, …)."""
    yield from _collect(context, farm_db, productivity_api, inspig_sample, StatPeriod.week)


@dg.asset(
    partitions_def=inspig_month_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds=KINDS,
    group_name=GROUP,
    retry_policy=STANDARD_RETRY,
    check_specs=[dg.AssetCheckSpec(ck.CHECK_PRODUCTIVITY, asset="ts_productivity_monthly")],
)
def ts_productivity_monthly(
    context: dg.AssetExecutionContext,
    farm_db: FarmDbResource,
    productivity_api: ProductivityApiResource,
    inspig_sample: InspigSampleResource,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Monthly productivity of every farm in use (PCODE 031–035, PERIOD M)."""
    yield from _collect(context, farm_db, productivity_api, inspig_sample, StatPeriod.month)


# -- weekly report --------------------------------------------------------------------------------
class WeeklyReportConfig(dg.Config):
    """Run modes of the weekly report (the original CLI's options)."""

    test_mode: bool = Field(
        default=False,
        description="Test farms only: farm_list, or 1387,2807,848,4223,1013 when unset.",
    )
    farm_list: list[int] | None = Field(
        default=None,
        description="Test mode only: these farms instead of the test farms (wins over "
        "exclude_farms). An empty list is refused.",
    )
    exclude_farms: list[int] = Field(default_factory=list, description="Leave these farms out.")
    init_week: bool = Field(
        default=False,
        description="Test mode only: delete this week's report rows of the target farms first "
        "(farm_list, or the test farms).",
    )
    init_all: bool = Field(
        default=False,
        description="Test mode only: delete all report rows of the target farms (farm_list, or "
        "the test farms).",
    )
    init_every_farm: bool = Field(
        default=False,
        description="Test mode only, with init_week or init_all: delete those rows of every "
        "farm, not only the target farms.",
    )
    dry_run: bool = Field(
        default=False,
        description="Write nothing; report the weeks, groups and farms a run would process.",
    )

    def options(self) -> RunOptions:
        """As the logic module's options."""
        return RunOptions(
            test_mode=self.test_mode,
            farm_list=tuple(self.farm_list) if self.farm_list is not None else None,
            exclude_farms=tuple(self.exclude_farms),
            init_week=self.init_week,
            init_all=self.init_all,
            init_every_farm=self.init_every_farm,
            dry_run=self.dry_run,
        )


_WEEK_DEP = dg.AssetDep(
    "ts_productivity",
    partition_mapping=dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="week"),
)
REPORT_TABLES = ("ts_ins_master", "ts_ins_week", "ts_ins_week_sub", "ts_ins_job_log")
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


def _gate_closed(context: dg.AssetExecutionContext, farm_db: FarmDbResource) -> str | None:
    """Why a scheduled run must not build (the gate may close while the run waits in the queue)."""
    if not context.run.tags.get("dagster/schedule_name"):
        return None  # manual runs and backfills ignore the gate
    with farm_db.get_engine().connect() as conn:
        gate = schedule_gate(conn)
    return None if gate_open(gate) else f"TA_SYS_CONFIG.INS_SCHEDULE_YN={gate!r}"


@dg.multi_asset(
    name="ts_ins_weekly_report",
    specs=REPORT_SPECS,
    check_specs=ck.REPORT_CHECKS,
    partitions_def=inspig_report_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    can_subset=False,
)
def ts_ins_weekly_report(
    context: dg.AssetExecutionContext,
    config: WeeklyReportConfig,
    farm_db: FarmDbResource,
    inspig_sample: InspigSampleResource,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """The weekly farm reports of the run's weeks and schedule groups (all ten processors)."""
    clock = Stopwatch()
    options = config.options()
    try:
        options.validate()
    except RunRefused as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None
    inspig_sample.prepare(farm_db, context.log.info)
    closed = _gate_closed(context, farm_db)
    if closed:
        context.log.warning(
            f"skipped: {closed} (Y or T runs the scheduled batch); "
            f"{', '.join(context.partition_keys)} not built. Manual runs ignore the gate."
        )
        keys = (*ck.REPORT_CHECK_KEYS, *ck.TARGET_CHECK_KEYS)
        yield from ck.report_checks_not_run({"skipped": closed}, passed=False, keys=keys)
        return
    # One run covers one partition or a range: weeks oldest first (each compares with the week
    # before), AM7 before PM2.
    results: list[RunResult] = []
    engine = farm_db.get_engine()
    for week_key, group in sorted(split_report_key(k) for k in context.partition_keys):
        week = ReportWeek.of_monday(dt.date.fromisoformat(week_key))
        context.log.info(f"{week.label} group {group}")
        results.append(
            run_week(
                engine, week, group, options, inserter=farm_db.insert_rows, log=context.log.info
            )
        )
    for r in results:
        if r.problems.unknown_farms or r.problems.invalid_groups:
            context.log.warning(
                f"{_partition(r)}: built by no run: farm_list farms that are not subscribed "
                f"{list(r.problems.unknown_farms)}, schedule groups other than AM7/PM2 "
                f"{dict(r.problems.invalid_groups)}"
            )
    yield from report_materializations(results, farm_db.source_label, clock)
    built = [_built(r) for r in results]
    yield from ck.target_check_results(built)
    if options.dry_run:
        yield from ck.report_checks_not_run({"dry_run": True}, passed=True)
        return
    with engine.connect() as conn:
        yield from ck.report_check_results(conn, built)


def _partition(result: RunResult) -> str:
    """`2026-11-09|AM7`: the week's Monday and the group, as the UI names the partition."""
    return f"{result.week.dt_from.isoformat()}|{result.group}"


def _built(result: RunResult) -> ck.BuiltPartition:
    assert result.group is not None
    return ck.BuiltPartition(
        _partition(result), result.week.label, result.master_seq, result.group, result.problems
    )


def report_materializations(
    results: list[RunResult], source: str, clock: Stopwatch
) -> Iterator[dg.MaterializeResult]:
    """One materialization per table for every partition of the run (figures per one in `runs`)."""
    dry_run = results[0].dry_run
    runs = {
        _partition(r): {
            "master_seq": r.master_seq,
            "master_status": r.master_status,
            "targets": len(r.targets),
            "built": len(r.to_build),
            "complete_kept": len(r.kept_complete),
            "errors": len(r.errors),
        }
        for r in results
    }
    unknown = {_partition(r): list(r.problems.unknown_farms) for r in results}
    invalid = {_partition(r): dict(r.problems.invalid_groups) for r in results}
    common = {
        "unknown_farms": dg.MetadataValue.json({k: v for k, v in unknown.items() if v}),
        "invalid_schedule_groups": dg.MetadataValue.json({k: v for k, v in invalid.items() if v}),
        "partitions": len(results),
        "weeks": ", ".join(sorted({r.week.label for r in results})),
        "groups": ", ".join(sorted({str(r.group) for r in results})),
        "dry_run": dry_run,
        "runs": dg.MetadataValue.json(runs),
        "runs_table": md_table([{"partition": k, **v} for k, v in runs.items()]),
    }
    if dry_run:
        plan = {
            "would_build": dg.MetadataValue.json({_partition(r): r.to_build for r in results}),
            "complete_kept": dg.MetadataValue.json(
                {_partition(r): r.kept_complete for r in results}
            ),
        }
        for key in REPORT_TABLES:
            yield dg.MaterializeResult(
                asset_key=key,
                metadata=partition_metadata(rows=0, source=source, elapsed=clock, **common, **plan),
            )
        return
    errors = {f"{_partition(r)}/{f}": m[:300] for r in results for f, m in r.errors.items()}
    extra = {
        "ts_ins_master": {
            "master_seqs": dg.MetadataValue.json(sorted({r.master_seq for r in results})),
            "deleted": dg.MetadataValue.json({_partition(r): r.deleted for r in results}),
        },
        "ts_ins_week": {
            "target_farms": sum(len(r.targets) for r in results),
            "farms_ok": sum(len(r.completed) for r in results),
            "farms_error": len(errors),
            "farms_kept_complete": sum(len(r.kept_complete) for r in results),
            "failed_farms": dg.MetadataValue.json(dict(list(errors.items())[: ck.LISTED])),
        },
    }
    rows = {
        "ts_ins_master": len({r.master_seq for r in results}),
        "ts_ins_week": sum(len(r.to_build) for r in results),
        "ts_ins_week_sub": sum(r.sub_rows for r in results),
        "ts_ins_job_log": sum(r.job_log_rows for r in results),
    }
    for key in REPORT_TABLES:
        yield dg.MaterializeResult(
            asset_key=key,
            metadata=partition_metadata(
                rows=rows[key], source=source, elapsed=clock, **common, **extra.get(key, {})
            ),
        )
