"""Code location 'pothole': daily S3 → Spark → PostgreSQL pothole pipeline."""

import dagster as dg

from pothole_assets import assets
from pothole_assets.schedules import build_pothole_daily_schedule
from pothole_assets.sensors import build_raw_sensor_data_sensor, pothole_run_success_sensor
from pothole_assets.sources import ComplaintsResource, KakaoResource, PotholeResource
from resources import platform_definitions
from resources.settings import load_settings

DAILY_ASSETS = [
    assets.STAGE1,
    assets.STAGE2,
    assets.SEGMENTS,
    assets.ADDRESS,
    "mvw_dashboard_heatmap",
    "mvw_dashboard_weekly_stats",
    "mvw_dashboard_repair_priority",
    assets.REPORT,
]

pothole_daily_job = dg.define_asset_job(
    "pothole_daily_job",
    selection=dg.AssetSelection.assets(*DAILY_ASSETS),
    description="One batch day: Spark stages, PostgreSQL load, geocoding, views and the email.",
    # The instance allows one run at a time with this tag (dagster.yaml tag_concurrency_limits).
    tags={"platform/cluster": "pothole-spark"},
)
pothole_reference_job = dg.define_asset_job(
    "pothole_reference_job",
    selection=dg.AssetSelection.assets(
        assets.ROAD_SEGMENTS, assets.SPEED_BUMPS, assets.ROAD_GRADE, assets.COMPLAINTS
    ),
    description="Reload the road network, bumps, road grades and citizen complaints.",
)


def domain_resources() -> dict[str, dg.ConfigurableResource]:
    """The pothole domain's own resources (Kakao, complaints API, options)."""
    settings = load_settings()
    local = not settings.is_prod
    recipients = [r.strip() for r in (settings.pothole_report_to or "").split(",") if r.strip()]
    if not recipients and local:
        recipients = ["road-safety@localhost"]
    return {
        "kakao": KakaoResource(
            api_key=dg.EnvVar("KAKAO_API_KEY") if settings.kakao_api_key else None,
            base_url=settings.kakao_api_url,
            use_sample=local,
        ),
        "complaints": ComplaintsResource(
            service_key=(
                dg.EnvVar("POTHOLE_COMPLAINTS_API_KEY")
                if settings.pothole_complaints_api_key
                else None
            ),
            url=settings.pothole_complaints_api_url,
            use_sample=local,
        ),
        "pothole": PotholeResource(samples=local, report_to=recipients),
    }


def _defs() -> dg.Definitions:
    settings = load_settings()
    running = settings.is_prod
    return dg.Definitions(
        assets=[
            assets.raw_sensor_data,
            assets.road_segments,
            assets.speed_bumps,
            assets.segment_road_grade,
            assets.pothole_complaints,
            assets.pothole_spark_stages,
            assets.pothole_segments,
            assets.segment_address,
            assets.mvw_dashboard_heatmap,
            assets.mvw_dashboard_weekly_stats,
            assets.mvw_dashboard_repair_priority,
            assets.daily_pothole_report,
        ],
        jobs=[pothole_daily_job, pothole_reference_job],
        schedules=[
            build_pothole_daily_schedule(
                pothole_daily_job.name,
                dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED,
            )
        ],
        sensors=[
            pothole_run_success_sensor,
            build_raw_sensor_data_sensor(
                pothole_daily_job.name,
                dg.DefaultSensorStatus.RUNNING if running else dg.DefaultSensorStatus.STOPPED,
            ),
        ],
        resources=domain_resources(),
    )


defs = dg.Definitions.merge(platform_definitions("pothole"), _defs())
