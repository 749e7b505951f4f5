"""Jobs (`JOBS`): weekly report, productivity, the web system's farm rebuild, job-log retention."""

import datetime as dt

import dagster as dg
from pydantic import Field

from inspig_assets import retention
from inspig_assets import schema as t
from inspig_assets.assets import ts_ins_weekly_report, ts_productivity, ts_productivity_monthly
from inspig_assets.options import RunOptions, RunRefused
from inspig_assets.periods import ReportWeek, parse_ins_date
from inspig_assets.productivity import StatPeriod, save_rows
from inspig_assets.report import run_week
from inspig_assets.run_retention import MONTH, WEEK, report_type_tags
from inspig_assets.sources import InspigSampleResource, ProductivityApiResource
from resources.farm_db import FarmDbResource
from resources.kst import now_kst, today_kst
from resources.metadata import SOURCE, Stopwatch, partition_metadata

# Every inspig job reads or writes the PigPlan Oracle database, which the web system shares: the
# instance (deploy/dagster.yaml) limits runs carrying this tag.
ORACLE_TAGS = {"platform/oracle": "inspig"}
# Report runs also carry their report type, by which the run retention job keeps them.
WEEKLY_TAGS = {**ORACLE_TAGS, **report_type_tags(WEEK)}
MONTHLY_TAGS = {**ORACLE_TAGS, **report_type_tags(MONTH)}

inspig_weekly_report_job = dg.define_asset_job(
    "inspig_weekly_report_job",
    selection=dg.AssetSelection.assets(ts_ins_weekly_report),
    description="Build the weekly farm reports of one week and schedule group.",
    tags=WEEKLY_TAGS,
)
inspig_productivity_weekly_job = dg.define_asset_job(
    "inspig_productivity_weekly_job",
    selection=dg.AssetSelection.assets(ts_productivity),
    description="Collect weekly productivity (PERIOD W) of the service farms.",
    tags=WEEKLY_TAGS,
)
inspig_productivity_monthly_job = dg.define_asset_job(
    "inspig_productivity_monthly_job",
    selection=dg.AssetSelection.assets(ts_productivity_monthly),
    description="Collect monthly productivity (PERIOD M) of every farm in use.",
    tags=MONTHLY_TAGS,
)


class FarmReportConfig(dg.Config):
    """Which farm, and the day the report is requested (the report covers the week before)."""

    farm_no: int = Field(description="TA_FARM.FARM_NO")
    ins_date: str | None = Field(
        default=None, description="YYYYMMDD; default today (KST). The week before it is built."
    )


def _requested_week(ins_date: str | None) -> tuple[ReportWeek, dt.date]:
    """The report week before `ins_date` (default today, KST), refused unless it has ended.

    A week that has not ended yet in KST would become a COMPLETE report (with a share link) of
    an unfinished week, which later runs never rebuild: such a request fails instead.
    """
    today = today_kst()
    try:
        base = parse_ins_date(ins_date) if ins_date is not None else today
    except ValueError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None
    week = ReportWeek.before(base)
    if week.dt_to >= today:
        raise dg.Failure(
            f"ins_date {ins_date}: its report week {week.dt_from:%Y%m%d}-{week.dt_to:%Y%m%d} "
            f"has not ended yet in KST (today is {today:%Y%m%d}); a report is built only for a "
            "finished week",
            allow_retries=False,
        )
    return week, base


@dg.op(out=dg.Out(dict, description="masterSeq, shareToken, year, weekNo, dtFrom, dtTo, status"))
def build_farm_report(
    context: dg.OpExecutionContext,
    config: FarmReportConfig,
    farm_db: FarmDbResource,
    productivity_api: ProductivityApiResource,
    inspig_sample: InspigSampleResource,
) -> dg.Output[dict]:
    """Rebuild one farm's weekly report, subscribed or not (the web system's request)."""
    clock = Stopwatch()
    week, base = _requested_week(config.ins_date)
    inspig_sample.prepare(farm_db, context.log.info)
    engine = farm_db.get_engine()
    period = StatPeriod.week(week.dt_from)
    with engine.begin() as conn:
        rows, failed = productivity_api.collect(conn, [config.farm_no], period)
        if failed:
            context.log.warning(f"productivity not collected: {failed[config.farm_no]}")
        else:
            save_rows(conn, rows, [config.farm_no], period, farm_db.insert_rows, now_kst())
    try:
        result = run_week(
            engine,
            week,
            None,
            RunOptions(job_nm="INSPIG_FARM_REPORT"),
            farm_no=config.farm_no,
            inserter=farm_db.insert_rows,
            log=context.log.info,
        )
    except RunRefused as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None
    error = result.errors.get(config.farm_no)
    answer = {
        "status": "error" if error else "success",
        "farmNo": config.farm_no,
        "dayGb": "WEEK",
        "masterSeq": result.master_seq,
        "shareToken": result.tokens.get(config.farm_no),
        "year": week.year,
        "weekNo": week.week_no,
        "insDate": base.strftime("%Y%m%d"),
        "dtFrom": week.dt_from.strftime("%Y%m%d"),
        "dtTo": week.dt_to.strftime("%Y%m%d"),
        "error": error,
    }
    if error:
        raise dg.Failure(
            f"farm {config.farm_no} {week.label}: {error}",
            metadata={"master_seq": result.master_seq, "farm_no": config.farm_no},
            allow_retries=False,
        )
    return dg.Output(
        answer,
        metadata=partition_metadata(
            rows=result.sub_rows,
            source=farm_db.source_label,
            elapsed=clock,
            master_seq=result.master_seq,
            share_token=answer["shareToken"] or "",
            week=week.label,
            farm_no=config.farm_no,
            sub_rows=result.sub_rows,
            # The web API answers from these (year, weekNo, insDate, dtFrom, dtTo).
            year=week.year,
            week_no=week.week_no,
            ins_date=answer["insDate"],
            dt_from=answer["dtFrom"],
            dt_to=answer["dtTo"],
        ),
    )


@dg.job(
    name="inspig_farm_report_job",
    description="Rebuild one farm's report for the week before ins_date (the web system calls it).",
    tags=WEEKLY_TAGS,
    # One step: run it in the run's own process (no second process loading the location), since
    # the web system waits for the answer.
    executor_def=dg.in_process_executor,
)
def inspig_farm_report_job() -> None:
    """One farm, one week."""
    build_farm_report()


class JobLogRetentionConfig(dg.Config):
    """How long TS_INS_JOB_LOG rows are kept and how much one run may delete."""

    keep_months: int = Field(
        default=retention.DEFAULT_KEEP_MONTHS,
        ge=1,
        description="Keep rows that started within this many months (default 6).",
    )
    batch_size: int = Field(
        default=retention.DEFAULT_BATCH_SIZE, ge=1, description="Rows per DELETE (one commit each)."
    )
    max_batches: int = Field(
        default=retention.DEFAULT_MAX_BATCHES,
        ge=1,
        description="Batches per run; rows beyond batch_size × max_batches wait for the next run.",
    )
    dry_run: bool = Field(default=False, description="Count only; delete nothing.")


@dg.op(out=dg.Out(int, description="TS_INS_JOB_LOG rows deleted"))
def delete_old_job_log(
    context: dg.OpExecutionContext, config: JobLogRetentionConfig, farm_db: FarmDbResource
) -> dg.Output[int]:
    """Delete TS_INS_JOB_LOG rows older than the retention, never those of a running job."""
    clock = Stopwatch()
    if not farm_db.is_oracle:
        with farm_db.begin() as conn:
            t.create_all(conn)
    now = now_kst()
    cutoff = retention.months_before(now, config.keep_months)
    result = retention.purge_job_log(
        farm_db.get_engine(),
        cutoff,
        batch_size=config.batch_size,
        max_batches=config.max_batches,
        dry_run=config.dry_run,
        log=context.log.info,
    )
    metadata = {
        "cutoff": cutoff.isoformat(timespec="seconds"),
        "keep_months": config.keep_months,
        "dry_run": config.dry_run,
        "rows_eligible": result.eligible,
        "rows_deleted": result.deleted,
        "rows_kept_running": result.kept_running,
        "rows_remaining": result.remaining,
        "batches": result.batches,
        "oldest_eligible": result.oldest.isoformat(timespec="seconds") if result.oldest else "",
        SOURCE: farm_db.source_label,
    }
    if result.remaining and not config.dry_run:
        context.log.warning(
            f"{result.remaining} old row(s) left after {result.batches} batch(es) of "
            f"{config.batch_size}; the next run continues"
        )
    # Shown on the ts_ins_job_log asset page next to the report runs that wrote the rows.
    context.log_event(
        dg.AssetObservation(
            asset_key="ts_ins_job_log",
            description=f"retention: rows started before {cutoff:%Y-%m-%d %H:%M} KST",
            metadata=metadata,
        )
    )
    return dg.Output(result.deleted, metadata=partition_metadata(elapsed=clock, **metadata))


@dg.job(
    name="inspig_job_log_retention_job",
    description="Delete TS_INS_JOB_LOG rows older than 6 months (keep_months), in batches.",
    tags=ORACLE_TAGS,
)
def inspig_job_log_retention_job() -> None:
    """TS_INS_JOB_LOG retention."""
    delete_old_job_log()


JOBS = [
    inspig_weekly_report_job,
    inspig_productivity_weekly_job,
    inspig_productivity_monthly_job,
    inspig_farm_report_job,
    inspig_job_log_retention_job,
]
