"""Partitions of the energy location (Asia/Seoul): daily ASOS and KOSPO, monthly KOEN."""

import dagster as dg

from resources.kst import KST_NAME

FIRST_DAY = "2024-01-01"

energy_daily_partitions = dg.DailyPartitionsDefinition(
    start_date=FIRST_DAY, timezone=KST_NAME, end_offset=0
)
energy_monthly_partitions = dg.MonthlyPartitionsDefinition(
    start_date=FIRST_DAY, timezone=KST_NAME, end_offset=0
)
