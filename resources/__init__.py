"""Shared resources, settings and environment selection for every code location."""

from resources.alerts import AlertsResource, make_run_failure_alert_sensor
from resources.cluster import ClusterResource
from resources.definitions import platform_definitions, platform_resources
from resources.farm_db import FarmDbResource
from resources.lake import LakeResource
from resources.mailer import Attachment, MailerResource
from resources.settings import MissingSettingsError, PlatformSettings, load_settings
from resources.spark import SparkResource
from resources.warehouse import WarehouseResource

__all__ = [
    "AlertsResource",
    "Attachment",
    "ClusterResource",
    "FarmDbResource",
    "LakeResource",
    "MailerResource",
    "MissingSettingsError",
    "PlatformSettings",
    "SparkResource",
    "WarehouseResource",
    "load_settings",
    "make_run_failure_alert_sensor",
    "platform_definitions",
    "platform_resources",
]
