"""Shared resources, settings and environment selection for every code location.

The names below are loaded on first use, so that a plain logic module importing
`resources.kst` (or any other submodule) does not pull in Dagster.
"""

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "AlertsResource": "resources.alerts",
    "Attachment": "resources.mailer",
    "ClusterResource": "resources.cluster",
    "FarmDbResource": "resources.farm_db",
    "KST": "resources.kst",
    "LakeResource": "resources.lake",
    "MailerResource": "resources.mailer",
    "MissingSettingsError": "resources.settings",
    "PlatformSettings": "resources.settings",
    "STANDARD_RETRY": "resources.policies",
    "SparkResource": "resources.spark",
    "Stopwatch": "resources.metadata",
    "WarehouseResource": "resources.warehouse",
    "load_settings": "resources.settings",
    "location_definitions": "resources.definitions",
    "make_run_failure_alert_sensor": "resources.alerts",
    "md_table": "resources.metadata",
    "now_kst": "resources.kst",
    "partition_metadata": "resources.metadata",
    "platform_definitions": "resources.definitions",
    "platform_resources": "resources.definitions",
    "retry_policy": "resources.policies",
    "schedule_status": "resources.policies",
    "sensor_status": "resources.policies",
    "today_kst": "resources.kst",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import the submodule that defines `name` when it is first asked for."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'resources' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
