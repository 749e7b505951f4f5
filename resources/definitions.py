"""Environment selection: the resources every code location binds, under the same keys."""

from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

import dagster as dg

from resources.alerts import AlertsResource, FailureFormatter, make_run_failure_alert_sensor
from resources.cluster import ClusterResource
from resources.farm_db import FarmDbResource
from resources.lake import LakeResource
from resources.mailer import MailerResource
from resources.retention import TagRetention, make_run_retention_job
from resources.settings import PlatformSettings, load_settings
from resources.spark import SparkResource
from resources.warehouse import WarehouseResource


def _secret(settings: PlatformSettings, name: str) -> Any:
    """An EnvVar reference (its value never shows in the UI) when set, else None."""
    return dg.EnvVar(name) if getattr(settings, name.lower()) else None


def platform_resources(
    location: str, settings: PlatformSettings | None = None
) -> dict[str, dg.ConfigurableResource]:
    """Resources of `location`; in prod, refuses to load when required variables are missing."""
    settings = settings or load_settings()
    settings.require(location)
    home = settings.home
    warehouse = WarehouseResource(
        url=_secret(settings, "WAREHOUSE_URL"), embedded_dir=str(home / "pg")
    )
    return {
        "warehouse": warehouse,
        "farm_db": FarmDbResource(
            oracle_url=_secret(settings, "INSPIG_ORACLE_URL"), warehouse=warehouse
        ),
        "lake": LakeResource(
            url=settings.lake_url,
            local_root=str(home / "lake"),
            region=settings.aws_region,
            endpoint_url=settings.aws_endpoint_url,
        ),
        "cluster": ClusterResource(
            instance_ids=settings.cluster_instance_ids,
            region=settings.aws_region,
            endpoint_url=settings.aws_endpoint_url,
        ),
        "spark": SparkResource(
            master=settings.spark_master or "local[*]",
            s3_region=settings.aws_region if settings.lake_url else None,
            s3_endpoint_url=settings.aws_endpoint_url if settings.lake_url else None,
        ),
        "alerts": AlertsResource(
            webhook_url=_secret(settings, "SLACK_WEBHOOK_URL"),
            bot_token=_secret(settings, "SLACK_BOT_TOKEN"),
            channel=settings.slack_channel,
            webserver_url=settings.webserver_url,
        ),
        "mailer": MailerResource(
            host=settings.smtp_host,
            port=settings.smtp_port,
            user=settings.smtp_user,
            password=_secret(settings, "SMTP_PASSWORD"),
            mail_from=settings.sender,
            outbox_dir=str(home / "outbox"),
        ),
    }


def platform_definitions(
    location: str,
    settings: PlatformSettings | None = None,
    failure_formatter: FailureFormatter | None = None,
    run_retention: TagRetention | None = None,
) -> dg.Definitions:
    """What every location carries: shared resources, failure alerts and run retention.

    A domain merges its own definitions into these:
    `defs = dg.Definitions.merge(platform_definitions("card"), dg.Definitions(assets=[...]))`.
    """
    retention_job, retention_schedule = make_run_retention_job(location, run_retention)
    return dg.Definitions(
        resources=platform_resources(location, settings),
        sensors=[make_run_failure_alert_sensor(location, failure_formatter)],
        jobs=[retention_job],
        schedules=[retention_schedule],
    )


def _load_assets(modules: Sequence[ModuleType]) -> list[Any]:
    """Every asset of `modules`; a package (an `assets/` folder) is searched with its submodules."""
    found: list[Any] = []
    for module in modules:
        if hasattr(module, "__path__"):
            found.extend(dg.load_assets_from_package_module(module))
        else:
            found.extend(dg.load_assets_from_modules([module]))
    return found


def location_definitions(
    location: str,
    settings: PlatformSettings,
    *,
    asset_modules: Sequence[ModuleType] = (),
    check_modules: Sequence[ModuleType] = (),
    jobs: Sequence[Any] = (),
    schedules: Sequence[dg.ScheduleDefinition] = (),
    sensors: Sequence[dg.SensorDefinition] = (),
    resources: Mapping[str, Any] | None = None,
    failure_formatter: FailureFormatter | None = None,
    run_retention: TagRetention | None = None,
    executor: dg.ExecutorDefinition | None = None,
) -> dg.Definitions:
    """A code location, assembled by the one recipe every domain follows.

    `settings` are loaded once by the location's `definitions.py` and passed here and to the
    domain's resource, schedule and sensor factories; assets and checks are collected from their
    modules; the platform's shared resources, failure alerts (worded by `failure_formatter` when
    the domain has its own text) and run retention (by a run tag's value, with `run_retention`) are
    merged in. `executor` replaces Dagster's default (a process per step) for the location's jobs.
    """
    return dg.Definitions.merge(
        platform_definitions(location, settings, failure_formatter, run_retention),
        dg.Definitions(
            assets=_load_assets(asset_modules),
            asset_checks=[
                check
                for module in check_modules
                for check in dg.load_asset_checks_from_modules([module])
            ],
            jobs=list(jobs),
            schedules=list(schedules),
            sensors=list(sensors),
            resources=dict(resources or {}),
            executor=executor,
        ),
    )
