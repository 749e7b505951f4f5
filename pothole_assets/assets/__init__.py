"""Assets of the pothole pipeline: raw input → Spark stages → PostgreSQL → views → email.

One module per concern: `raw` (the observed input), `reference` (road network, bumps, grades,
complaints), `spark` (Stage 1 and 2), `warehouse` (PostgreSQL), `views` and `report`.
"""

from pothole_assets.assets.raw import raw_sensor_data
from pothole_assets.assets.reference import (
    pothole_complaints,
    road_segments,
    segment_road_grade,
    speed_bumps,
)
from pothole_assets.assets.report import daily_pothole_report
from pothole_assets.assets.spark import pothole_spark_stages
from pothole_assets.assets.views import (
    mvw_dashboard_heatmap,
    mvw_dashboard_repair_priority,
    mvw_dashboard_weekly_stats,
)
from pothole_assets.assets.warehouse import pothole_segments, segment_address
from pothole_assets.keys import SPARK_POOL

__all__ = [
    "SPARK_POOL",
    "daily_pothole_report",
    "mvw_dashboard_heatmap",
    "mvw_dashboard_repair_priority",
    "mvw_dashboard_weekly_stats",
    "pothole_complaints",
    "pothole_segments",
    "pothole_spark_stages",
    "raw_sensor_data",
    "road_segments",
    "segment_address",
    "segment_road_grade",
    "speed_bumps",
]
