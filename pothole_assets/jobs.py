"""Jobs (`JOBS`): the batch day, and the reload of the reference data."""

import dagster as dg

from pothole_assets import schema
from pothole_assets.keys import (
    ADDRESS,
    COMPLAINTS,
    REPORT,
    ROAD_GRADE,
    ROAD_SEGMENTS,
    SEGMENTS,
    SPEED_BUMPS,
    STAGE1,
    STAGE2,
)

# The assets of one batch day, in order.
DAILY_ASSETS = [
    STAGE1,
    STAGE2,
    SEGMENTS,
    ADDRESS,
    schema.HEATMAP,
    schema.WEEKLY_STATS,
    schema.REPAIR_PRIORITY,
    REPORT,
]

pothole_daily_job = dg.define_asset_job(
    "pothole_daily_job",
    selection=dg.AssetSelection.assets(*DAILY_ASSETS),
    description="One batch day: Spark stages, PostgreSQL load, geocoding, views and the email.",
    # The instance allows one run at a time with this tag (dagster.yaml tag_concurrency_limits).
    tags={"platform/cluster": "pothole-spark"},
)
pothole_reference_job = dg.define_asset_job(
    "pothole_reference_job",
    selection=dg.AssetSelection.assets(ROAD_SEGMENTS, SPEED_BUMPS, ROAD_GRADE, COMPLAINTS),
    description="Reload the road network, bumps, road grades and citizen complaints.",
)

JOBS = [pothole_daily_job, pothole_reference_job]
