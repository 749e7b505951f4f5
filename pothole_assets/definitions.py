"""Code location 'pothole'."""

import dagster as dg

from resources import make_run_failure_alert_sensor, platform_resources

defs = dg.Definitions(
    resources=platform_resources("pothole"),
    sensors=[make_run_failure_alert_sensor("pothole")],
)
