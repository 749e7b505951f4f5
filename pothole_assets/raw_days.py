"""What the lake holds of one raw day: files, bytes, newest object and completion marker."""

from datetime import datetime
from typing import Any

import dagster as dg

from pothole_assets import lake_io as lk
from resources.lake import LakeResource


def raw_day_status(lake: LakeResource, day_key: str) -> dict[str, Any]:
    """File count, bytes, newest object and completion marker of one raw day."""
    prefix = lk.day_prefix(lk.RAW_PREFIX, day_key)
    objects = lake.list(prefix)
    files = [o for o in objects if o.key.endswith(".parquet")]
    newest = max((o.modified for o in files), default=None)
    return {
        "files": len(files),
        "bytes": sum(o.size for o in files),
        "newest": newest,
        "newest_object": max(files, key=lambda o: o.modified).key if files else None,
        "success_marker": any(o.key.endswith(lk.SUCCESS_MARKER) for o in objects),
        "uri": lake.uri(prefix),
    }


def raw_signature(status: dict[str, Any]) -> str:
    """Files, bytes and newest time of a raw day: it changes whenever an object lands."""
    return f"{status['files']}:{status['bytes']}:{status['newest']}"


def raw_observation_metadata(status: dict[str, Any]) -> dict[str, Any]:
    """Observation metadata of a raw day, as shown in the UI."""
    newest = status["newest"]
    return {
        "file_count": status["files"],
        "bytes": status["bytes"],
        "newest_object": str(status["newest_object"] or "-"),
        "newest_modified": newest.isoformat() if isinstance(newest, datetime) else "-",
        "success_marker": bool(status["success_marker"]),
        "location": dg.MetadataValue.path(str(status["uri"])),
    }
