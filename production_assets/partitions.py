"""Partitions of the production summaries."""

import dagster as dg

from resources.kst import KST_NAME

# The first month of the summaries, a code constant rather than a setting: the partitions are part
# of the asset's identity (its keys, its materialization history, backfills), so starting earlier
# is a change of the code, reviewed and deployed, not of the environment.
MONTHS_START = "2024-01-01"

# Calendar months in KST. end_offset=1 includes the running month, which the change sensor keeps
# current while the ERP adds rows to it.
production_monthly_partitions = dg.MonthlyPartitionsDefinition(
    start_date=MONTHS_START, timezone=KST_NAME, end_offset=1
)


def month_key(year_month: str) -> str:
    """Partition key of a `YYYY-MM` month."""
    return f"{year_month}-01"
