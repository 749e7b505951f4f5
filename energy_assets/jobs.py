"""Jobs (`JOBS`): daily weather and KOSPO, monthly KOEN, the full ETL, the start-date probe."""

import dagster as dg

from energy_assets.assets.nambu import nambu_generation, nambu_start_dates
from energy_assets.assets.namdong import namdong_generation
from energy_assets.assets.reference import nambu_plants, namdong_plants, plant_data_quality
from energy_assets.assets.weather import weather_asos, weather_asos_imputed

weather_daily_job = dg.define_asset_job(
    "weather_daily_job",
    selection=dg.AssetSelection.assets(weather_asos, weather_asos_imputed),
    description="One day (or a range) of ASOS weather and its gap-filled series.",
)
nambu_daily_job = dg.define_asset_job(
    "nambu_daily_job",
    selection=dg.AssetSelection.assets(nambu_generation, plant_data_quality),
    description="KOSPO hourly generation of a day (or a range); recent incomplete days healed; "
    "then the day's quality grades.",
)
namdong_monthly_job = dg.define_asset_job(
    "namdong_monthly_job",
    selection=dg.AssetSelection.assets(namdong_generation),
    description="KOEN hourly generation of a month from the CSV download.",
)
# A Dagster asset job holds one partitions definition: the monthly KOEN asset has its own job,
# and the daily assets with the plant tables and quality grades form the full ETL.
full_etl_job = dg.define_asset_job(
    "full_etl_job",
    selection=dg.AssetSelection.assets(
        weather_asos,
        weather_asos_imputed,
        nambu_generation,
        nambu_plants,
        namdong_plants,
        plant_data_quality,
    ),
    description="Every daily energy asset for a chosen date range (one run), then the plant tables "
    "and quality grades; config ops.nambu_generation.config.gencd / hogi restrict the plants.",
)
nambu_start_dates_job = dg.define_asset_job(
    "nambu_start_dates_job",
    selection=dg.AssetSelection.assets(nambu_start_dates),
    description="Probe every KOSPO unit's earliest day (about 22 API calls per unit).",
)

JOBS = [
    weather_daily_job,
    nambu_daily_job,
    namdong_monthly_job,
    full_etl_job,
    nambu_start_dates_job,
]
