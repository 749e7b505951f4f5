"""Environment selection: the resources every code location binds, under the same keys."""

from typing import Any

import dagster as dg

from resources.alerts import AlertsResource, make_run_failure_alert_sensor
from resources.cluster import ClusterResource
from resources.farm_db import FarmDbResource
from resources.lake import LakeResource
from resources.mailer import MailerResource
from resources.retention import make_run_retention_job
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


def platform_definitions(location: str, settings: PlatformSettings | None = None) -> dg.Definitions:
    """What every location carries: shared resources, failure alerts and run retention.

    A domain merges its own definitions into these:
    `defs = dg.Definitions.merge(platform_definitions("card"), dg.Definitions(assets=[...]))`.
    """
    retention_job, retention_schedule = make_run_retention_job(location)
    return dg.Definitions(
        resources=platform_resources(location, settings),
        sensors=[make_run_failure_alert_sensor(location)],
        jobs=[retention_job],
        schedules=[retention_schedule],
    )
