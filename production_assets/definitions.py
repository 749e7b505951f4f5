"""Code location 'production': the ERP's SQLite files, their maintenance and monthly summaries."""

from production_assets import assets, checks
from production_assets.jobs import JOBS
from production_assets.schedules import build_schedules
from production_assets.sensors import build_sensors
from production_assets.sources import domain_resources
from resources import load_settings, location_definitions

settings = load_settings()
defs = location_definitions(
    "production",
    settings,
    asset_modules=[assets],
    check_modules=[checks],
    jobs=JOBS,
    schedules=build_schedules(settings),
    sensors=build_sensors(settings),
    resources=domain_resources(settings),
)
