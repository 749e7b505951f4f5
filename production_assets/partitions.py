"""Partitions of the production summaries."""

import dagster as dg

from resources.settings import load_settings

# Calendar months in KST from PRODUCTION_MONTHS_START (default 2024-01-01, the sample data's first
# month). end_offset=1 includes the running month, which the change sensor keeps current while the
# ERP adds rows to it.
production_monthly_partitions = dg.MonthlyPartitionsDefinition(
    start_date=load_settings().production_months_start, timezone="Asia/Seoul", end_offset=1
)


def month_key(year_month: str) -> str:
    """Partition key of a `YYYY-MM` month."""
    return f"{year_month}-01"
