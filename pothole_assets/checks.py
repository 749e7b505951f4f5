"""Asset check names and specs of the pothole pipeline.

The checks are evaluated inside the asset that produces the data (they need the partition's own
figures: rows rejected, points dropped, rows loaded), and are declared here once.
"""

import dagster as dg

# raw input and the Spark stages
RAW_INPUT_SCHEMA = "raw_input_schema"
RAW_INPUT_VALID_RANGES = "raw_input_valid_ranges"
DISTANCE_RULE_DROP_SHARE = "distance_rule_drop_share"
# pothole_segments: counts consistent, ids present, row count stable from day to day
IMPACT_NOT_ABOVE_TOTAL = "impact_count_not_above_total_count"
NO_EMPTY_SEGMENT_ID = "no_empty_s_id"
DAY_OVER_DAY_ROW_CHANGE = "day_over_day_row_change_within_50pct"
# reference and serving tables
SEGMENTS_AT_MOST_50M = "segments_at_most_50m"
BUMPS_USABLE = "speed_bumps_usable"
EVERY_SEGMENT_GRADED = "every_segment_graded"
COMPLAINTS_MAPPED = "complaints_mapped_within_500m"
ADDRESS_COVERAGE = "segments_have_address"
VIEW_MATCHES_SEGMENTS = "view_matches_pothole_segments"
PRIORITY_RANKED = "priority_ranks_complete"

MAX_REJECTED_SHARE = 0.01
MAX_DROPPED_SHARE = 0.05


def spec(asset: str, name: str, description: str, blocking: bool = False) -> dg.AssetCheckSpec:
    """An asset check spec of the pothole group."""
    return dg.AssetCheckSpec(name=name, asset=asset, description=description, blocking=blocking)


def selected(context: dg.AssetExecutionContext, asset: str, name: str) -> bool:
    """True when the run evaluates check `name` of `asset`."""
    return dg.AssetCheckKey(dg.AssetKey(asset), name) in context.selected_asset_check_keys
