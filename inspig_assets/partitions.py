"""Partitions of the inspig location: report week × schedule group, weeks, months (KST)."""

import dagster as dg

from inspig_assets.options import GROUPS
from resources.kst import KST_NAME

START = "2024-01-01"

# Monday-start ISO weeks; the key is the report week's Monday (day_offset counts from Sunday = 0).
inspig_week_partitions = dg.WeeklyPartitionsDefinition(
    start_date=START, day_offset=1, timezone=KST_NAME
)
inspig_group_partitions = dg.StaticPartitionsDefinition(list(GROUPS))
inspig_report_partitions = dg.MultiPartitionsDefinition(
    {"week": inspig_week_partitions, "group": inspig_group_partitions}
)
inspig_month_partitions = dg.MonthlyPartitionsDefinition(start_date=START, timezone=KST_NAME)


def report_key(week: str, group: str) -> dg.MultiPartitionKey:
    """The multi-partition key of a week (its Monday, `YYYY-MM-DD`) and a schedule group."""
    return dg.MultiPartitionKey({"week": week, "group": group})


def split_report_key(key: str) -> tuple[str, str]:
    """(week Monday, group) of a report partition key."""
    dims = inspig_report_partitions.get_partition_key_from_str(key).keys_by_dimension
    return dims["week"], dims["group"]
