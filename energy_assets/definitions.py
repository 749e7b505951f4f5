"""Code location 'energy'."""

import dagster as dg

from resources import make_run_failure_alert_sensor, platform_resources

defs = dg.Definitions(
    resources=platform_resources("energy"),
    sensors=[make_run_failure_alert_sensor("energy")],
)
