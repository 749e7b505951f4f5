"""`daily_pothole_report`: the daily email, mailed once per day unless asked to send again."""

from datetime import date
from typing import Any

import dagster as dg
import pandas as pd
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


def send_day(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    mailer: MailerResource,
    recipients: list[str],
    segments: pd.DataFrame,
    day: date,
) -> tuple[str, str, int, dict[str, Any]]:
    """Mail `day`'s report and record it; its subject, destination, top rows and figures."""
    with warehouse.begin() as conn:
        top = serving.top_priorities(conn, day)
        figures = serving.daily_kpi(conn, day)
        figures["complaints"] = serving.complaints_on(conn, day)
    attachments = []
    if len(top):
        attachments.append(
            Attachment(
                f"pothole_map_{day.isoformat()}.png",
                report.render_map(segments, top, day),
                "image/png",
                inline_cid=report.MAP_CID,
            )
        )
    subject = report.subject(day)
    destination = str(
        mailer.send(
            to=recipients,
            subject=subject,
            html=report.render_html(day, top, figures, with_map=bool(attachments)),
            text=report.render_text(day, top),
            attachments=attachments,
        )
    )
    # recorded at once, in its own transaction: a later day's failure keeps this record
    with warehouse.begin() as conn:
        serving.record_report_sent(
            conn, day, recipients, subject, destination, len(top), context.run.run_id
        )
    context.log.info(f"report {day} sent to {', '.join(recipients)} via {destination}")
    return subject, destination, len(top), figures


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
    segments = lk.read_segments(lake)
    days = partition_days(context)
    recipients = list(pothole.report_to)
    sent: dict[date, dict[str, Any]] = {}
    for day in days:
        # A retry or re-execution of a range must not mail the days it already mailed.
        with warehouse.begin() as conn:
            previous = serving.report_sent(conn, day)
        if previous is not None and not config.resend:
            context.log.info(
                f"report {day} was already sent at {previous.sent_at.isoformat()} "
                f"(run {previous.run_id}); not sent again (run config resend: true sends it)"
            )
            sent[day] = already_sent(previous)
            continue
        subject, destination, top_rows, figures = send_day(
            context, warehouse, mailer, recipients, segments, day
        )
        sent[day] = partition_metadata(
            rows=top_rows,
            subject=subject,
            destination=destination,
            status="sent again" if previous is not None else "sent",
            **{k: v for k, v in figures.items() if isinstance(v, int | str)},
        )
    day_metadata(context, REPORT, sent)
    return dg.MaterializeResult(
        metadata={"recipients": ", ".join(recipients), **run_metadata(days, clock)}
    )
