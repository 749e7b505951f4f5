"""Daily partitions of the pothole pipeline: the batch date `dt`, a day in Asia/Seoul."""

from datetime import date

import dagster as dg

from resources.kst import KST_NAME

POTHOLE_START_DATE = "2026-01-01"

pothole_daily_partitions = dg.DailyPartitionsDefinition(
    start_date=POTHOLE_START_DATE, timezone=KST_NAME
)


def partition_days(context: dg.AssetExecutionContext) -> list[date]:
    """The batch dates of the run: one day, or every day of a backfilled range."""
    return [date.fromisoformat(key) for key in context.partition_keys]
