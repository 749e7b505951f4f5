"""Code location 'energy': solar PV and weather collection."""

from energy_assets import assets, checks
from energy_assets.jobs import JOBS
from energy_assets.schedules import build_schedules
from energy_assets.sensors import build_sensors, energy_failure_message
from energy_assets.sources import domain_resources
from resources import load_settings, location_definitions

settings = load_settings()
defs = location_definitions(
    "energy",
    settings,
    asset_modules=[assets],
    check_modules=[checks],
    jobs=JOBS,
    schedules=build_schedules(settings),
    sensors=build_sensors(settings),
    resources=domain_resources(settings),
    failure_formatter=energy_failure_message,
)
