"""`daily_pothole_report`: the daily email, mailed once per day unless asked to send again."""

from datetime import date
from typing import Any

import dagster as dg
import pandas as pd
import sqlalchemy as sa
from pydantic import Field

from pothole_assets import lake_io as lk
from pothole_assets import report, schema, serving
from pothole_assets.assets.common import daily_backfill, day_metadata, run_metadata
from pothole_assets.keys import GROUP, REPORT
from pothole_assets.partitions import partition_days, pothole_daily_partitions
from pothole_assets.sources import PotholeResource
from resources.lake import LakeResource
from resources.mailer import Attachment, MailerResource
from resources.metadata import Stopwatch, partition_metadata
from resources.policies import retry_policy
from resources.warehouse import WarehouseResource


class ReportConfig(dg.Config):
    """Options of the daily report run."""

    resend: bool = Field(
        default=False,
        description="Mail the report again for days whose report was already sent",
    )


def already_sent(previous: Any) -> dict[str, Any]:
    """A day's metadata when its report was mailed before (and is not sent again)."""
    return partition_metadata(
        rows=previous.top_rows,
        subject=previous.subject,
        destination=previous.destination,
        status="already sent",
        sent_at=previous.sent_at.isoformat(),
        sent_by_run=previous.run_id or "-",
    )


def read_addresses(warehouse: WarehouseResource) -> pd.DataFrame:
    """Road name and district of every geocoded segment (the map names its roads with them)."""
    table = schema.segment_address
    with warehouse.begin() as conn:
        result = conn.execute(sa.select(table.c.s_id, table.c.road_name, table.c.district))
        return pd.DataFrame(result.fetchall(), columns=["s_id", "road_name", "district"])


def no_data_reason(day: date, figures: dict[str, Any]) -> str:
    """Why `day` has no report to mail."""
    if not figures.get("readings"):
        return f"{day}: no readings in {schema.pothole_segments.name} (the day's data is missing)"
    return (
        f"{day}: {figures['readings']:,} readings but no rows in {schema.REPAIR_PRIORITY} "
        "(the view was not refreshed for the day)"
    )


def send_day(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    mailer: MailerResource,
    recipients: list[str],
    map_data: tuple[pd.DataFrame, pd.DataFrame],
    day: date,
    top: pd.DataFrame,
    figures: dict[str, Any],
) -> tuple[str, str]:
    """Mail `day`'s report (its top rows, figures and map) and record it; subject, destination."""
    # matplotlib loads only in the step that draws a map, not with every step of the location.
    from pothole_assets.report_map import render_map

    segments, addresses = map_data
    picture = Attachment(
        f"pothole_map_{day.isoformat()}.png",
        render_map(segments, top, addresses, day),
        "image/png",
        inline_cid=report.MAP_CID,
    )
    subject = report.subject(day)
    destination = str(
        mailer.send(
            to=recipients,
            subject=subject,
            html=report.render_html(day, top, figures),
            text=report.render_text(day, top),
            attachments=[picture],
        )
    )
    # recorded at once, in its own transaction: a later day's failure keeps this record
    with warehouse.begin() as conn:
        serving.record_report_sent(
            conn, day, recipients, subject, destination, len(top), context.run.run_id
        )
    context.log.info(f"report {day} sent to {', '.join(recipients)} via {destination}")
    return subject, destination


@dg.asset(
    name=REPORT,
    group_name=GROUP,
    deps=[schema.REPAIR_PRIORITY, schema.HEATMAP],
    partitions_def=pothole_daily_partitions,
    backfill_policy=daily_backfill,
    kinds={"email"},
    # SMTP refusals are usually transient (greylisting, a busy relay): wait longer between tries.
    retry_policy=retry_policy(max_retries=2, delay=30),
)
def daily_pothole_report(
    context: dg.AssetExecutionContext,
    config: ReportConfig,
    lake: LakeResource,
    warehouse: WarehouseResource,
    mailer: MailerResource,
    pothole: PotholeResource,
) -> dg.MaterializeResult:
    """Daily email of the top-5 repair priorities, the day's key figures and a map."""
    clock = Stopwatch()
    if not pothole.report_to:
        raise dg.Failure(
            "daily_pothole_report: no recipients (set POTHOLE_REPORT_TO)", allow_retries=False
        )
    warehouse.create_tables(schema.metadata)
    map_data = (lk.read_segments(lake), read_addresses(warehouse))
    days = partition_days(context)
    recipients = list(pothole.report_to)
    sent: dict[date, dict[str, Any]] = {}
    not_sent: dict[date, str] = {}
    for day in days:
        # A retry or re-execution of a range must not mail the days it already mailed. A record
        # without rows is a "no data" notice of an earlier version, not a report: it is replaced.
        with warehouse.begin() as conn:
            previous = serving.report_sent(conn, day)
            top = serving.top_priorities(conn, day)
            figures = serving.daily_kpi(conn, day)
            figures["complaints"] = serving.complaints_on(conn, day)
        if previous is not None and previous.top_rows > 0 and not config.resend:
            context.log.info(
                f"report {day} was already sent at {previous.sent_at.isoformat()} "
                f"(run {previous.run_id}); not sent again (run config resend: true sends it)"
            )
            sent[day] = already_sent(previous)
            continue
        if top.empty:
            # Nothing is mailed or recorded: once the day's data is loaded, a re-run mails it.
            not_sent[day] = no_data_reason(day, figures)
            continue
        subject, destination = send_day(
            context, warehouse, mailer, recipients, map_data, day, top, figures
        )
        sent[day] = partition_metadata(
            rows=len(top),
            subject=subject,
            destination=destination,
            status="sent again" if previous is not None and previous.top_rows else "sent",
            **{k: v for k, v in figures.items() if isinstance(v, int | str)},
        )
    if not_sent:
        raise dg.Failure(
            f"daily_pothole_report: no report for {len(not_sent)} day(s), nothing mailed or "
            "recorded for them; re-run them once their data is loaded: "
            + "; ".join(not_sent.values()),
            metadata={
                "days_not_sent": ", ".join(d.isoformat() for d in not_sent),
                "days_sent": ", ".join(d.isoformat() for d in sent) or "-",
            },
            allow_retries=False,
        )
    day_metadata(context, REPORT, sent)
    return dg.MaterializeResult(
        metadata={"recipients": ", ".join(recipients), **run_metadata(days, clock)}
    )
