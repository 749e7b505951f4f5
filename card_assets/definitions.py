"""Code location 'card': the 2-hourly sales-org extracts and per-user card pages.

Its steps are light (threads waiting on T2A, one pandas pass) and run in the run's own process:
no interpreter is started per step.
"""

import dagster as dg

from card_assets import assets, checks
from card_assets.jobs import JOBS
from card_assets.schedules import build_schedules
from card_assets.sources import domain_resources
from resources import load_settings, location_definitions

settings = load_settings()
defs = location_definitions(
    "card",
    settings,
    asset_modules=[assets],
    check_modules=[checks],
    jobs=JOBS,
    schedules=build_schedules(settings),
    resources=domain_resources(settings),
    executor=dg.in_process_executor,
)
