"""`raw_sensor_data`: the raw vehicle sensor days in the lake, observed (never written by a run)."""

from collections.abc import Callable
from datetime import date, datetime, timedelta

import dagster as dg

from pothole_assets import lake_io as lk
from pothole_assets.keys import GROUP, RAW
from pothole_assets.partitions import pothole_daily_partitions
from pothole_assets.raw_days import raw_day_status, raw_observation_metadata, raw_signature
from pothole_assets.sources import PotholeResource
from resources.kst import now_kst
from resources.lake import LakeResource

# An observation looks at this many days back from today (KST).
OBSERVED_DAYS = 7


def _write_sample_day(
    context: dg.OpExecutionContext, lake: LakeResource, pothole: PotholeResource
) -> None:
    """Local mode: the sample day (the observed partition, else the latest) before listing."""
    key = (
        context.partition_key
        if context.has_partition_key
        else pothole_daily_partitions.get_last_partition_key()
    )
    if key is None:
        return
    written = lk.ensure_sample_day(lake, date.fromisoformat(key), pothole.sample_readings_per_day)
    if written:
        context.log.info(f"{RAW}: generated the sample day {key} ({written} readings)")


def build_raw_sensor_data(clock: Callable[[], datetime] = now_kst) -> dg.SourceAsset:
    """The observable raw input; `clock` gives the current time (KST) of each observation."""

    @dg.observable_source_asset(
        name=RAW,
        partitions_def=pothole_daily_partitions,
        group_name=GROUP,
        description="Raw vehicle sensor readings (10 Hz parquet) of a KST day in the lake.",
    )
    def raw_sensor_data(
        context: dg.OpExecutionContext, lake: LakeResource, pothole: PotholeResource
    ) -> dg.DataVersionsByPartition:
        """Raw vehicle sensor readings of a KST day, as they land in the lake."""
        if pothole.samples:
            # The sample day exists before the lake is listed, so that the first observation
            # (the demo's, on a fresh clone) reports its files rather than nothing.
            _write_sample_day(context, lake, pothole)
        today = clock().date()
        first = pothole_daily_partitions.start.strftime("%Y-%m-%d")
        for back in range(OBSERVED_DAYS):
            key = (today - timedelta(days=back)).isoformat()
            if key < first:
                break
            status = raw_day_status(lake, key)
            if status["files"]:
                # Logged here rather than returned: a returned DataVersionsByPartition carries
                # no metadata, and the UI should show the file count, bytes and newest object.
                context.log_event(
                    dg.AssetObservation(
                        asset_key=RAW,
                        partition=key,
                        metadata=raw_observation_metadata(status),
                        tags={"dagster/data_version": raw_signature(status)},
                    )
                )
        return dg.DataVersionsByPartition({})

    return raw_sensor_data


raw_sensor_data = build_raw_sensor_data()
