"""Partitions of the production summaries."""

import dagster as dg

# Calendar months in KST. end_offset=1 includes the running month, which the change sensor keeps
# current while the ERP adds rows to it.
production_monthly_partitions = dg.MonthlyPartitionsDefinition(
    start_date="2024-01-01", timezone="Asia/Seoul", end_offset=1
)


def month_key(year_month: str) -> str:
    """Partition key of a `YYYY-MM` month."""
    return f"{year_month}-01"
