"""Partitions of the card location: 2-hour windows in Asia/Seoul, keyed by their start."""

import dagster as dg

from card_assets.window import KEY_FORMAT
from resources.kst import KST_NAME

FIRST_WINDOW = "2026-01-01-00:00"

# end_offset=1: the window that has just started is a partition, so the tick at 14:00 computes
# the cards served during 14:00-16:00 (the original system's current window).
card_window_partitions = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 */2 * * *",
    start=FIRST_WINDOW,
    fmt=KEY_FORMAT,
    timezone=KST_NAME,
    end_offset=1,
)
