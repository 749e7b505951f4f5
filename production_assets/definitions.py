"""Code location 'production'."""

import dagster as dg

from resources import make_run_failure_alert_sensor, platform_resources

defs = dg.Definitions(
    resources=platform_resources("production"),
    sensors=[make_run_failure_alert_sensor("production")],
)
