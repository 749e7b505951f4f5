"""Jobs: the weekly report, productivity, and the single-farm rebuild the web system calls."""

import dagster as dg
from pydantic import Field

from inspig_assets.assets import (
    prepare_farm_db,
    ts_ins_weekly_report,
    ts_productivity,
    ts_productivity_monthly,
)
from inspig_assets.periods import ReportWeek, now_kst, parse_ymd
from inspig_assets.productivity import StatPeriod, save_rows
from inspig_assets.report import RunOptions, RunRefused, run_week
from inspig_assets.sources import ProductivityApiResource
from resources.farm_db import FarmDbResource

inspig_weekly_report_job = dg.define_asset_job(
    "inspig_weekly_report_job",
    selection=dg.AssetSelection.assets(ts_ins_weekly_report),
    description="Build the weekly farm reports of one week and schedule group.",
)
inspig_productivity_weekly_job = dg.define_asset_job(
    "inspig_productivity_weekly_job",
    selection=dg.AssetSelection.assets(ts_productivity),
    description="Collect weekly productivity (PERIOD W) of the service farms.",
)
inspig_productivity_monthly_job = dg.define_asset_job(
    "inspig_productivity_monthly_job",
    selection=dg.AssetSelection.assets(ts_productivity_monthly),
    description="Collect monthly productivity (PERIOD M) of every farm in use.",
)


class FarmReportConfig(dg.Config):
    """Which farm, and the day the report is requested (the report covers the week before)."""

    farm_no: int = Field(description="TA_FARM.FARM_NO")
    ins_date: str | None = Field(
        default=None, description="YYYYMMDD; default today (KST). The week before it is built."
    )


@dg.op(out=dg.Out(dict, description="masterSeq, shareToken, year, weekNo, dtFrom, dtTo, status"))
def build_farm_report(
    context: dg.OpExecutionContext,
    config: FarmReportConfig,
    farm_db: FarmDbResource,
    productivity_api: ProductivityApiResource,
) -> dg.Output[dict]:
    """Rebuild one farm's weekly report, subscribed or not (the web system's request)."""
    base = parse_ymd(config.ins_date) if config.ins_date else now_kst().date()
    week = ReportWeek.before(base)
    prepare_farm_db(farm_db, context.log)
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
        metadata={
            "master_seq": result.master_seq,
            "share_token": answer["shareToken"] or "",
            "week": week.label,
            "farm_no": config.farm_no,
            "sub_rows": result.sub_rows,
        },
    )


@dg.job(
    name="inspig_farm_report_job",
    description="Rebuild one farm's report for the week before ins_date (the web system calls it).",
)
def inspig_farm_report_job() -> None:
    """One farm, one week."""
    build_farm_report()
