"""Code location 'inspig': the weekly pig-farm report."""

from inspig_assets import assets, checks, weather_assets
from inspig_assets.jobs import JOBS
from inspig_assets.run_retention import run_retention_policy
from inspig_assets.schedules import build_schedules
from inspig_assets.sources import domain_resources
from inspig_assets.weather_assets import WEATHER_JOBS, weather_resources
from resources import load_settings, location_definitions

settings = load_settings()
defs = location_definitions(
    "inspig",
    settings,
    asset_modules=[assets, weather_assets],
    check_modules=[checks],
    jobs=[*JOBS, *WEATHER_JOBS],
    schedules=build_schedules(settings),
    resources={**domain_resources(settings), **weather_resources(settings)},
    run_retention=run_retention_policy(settings.inspig_run_retention_days),
)
