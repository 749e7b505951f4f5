"""Shared resources, settings and environment selection for every code location."""

from resources.alerts import AlertsResource, make_run_failure_alert_sensor
from resources.cluster import ClusterResource
from resources.definitions import location_definitions, platform_definitions, platform_resources
from resources.farm_db import FarmDbResource
from resources.kst import KST, now_kst, today_kst
from resources.lake import LakeResource
from resources.mailer import Attachment, MailerResource
from resources.metadata import Stopwatch, md_table, partition_metadata
from resources.policies import STANDARD_RETRY, retry_policy, schedule_status, sensor_status
from resources.settings import MissingSettingsError, PlatformSettings, load_settings
from resources.spark import SparkResource
from resources.warehouse import WarehouseResource

__all__ = [
    "KST",
    "STANDARD_RETRY",
    "AlertsResource",
    "Attachment",
    "ClusterResource",
    "FarmDbResource",
    "LakeResource",
    "MailerResource",
    "MissingSettingsError",
    "PlatformSettings",
    "SparkResource",
    "Stopwatch",
    "WarehouseResource",
    "load_settings",
    "location_definitions",
    "make_run_failure_alert_sensor",
    "md_table",
    "now_kst",
    "partition_metadata",
    "platform_definitions",
    "platform_resources",
    "retry_policy",
    "schedule_status",
    "sensor_status",
    "today_kst",
]
