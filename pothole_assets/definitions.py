"""Code location 'pothole': daily S3 → Spark → PostgreSQL pothole pipeline."""

from pothole_assets import assets
from pothole_assets.jobs import JOBS
from pothole_assets.schedules import build_schedules
from pothole_assets.sensors import build_sensors, pothole_failure_message
from pothole_assets.sources import domain_resources
from resources import load_settings, location_definitions

settings = load_settings()
defs = location_definitions(
    "pothole",
    settings,
    asset_modules=[assets],
    jobs=JOBS,
    schedules=build_schedules(settings),
    sensors=build_sensors(settings),
    resources=domain_resources(settings),
    failure_formatter=pothole_failure_message,
)
