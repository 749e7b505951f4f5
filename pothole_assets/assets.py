"""Assets of the pothole pipeline: raw input → Spark stages → PostgreSQL → views → email."""

import io
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
import pandas as pd
import requests
import sqlalchemy as sa
from pydantic import Field

from pothole_assets import checks, geo, reference, report, schema, serving
from pothole_assets import lake_io as lk
from pothole_assets.partitions import partition_days, pothole_daily_partitions
from pothole_assets.sources import ComplaintsResource, KakaoResource, PotholeResource, SourceError
from resources import (
    Attachment,
    ClusterResource,
    LakeResource,
    MailerResource,
    SparkResource,
    WarehouseResource,
)

GROUP = "pothole"
KST = ZoneInfo("Asia/Seoul")
SPARK_POOL = "spark_cluster"
COMPLAINT_MAX_DISTANCE_M = 500.0

RAW = "raw_sensor_data"
STAGE1 = "stage1_anomaly_detected"
STAGE2 = "stage2_spatial_clustering"
ROAD_SEGMENTS = "road_segments"
SPEED_BUMPS = "speed_bumps"
ROAD_GRADE = "segment_road_grade"
COMPLAINTS = "pothole_complaints"
SEGMENTS = "pothole_segments"
ADDRESS = "segment_address"
REPORT = "daily_pothole_report"

daily_backfill = dg.BackfillPolicy.single_run()


def _elapsed(start: float) -> float:
    return round(time.monotonic() - start, 2)


def _md_table(frame: pd.DataFrame) -> dg.MetadataValue:
    if frame.empty:
        return dg.MetadataValue.md("_no rows_")
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    sep = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return dg.MetadataValue.md("\n".join([header, sep, *body]))


def _day_metadata(
    context: dg.AssetExecutionContext, asset: str, per_day: Mapping[date, Mapping[str, Any]]
) -> None:
    """Attach each day's own figures to that day's materialization.

    A run over a range records one materialization per day, and metadata given to the
    `MaterializeResult` is copied onto every one of them; `add_asset_metadata(partition_key=…)`
    adds to (and overrides) it for one day. Call it before the `MaterializeResult` is returned.
    """
    for day, metadata in per_day.items():
        context.add_asset_metadata(dict(metadata), asset_key=asset, partition_key=day.isoformat())


def _run_metadata(days: list[date], start: float) -> dict[str, Any]:
    """What every day of a run shares: the run's days and its elapsed time."""
    span = days[0].isoformat() if len(days) == 1 else f"{days[0]}..{days[-1]}"
    return {"run_days": span, "elapsed_s": _elapsed(start)}


# -- raw input (external) -------------------------------------------------------------------------
def raw_day_status(lake: LakeResource, day_key: str) -> dict[str, object]:
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


def raw_observation_metadata(status: dict[str, object]) -> dict[str, Any]:
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
        # Local mode: the sample day exists before the lake is listed, so that the first
        # observation (the demo's, on a fresh clone) reports its files rather than nothing.
        key = (
            context.partition_key
            if context.has_partition_key
            else pothole_daily_partitions.get_last_partition_key()
        )
        if key is not None:
            written = lk.ensure_sample_day(
                lake, date.fromisoformat(key), pothole.sample_readings_per_day
            )
            if written:
                context.log.info(f"{RAW}: generated the sample day {key} ({written} readings)")
    today = datetime.now(KST).date()
    for back in range(7):
        key = (today - timedelta(days=back)).isoformat()
        if key < pothole_daily_partitions.start.strftime("%Y-%m-%d"):
            break
        status = raw_day_status(lake, key)
        if status["files"]:
            # Logged here rather than returned: a returned DataVersionsByPartition carries no
            # metadata, and the UI should show the file count, bytes and newest object.
            context.log_event(
                dg.AssetObservation(
                    asset_key=RAW,
                    partition=key,
                    metadata=raw_observation_metadata(status),
                    tags={
                        "dagster/data_version": (
                            f"{status['files']}:{status['bytes']}:{status['newest']}"
                        )
                    },
                )
            )
    return dg.DataVersionsByPartition({})


# -- static reference data ------------------------------------------------------------------------
@dg.asset(
    name=ROAD_SEGMENTS,
    group_name=GROUP,
    kinds={"s3", "csv"},
    check_specs=[
        checks.spec(
            ROAD_SEGMENTS,
            checks.SEGMENTS_AT_MOST_50M,
            "Every segment is a 50 m cut of its link (the last piece may be shorter).",
        )
    ],
)
def road_segments(lake: LakeResource, pothole: PotholeResource) -> dg.MaterializeResult:
    """50 m road segments of road 863 (s_id, link, start and end points) in the lake."""
    start = time.monotonic()
    seeded = lk.ensure_sample_reference(lake) if pothole.samples else []
    if not lake.exists(reference.ROAD_SEGMENTS_KEY):
        raise dg.Failure(f"road_segments: {lake.uri(reference.ROAD_SEGMENTS_KEY)} does not exist")
    segments = geo.with_midpoints(lk.read_segments(lake))
    longest = float(segments["length_m"].max()) if len(segments) else 0.0
    too_long = int((segments["length_m"] > 50.5).sum())
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(segments),
            "links": int(segments["link_id"].nunique()),
            "total_length_km": round(float(segments["length_m"].sum()) / 1000, 2),
            "source": "sample (local mode)" if pothole.samples else "lake",
            "sample_files_written": len(seeded),
            "location": dg.MetadataValue.path(lake.uri(reference.ROAD_SEGMENTS_KEY)),
            "elapsed_s": _elapsed(start),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=checks.SEGMENTS_AT_MOST_50M,
                passed=too_long == 0,
                metadata={"longer_than_50m": too_long, "longest_m": round(longest, 2)},
            )
        ],
    )


@dg.asset(
    name=SPEED_BUMPS,
    group_name=GROUP,
    kinds={"s3", "csv"},
    check_specs=[
        checks.spec(
            SPEED_BUMPS,
            checks.BUMPS_USABLE,
            "At most 5% of the bump rows lack a position or a length.",
        )
    ],
)
def speed_bumps(lake: LakeResource, pothole: PotholeResource) -> dg.MaterializeResult:
    """Speed bumps (position and length) whose box vetoes Stage 1 suspects."""
    start = time.monotonic()
    seeded = lk.ensure_sample_reference(lake) if pothole.samples else []
    if not lake.exists(reference.SPEED_BUMPS_KEY):
        raise dg.Failure(f"speed_bumps: {lake.uri(reference.SPEED_BUMPS_KEY)} does not exist")
    bumps, unusable = lk.read_bumps(lake)
    total = len(bumps) + unusable
    share = unusable / total if total else 0.0
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(bumps),
            "elapsed_s": _elapsed(start),
            "unusable_rows": unusable,
            "mean_length_cm": round(float(bumps["length_cm"].mean()), 1) if len(bumps) else 0.0,
            "source": "sample (local mode)" if pothole.samples else "lake",
            "sample_files_written": len(seeded),
            "location": dg.MetadataValue.path(lake.uri(reference.SPEED_BUMPS_KEY)),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=checks.BUMPS_USABLE,
                passed=share <= 0.05,
                metadata={"unusable_rows": unusable, "unusable_share": round(share, 4)},
            )
        ],
    )


@dg.asset(
    name=ROAD_GRADE,
    group_name=GROUP,
    deps=[ROAD_SEGMENTS],
    kinds={"postgres"},
    check_specs=[
        checks.spec(
            ROAD_GRADE,
            checks.EVERY_SEGMENT_GRADED,
            "Every segment has a 1–5 grade and its link was found in the link file.",
        )
    ],
)
def segment_road_grade(
    lake: LakeResource, warehouse: WarehouseResource, pothole: PotholeResource
) -> dg.MaterializeResult:
    """Weighted 1–5 road grade per segment (rank, lanes, speed limit, road type) in PostgreSQL."""
    start = time.monotonic()
    if pothole.samples:
        lk.ensure_sample_reference(lake)
    segments = lk.read_segments(lake)
    links = pd.read_csv(
        io.BytesIO(lake.get_bytes(reference.ROAD_LINKS_KEY)), dtype={"link_id": str}
    )
    grades = reference.segment_grades(segments, links)
    warehouse.create_tables(schema.metadata)
    frame = grades[["s_id", "link_id", "road_grade"]]
    with warehouse.begin() as conn:
        conn.execute(sa.delete(schema.segment_road_grade))
        warehouse.copy_frame(frame, schema.segment_road_grade, conn=conn)
    unmatched = int((~grades["matched"]).sum())
    distribution = grades["road_grade"].value_counts().sort_index()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(frame),
            "elapsed_s": _elapsed(start),
            "links": int(links["link_id"].nunique()),
            "unmatched_segments": unmatched,
            "grade_distribution": {str(k): int(v) for k, v in distribution.items()},
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=checks.EVERY_SEGMENT_GRADED,
                passed=unmatched == 0 and bool(grades["road_grade"].between(1, 5).all()),
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"unmatched_segments": unmatched},
            )
        ],
    )


class ComplaintsConfig(dg.Config):
    """Date range of the complaints to fetch (default: the last 365 days up to yesterday, KST)."""

    date_from: str | None = Field(default=None, description="YYYY-MM-DD")
    date_to: str | None = Field(default=None, description="YYYY-MM-DD")
    max_distance_m: float = COMPLAINT_MAX_DISTANCE_M


@dg.asset(
    name=COMPLAINTS,
    group_name=GROUP,
    deps=[ROAD_SEGMENTS],
    kinds={"postgres"},
    retry_policy=dg.RetryPolicy(
        max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
    ),
    check_specs=[
        checks.spec(
            COMPLAINTS,
            checks.COMPLAINTS_MAPPED,
            "Every stored complaint has a segment within 500 m.",
        )
    ],
)
def pothole_complaints(
    context: dg.AssetExecutionContext,
    config: ComplaintsConfig,
    lake: LakeResource,
    warehouse: WarehouseResource,
    complaints: ComplaintsResource,
    pothole: PotholeResource,
) -> dg.MaterializeResult:
    """Citizen pothole complaints mapped to their nearest segment within 500 m."""
    start = time.monotonic()
    yesterday = datetime.now(KST).date() - timedelta(days=1)
    last = date.fromisoformat(config.date_to) if config.date_to else yesterday
    first = date.fromisoformat(config.date_from) if config.date_from else last - timedelta(364)
    if pothole.samples:
        lk.ensure_sample_reference(lake)
    try:
        fetched = complaints.fetch(first, last)
    except SourceError as exc:
        raise dg.Failure(f"pothole_complaints {first}..{last}: {exc}") from exc
    usable = fetched.dropna()
    usable = usable[
        usable["event_lat"].between(*reference.VALID_LAT)
        & usable["event_lon"].between(*reference.VALID_LON)
    ].drop_duplicates(["create_dt", "event_lat", "event_lon"])
    segments = lk.read_segments(lake)
    nearest, distance = geo.nearest_segments(
        segments, usable["event_lon"].to_numpy(), usable["event_lat"].to_numpy()
    )
    usable = usable.assign(nearest_s_id=nearest, distance_m=distance.round(1))
    near = usable[usable["distance_m"] <= config.max_distance_m]
    warehouse.create_tables(schema.metadata)
    merged = (
        warehouse.upsert(
            near[["create_dt", "event_lat", "event_lon", "nearest_s_id", "distance_m"]],
            schema.pothole_complaints,
            ["create_dt", "event_lat", "event_lon"],
        )
        if len(near)
        else 0
    )
    unmapped = warehouse.read_frame(
        "SELECT COUNT(*) AS n FROM pothole_complaints "
        "WHERE nearest_s_id IS NULL OR distance_m > :m",
        {"m": config.max_distance_m},
    )["n"].iloc[0]
    context.log.info(f"complaints {first}..{last}: {len(fetched)} fetched, {len(near)} near a road")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(near),
            "elapsed_s": _elapsed(start),
            "fetched": len(fetched),
            "rejected_unusable": len(fetched) - len(usable),
            "farther_than_max": len(usable) - len(near),
            "merged": merged,
            "date_from": first.isoformat(),
            "date_to": last.isoformat(),
            "source": complaints.source,
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=checks.COMPLAINTS_MAPPED,
                passed=int(unmapped) == 0,
                metadata={"unmapped_rows": int(unmapped)},
            )
        ],
    )


# -- Spark stages ---------------------------------------------------------------------------------
class SparkStagesConfig(dg.Config):
    """Tunables of the two Spark stages."""

    max_segment_distance_m: float = Field(
        default=30.0, description="Points farther than this from every segment are dropped"
    )
    max_rejected_share: float = checks.MAX_REJECTED_SHARE
    max_dropped_share: float = checks.MAX_DROPPED_SHARE
    output_partitions: int = Field(
        default=4, description="At most this many parquet files per day (Stage 1)"
    )


def _stage_specs() -> list[dg.AssetSpec]:
    common = {"group_name": GROUP, "partitions_def": pothole_daily_partitions, "skippable": True}
    return [
        dg.AssetSpec(
            STAGE1,
            deps=[RAW, SPEED_BUMPS],
            kinds={"spark", "s3", "parquet"},
            description="Every reading that passes the context filter, with its impact score and "
            "pothole flag (speed bumps vetoed).",
            **common,
        ),
        dg.AssetSpec(
            STAGE2,
            deps=[STAGE1, ROAD_SEGMENTS],
            kinds={"spark", "s3", "parquet"},
            description="Readings per 50 m road segment and day: impact_count and total_count.",
            **common,
        ),
    ]


@dg.multi_asset(
    name="pothole_spark_stages",
    specs=_stage_specs(),
    check_specs=[
        checks.spec(
            STAGE1,
            checks.RAW_INPUT_SCHEMA,
            "The raw files carry every sensor column with a usable type.",
        ),
        checks.spec(
            STAGE1,
            checks.RAW_INPUT_VALID_RANGES,
            "At most 1% of the raw rows are outside the valid ranges (those are "
            "excluded and kept aside in stage1_rejected/).",
        ),
        checks.spec(
            STAGE2,
            checks.DISTANCE_RULE_DROP_SHARE,
            "At most 5% of the points are farther than the maximum distance from every segment.",
        ),
    ],
    backfill_policy=daily_backfill,
    pool=SPARK_POOL,
    op_tags={"pothole/spark": "true"},
)
def pothole_spark_stages(
    context: dg.AssetExecutionContext,
    config: SparkStagesConfig,
    lake: LakeResource,
    cluster: ClusterResource,
    spark: SparkResource,
    pothole: PotholeResource,
) -> Iterator[dg.MaterializeResult]:
    """Stage 1 and Stage 2 in one cluster session, which is stopped whatever happens."""
    from pothole_assets import spark_stages as st

    run_start = time.monotonic()
    days = partition_days(context)
    params = st.Stage1Params()
    stage1_meta: list[dict] = []
    stage2_meta: list[dict] = []
    rejected_by_reason: Counter[str] = Counter()
    schema_columns: list[str] = []
    if pothole.samples:
        lk.ensure_sample_reference(lake)
    with cluster.running(context.log) as nodes, tempfile.TemporaryDirectory() as tmp:
        try:
            start = time.monotonic()
            session = spark.get_session()
            startup_s = _elapsed(start)
            lake_io = lk.SparkLakeIO(lake, spark.master, Path(tmp), context.log)
            bumps = st.bumps_frame(session, lk.read_bumps(lake)[0], params.bump_cell_deg)
            segments = lk.read_segments(lake)
            for day in days:
                t0 = time.monotonic()
                generated = (
                    lk.ensure_sample_day(lake, day, pothole.sample_readings_per_day)
                    if pothole.samples
                    else 0
                )
                raw_prefix = lk.day_prefix(lk.RAW_PREFIX, day)
                raw_files = lk.parquet_objects(lake, raw_prefix)
                if not raw_files:
                    raise dg.Failure(
                        f"{STAGE1} {day}: no raw parquet under {lake.uri(raw_prefix)}",
                        allow_retries=False,
                    )
                raw = session.read.parquet(lake_io.input_path(raw_prefix))
                problems = st.check_raw_schema(raw.schema)
                if problems:
                    if checks.selected(context, STAGE1, checks.RAW_INPUT_SCHEMA):
                        # recorded as a failed check, not only as the step's error
                        yield dg.AssetCheckResult(
                            asset_key=STAGE1,
                            check_name=checks.RAW_INPUT_SCHEMA,
                            passed=False,
                            metadata={"day": day.isoformat(), "problems": problems},
                        )
                    raise dg.Failure(
                        f"{STAGE1} {day}: raw files under {lake.uri(raw_prefix)} do not match "
                        f"the sensor schema: {'; '.join(problems)}",
                        metadata={"problems": problems},
                        allow_retries=False,
                    )
                schema_columns = [f.name for f in raw.schema.fields]
                flagged = st.flag_rows(st.conform_raw(raw), day)
                # one pass: the trip statistics of the impact score and the reject counts
                stats, reasons = st.trip_stats(flagged, params)
                valid = reasons.pop("valid", 0)
                rejected = sum(reasons.values())
                rejected_by_reason.update(reasons)
                rejected_prefix = lk.day_prefix(lk.STAGE1_REJECTED_PREFIX, day)
                if rejected:
                    path = lake_io.output_path(rejected_prefix)
                    flagged.filter("reject_reason IS NOT NULL").coalesce(1).write.mode(
                        "overwrite"
                    ).parquet(path)
                    lake_io.publish(path, rejected_prefix)
                else:
                    lake.delete_prefix(rejected_prefix)
                out_prefix = lk.day_prefix(lk.STAGE1_PREFIX, day)
                out_path = lake_io.output_path(out_prefix)
                scored = st.stage1(
                    flagged.filter("reject_reason IS NULL"),
                    bumps,
                    params,
                    st.stats_frame(session, stats),
                )
                if scored.rdd.getNumPartitions() > config.output_partitions:
                    scored = scored.coalesce(config.output_partitions)
                scored.write.mode("overwrite").option("compression", "snappy").parquet(out_path)
                stage1_out = session.read.parquet(out_path)
                summary = st.stage1_summary(stage1_out, params.impact_threshold)
                written = lake_io.publish(out_path, out_prefix)
                stage1_meta.append(
                    {
                        "day": day.isoformat(),
                        "raw_files": len(raw_files),
                        "input_rows": valid + rejected,
                        "rejected_rows": rejected,
                        "rejected_by_reason": dict(reasons),
                        "context_filtered": valid - summary["rows"],
                        **summary,
                        "bytes": written,
                        "sample_rows_generated": generated,
                        "elapsed_s": _elapsed(t0),
                    }
                )
                context.log.info(f"{STAGE1} {day}: {stage1_meta[-1]}")
                t1 = time.monotonic()
                result = st.stage2(
                    session, stage1_out, segments, day, config.max_segment_distance_m
                )
                prefix = lk.day_prefix(lk.STAGE2_PREFIX, day)
                key = f"{prefix}part-00000.parquet"
                lake.write_parquet(key, result.counts)
                for obj in lake.list(prefix):
                    if obj.key != key:
                        lake.delete_prefix(obj.key)
                stage2_meta.append(
                    {
                        "day": day.isoformat(),
                        "segments": len(result.counts),
                        "points": result.points,
                        "dropped_points": result.dropped_points,
                        "dropped_potholes": result.dropped_potholes,
                        "dropped_share": round(result.dropped_share, 5),
                        "segments_with_impacts": int((result.counts["impact_count"] > 0).sum()),
                        "elapsed_s": _elapsed(t1),
                    }
                )
                context.log.info(f"{STAGE2} {day}: {stage2_meta[-1]}")
        finally:
            if cluster.enabled:
                # The session runs on the instances about to stop: end it first.
                spark.stop()

    common = {
        "spark_master": spark.master,
        "cluster_nodes": len(nodes),
        "spark_startup_s": startup_s,
        # the run's elapsed time; each day's own replaces it in that day's metadata
        **_run_metadata(days, run_start),
    }
    total_in = sum(m["input_rows"] for m in stage1_meta)
    total_rejected = sum(m["rejected_rows"] for m in stage1_meta)
    share = total_rejected / total_in if total_in else 0.0
    check_results = []
    if checks.selected(context, STAGE1, checks.RAW_INPUT_SCHEMA):
        check_results.append(
            dg.AssetCheckResult(
                asset_key=STAGE1,
                check_name=checks.RAW_INPUT_SCHEMA,
                passed=True,
                metadata={"columns": schema_columns},
            )
        )
    if checks.selected(context, STAGE1, checks.RAW_INPUT_VALID_RANGES):
        check_results.append(
            dg.AssetCheckResult(
                asset_key=STAGE1,
                check_name=checks.RAW_INPUT_VALID_RANGES,
                passed=share <= config.max_rejected_share,
                metadata={
                    "rejected_rows": total_rejected,
                    "rejected_share": round(share, 5),
                    "by_reason": dict(rejected_by_reason),
                    "kept_aside_in": lake.uri(lk.STAGE1_REJECTED_PREFIX + "/"),
                },
            )
        )
    _day_metadata(
        context,
        STAGE1,
        {
            date.fromisoformat(m["day"]): {
                "dagster/row_count": m["rows"],
                "input_rows": m["input_rows"],
                "rejected_rows": m["rejected_rows"],
                "rejected_by_reason": m["rejected_by_reason"],
                "context_filtered": m["context_filtered"],
                "suspects": m["suspects"],
                "vetoed_by_speed_bump": m["vetoed"],
                "potholes": m["potholes"],
                "raw_files": m["raw_files"],
                "bytes": m["bytes"],
                "sample_rows_generated": m["sample_rows_generated"],
                "elapsed_s": m["elapsed_s"],
                "location": dg.MetadataValue.path(
                    lake.uri(lk.day_prefix(lk.STAGE1_PREFIX, m["day"]))
                ),
            }
            for m in stage1_meta
        },
    )
    yield dg.MaterializeResult(asset_key=STAGE1, metadata=common, check_results=check_results)
    points = sum(m["points"] for m in stage2_meta)
    dropped = sum(m["dropped_points"] for m in stage2_meta)
    share = dropped / points if points else 0.0
    check_results = []
    if checks.selected(context, STAGE2, checks.DISTANCE_RULE_DROP_SHARE):
        check_results.append(
            dg.AssetCheckResult(
                asset_key=STAGE2,
                check_name=checks.DISTANCE_RULE_DROP_SHARE,
                passed=share <= config.max_dropped_share,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "dropped_points": dropped,
                    "dropped_share": round(share, 5),
                    "max_distance_m": config.max_segment_distance_m,
                },
            )
        )
    _day_metadata(
        context,
        STAGE2,
        {
            date.fromisoformat(m["day"]): {
                "dagster/row_count": m["segments"],
                "points": m["points"],
                "dropped_points": m["dropped_points"],
                "dropped_potholes": m["dropped_potholes"],
                "dropped_share": m["dropped_share"],
                "segments_with_impacts": m["segments_with_impacts"],
                "elapsed_s": m["elapsed_s"],
                "location": dg.MetadataValue.path(
                    lake.uri(lk.day_prefix(lk.STAGE2_PREFIX, m["day"]))
                ),
            }
            for m in stage2_meta
        },
    )
    yield dg.MaterializeResult(
        asset_key=STAGE2,
        metadata={**common, "max_distance_m": config.max_segment_distance_m},
        check_results=check_results,
    )


# -- PostgreSQL -----------------------------------------------------------------------------------
@dg.asset(
    name=SEGMENTS,
    group_name=GROUP,
    deps=[STAGE2],
    partitions_def=pothole_daily_partitions,
    backfill_policy=daily_backfill,
    kinds={"postgres"},
    check_specs=[
        checks.spec(
            SEGMENTS,
            checks.IMPACT_NOT_ABOVE_TOTAL,
            "No segment-day has impact_count > total_count.",
        ),
        checks.spec(SEGMENTS, checks.NO_EMPTY_SEGMENT_ID, "No row has an empty s_id."),
        checks.spec(
            SEGMENTS,
            checks.DAY_OVER_DAY_ROW_CHANGE,
            "The day's row count is within 50% of the previous loaded day.",
        ),
    ],
)
def pothole_segments(
    context: dg.AssetExecutionContext, lake: LakeResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Daily impact and traffic counts per road segment in PostgreSQL (monthly partitions)."""
    start = time.monotonic()
    days = partition_days(context)
    frames = []
    for day in days:
        prefix = lk.day_prefix(lk.STAGE2_PREFIX, day)
        try:
            frames.append(lake.read_parquet(prefix).assign(date=day))
        except FileNotFoundError as exc:
            raise dg.Failure(f"{SEGMENTS} {day}: no Stage 2 output ({exc})") from exc
    prepared = serving.prepare_segment_rows(pd.concat(frames, ignore_index=True))
    rows, refused = prepared.rows, prepared.rejected
    for day in days:
        bad_prefix = lk.day_prefix(lk.SEGMENTS_REJECTED_PREFIX, day)
        bad = refused[refused["date"] == day]
        if len(bad):
            lake.write_parquet(f"{bad_prefix}rejected.parquet", bad)
        else:
            lake.delete_prefix(bad_prefix)
    warehouse.create_tables(schema.metadata)
    with warehouse.begin() as conn:
        created = serving.ensure_month_partitions(conn, days)
    warehouse.replace_partition(
        rows, schema.pothole_segments, "date", days[0], days[-1] + timedelta(days=1)
    )
    with warehouse.begin() as conn:
        changes = [{"day": d.isoformat(), **serving.day_over_day(conn, d)} for d in days]
        over = conn.execute(
            sa.text(
                "SELECT COUNT(*) FROM pothole_segments WHERE date BETWEEN :a AND :b "
                "AND impact_count > total_count"
            ),
            {"a": days[0], "b": days[-1]},
        ).scalar_one()
    reasons = refused["reason"].value_counts().to_dict() if len(refused) else {}
    impact_refused = int(reasons.get("impact_exceeds_total", 0))
    empty_refused = int(reasons.get("empty_s_id", 0))
    per_day = {}
    for day, change in zip(days, changes, strict=True):
        day_rows = rows[rows["date"] == day]
        day_refused = refused[refused["date"] == day]
        per_day[day] = {
            "dagster/row_count": len(day_rows),
            "rejected_rows": len(day_refused),
            "rejected_by_reason": {
                str(k): int(v) for k, v in day_refused["reason"].value_counts().items()
            },
            "impact_total": int(day_rows["impact_count"].sum()),
            "readings_total": int(day_rows["total_count"].sum()),
            "previous_date": change["previous_date"] or "-",
            "previous_rows": change["previous_rows"],
            "day_over_day_change": change["change"],
        }
    _day_metadata(context, SEGMENTS, per_day)
    return dg.MaterializeResult(
        metadata={"partitions_created": created, **_run_metadata(days, start)},
        check_results=[
            dg.AssetCheckResult(
                check_name=checks.IMPACT_NOT_ABOVE_TOTAL,
                passed=impact_refused == 0 and over == 0,
                metadata={"rows_refused": impact_refused, "rows_in_table": int(over)},
            ),
            dg.AssetCheckResult(
                check_name=checks.NO_EMPTY_SEGMENT_ID,
                passed=empty_refused == 0,
                metadata={"rows_refused": empty_refused},
            ),
            dg.AssetCheckResult(
                check_name=checks.DAY_OVER_DAY_ROW_CHANGE,
                passed=all(c["within_limit"] for c in changes),
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"per_day": dg.MetadataValue.json(changes)},
            ),
        ],
    )


@dg.asset(
    name=ADDRESS,
    group_name=GROUP,
    deps=[SEGMENTS],
    partitions_def=pothole_daily_partitions,
    backfill_policy=daily_backfill,
    kinds={"postgres"},
    retry_policy=dg.RetryPolicy(
        max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
    ),
    check_specs=[
        checks.spec(
            ADDRESS,
            checks.ADDRESS_COVERAGE,
            "Segments of the day have an address (skipped without a Kakao key).",
        )
    ],
)
def segment_address(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, kakao: KakaoResource
) -> dg.MaterializeResult:
    """Road name and district of each segment, reverse-geocoded once per new segment (Kakao)."""
    start = time.monotonic()
    days = partition_days(context)
    warehouse.create_tables(schema.metadata)
    with warehouse.begin() as conn:
        missing = serving.segments_missing_address(conn, days[0], days[-1])
    if kakao.mode == "off":
        context.log.info("segment_address: no Kakao API key; reverse geocoding skipped")
        with warehouse.begin() as conn:
            coverage_by_day = serving.address_coverage_by_day(conn, days[0], days[-1])
        _day_metadata(
            context,
            ADDRESS,
            {
                day: {
                    "dagster/row_count": 0,
                    "segments": coverage_by_day.get(day, (0, 0))[0],
                    "segments_without_address": coverage_by_day.get(day, (0, 0))[1],
                }
                for day in days
            },
        )
        return dg.MaterializeResult(
            metadata={
                "skipped": True,
                "reason": "no KAKAO_API_KEY",
                "source": "off",
                **_run_metadata(days, start),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=checks.ADDRESS_COVERAGE,
                    passed=True,
                    metadata={"skipped": "no Kakao API key"},
                )
            ],
        )
    found: list[dict[str, Any]] = []
    not_found: Counter[date] = Counter()
    http = requests.Session()
    for row in missing.itertuples(index=False):
        try:
            answer = kakao.reverse_geocode(row.centroid_lon, row.centroid_lat, http)
        except SourceError as exc:
            raise dg.Failure(f"{ADDRESS} {days[0]}..{days[-1]}: {exc}") from exc
        if answer is None:
            not_found[row.first_date] += 1
            continue
        found.append(
            {
                "s_id": row.s_id,
                "road_name": answer[0],
                "district": answer[1],
                "centroid_lon": row.centroid_lon,
                "centroid_lat": row.centroid_lat,
                "source": kakao.mode,
                "updated_at": datetime.now(KST),
            }
        )
    if found:
        warehouse.upsert(pd.DataFrame(found), schema.segment_address, ["s_id"])
    with warehouse.begin() as conn:
        coverage_by_day = serving.address_coverage_by_day(conn, days[0], days[-1])
        still = len(serving.segments_missing_address(conn, days[0], days[-1]))
        total = conn.execute(
            sa.text(
                "SELECT COUNT(DISTINCT s_id) FROM pothole_segments WHERE date BETWEEN :a AND :b"
            ),
            {"a": days[0], "b": days[-1]},
        ).scalar_one()
    # a new segment counts on the first day of the run it appears on
    first_date = dict(zip(missing["s_id"], missing["first_date"], strict=True))
    written = Counter(first_date[f["s_id"]] for f in found)
    looked_up = Counter(missing["first_date"])
    per_day = {}
    for day in days:
        segments, without = coverage_by_day.get(day, (0, 0))
        per_day[day] = {
            "dagster/row_count": written[day],
            "looked_up": looked_up[day],
            "not_found": not_found[day],
            "segments": segments,
            "segments_without_address": without,
            "coverage": round(1 - without / segments, 4) if segments else 1.0,
        }
    _day_metadata(context, ADDRESS, per_day)
    coverage = 1 - still / total if total else 1.0
    return dg.MaterializeResult(
        metadata={"source": kakao.mode, **_run_metadata(days, start)},
        check_results=[
            dg.AssetCheckResult(
                check_name=checks.ADDRESS_COVERAGE,
                passed=coverage >= 0.95,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"segments_without_address": still, "coverage": round(coverage, 4)},
            )
        ],
    )


# -- materialized views ---------------------------------------------------------------------------
def _refresh(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, name: str, window_days: int
) -> tuple[dict[str, Any], pd.DataFrame, int]:
    """Create or refresh view `name`; its rows for the run's days (with their windows)."""
    days = partition_days(context)
    start = time.monotonic()
    warehouse.create_tables(schema.metadata)
    with warehouse.begin() as conn:
        created = serving.ensure_view(conn, name)
        if not created:
            serving.refresh_view(conn, name)
    with warehouse.begin() as conn:
        first = days[0] - timedelta(days=window_days - 1)
        rows = serving.view_rows(conn, name, first, days[-1])
        expected = conn.execute(
            sa.text("SELECT COUNT(*) FROM pothole_segments WHERE date BETWEEN :a AND :b"),
            {"a": first, "b": days[-1]},
        ).scalar_one()
    metadata: dict[str, Any] = {
        "created": created,
        "refresh": "created" if created else "REFRESH CONCURRENTLY",
        **_run_metadata(days, start),
    }
    return metadata, rows, int(expected)


def _window(rows: pd.DataFrame, day: date, window_days: int) -> tuple[str, pd.DataFrame]:
    """The dates a view shows for `day` ("first..day") and its rows of those dates."""
    first = day - timedelta(days=window_days - 1)
    shown = rows if rows.empty else rows[rows["date"].between(first, day)]
    return f"{first.isoformat()}..{day.isoformat()}", shown


def _view_asset(
    name: str, deps: list[str], description: str, window_days: int
) -> dg.AssetsDefinition:
    @dg.asset(
        name=name,
        group_name=GROUP,
        deps=deps,
        partitions_def=pothole_daily_partitions,
        backfill_policy=daily_backfill,
        kinds={"postgres"},
        description=description,
        check_specs=[
            checks.spec(
                name,
                checks.VIEW_MATCHES_SEGMENTS,
                "The view holds one row per pothole_segments row of its dates.",
            )
        ],
    )
    def _asset(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        metadata, rows, expected = _refresh(context, warehouse, name, window_days)
        per_day = {}
        for day in partition_days(context):
            dates, shown = _window(rows, day, window_days)
            figures: dict[str, Any] = {"dagster/row_count": len(shown), "dates": dates}
            if name == schema.HEATMAP and len(shown):
                top = shown.sort_values(["risk_rate", "s_id"], ascending=[False, True]).head(5)
                figures["highest_risk"] = _md_table(
                    top[["date", "s_id", "road_name", "impact_count", "total_count", "risk_rate"]]
                )
            if name == schema.WEEKLY_STATS and len(shown):
                by_date = shown.groupby("date")[["impact_count", "total_count"]].sum()
                figures["per_day"] = _md_table(by_date.reset_index())
            per_day[day] = figures
        _day_metadata(context, name, per_day)
        return dg.MaterializeResult(
            metadata=metadata,
            check_results=[
                dg.AssetCheckResult(
                    check_name=checks.VIEW_MATCHES_SEGMENTS,
                    passed=len(rows) == expected,
                    metadata={"view_rows": len(rows), "pothole_segments_rows": expected},
                )
            ],
        )

    return _asset


mvw_dashboard_heatmap = _view_asset(
    schema.HEATMAP,
    [SEGMENTS, ADDRESS],
    "Risk map of the day: impacts, traffic and risk rate per segment with its address.",
    window_days=1,
)
mvw_dashboard_weekly_stats = _view_asset(
    schema.WEEKLY_STATS,
    [SEGMENTS, ADDRESS],
    "Seven days up to the batch date, per segment and weekday.",
    window_days=7,
)


@dg.asset(
    name=schema.REPAIR_PRIORITY,
    group_name=GROUP,
    deps=[SEGMENTS, ADDRESS, COMPLAINTS, ROAD_GRADE],
    partitions_def=pothole_daily_partitions,
    backfill_policy=daily_backfill,
    kinds={"postgres"},
    check_specs=[
        checks.spec(
            schema.REPAIR_PRIORITY,
            checks.PRIORITY_RANKED,
            "Every segment of the day is ranked, starting at 1, with a score.",
        )
    ],
)
def mvw_dashboard_repair_priority(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Repair priority of the day: impacts + 50 per complaint + 10 × road grade, ranked."""
    metadata, rows, expected = _refresh(context, warehouse, schema.REPAIR_PRIORITY, 1)
    per_day = {}
    for day in partition_days(context):
        dates, shown = _window(rows, day, 1)
        figures: dict[str, Any] = {"dagster/row_count": len(shown), "dates": dates}
        if len(shown):
            figures["top_5"] = _md_table(
                shown.head(5)[
                    [
                        "priority_rank",
                        "s_id",
                        "road_name",
                        "total_impacts",
                        "complaint_count",
                        "priority_score",
                    ]
                ]
            )
        per_day[day] = figures
    _day_metadata(context, schema.REPAIR_PRIORITY, per_day)
    ranks_ok = bool(
        len(rows) == expected
        and (
            rows.empty
            or (
                (rows.groupby("date")["priority_rank"].min() == 1).all()
                and rows["priority_score"].notna().all()
            )
        )
    )
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[
            dg.AssetCheckResult(
                check_name=checks.PRIORITY_RANKED,
                passed=ranks_ok,
                metadata={"ranked_rows": len(rows), "pothole_segments_rows": expected},
            )
        ],
    )


# -- report ---------------------------------------------------------------------------------------
class ReportConfig(dg.Config):
    """Options of the daily report run."""

    resend: bool = Field(
        default=False,
        description="Mail the report again for days whose report was already sent",
    )


@dg.asset(
    name=REPORT,
    group_name=GROUP,
    deps=[schema.REPAIR_PRIORITY, schema.HEATMAP],
    partitions_def=pothole_daily_partitions,
    backfill_policy=daily_backfill,
    kinds={"email"},
    retry_policy=dg.RetryPolicy(
        max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
    ),
)
def daily_pothole_report(
    context: dg.AssetExecutionContext,
    config: ReportConfig,
    lake: LakeResource,
    warehouse: WarehouseResource,
    mailer: MailerResource,
    pothole: PotholeResource,
) -> dg.MaterializeResult:
    """Daily email of the top-5 repair priorities, the day's key figures and a map."""
    start = time.monotonic()
    if not pothole.report_to:
        raise dg.Failure(
            "daily_pothole_report: no recipients (set POTHOLE_REPORT_TO)", allow_retries=False
        )
    warehouse.create_tables(schema.metadata)
    segments = lk.read_segments(lake)
    days = partition_days(context)
    sent: dict[date, dict[str, Any]] = {}
    for day in days:
        # A retry or re-execution of a range must not mail the days it already mailed.
        with warehouse.begin() as conn:
            previous = serving.report_sent(conn, day)
        if previous is not None and not config.resend:
            context.log.info(
                f"report {day} was already sent at {previous.sent_at.isoformat()} "
                f"(run {previous.run_id}); not sent again (run config resend: true sends it)"
            )
            sent[day] = {
                "dagster/row_count": previous.top_rows,
                "subject": previous.subject,
                "destination": previous.destination,
                "status": "already sent",
                "sent_at": previous.sent_at.isoformat(),
                "sent_by_run": previous.run_id or "-",
            }
            continue
        with warehouse.begin() as conn:
            top = serving.top_priorities(conn, day)
            figures = serving.daily_kpi(conn, day)
            figures["complaints"] = conn.execute(
                sa.text("SELECT COUNT(*) FROM pothole_complaints WHERE create_dt = :d"),
                {"d": day},
            ).scalar_one()
        attachments = []
        if len(top):
            png = report.render_map(segments, top, day)
            attachments.append(
                Attachment(
                    f"pothole_map_{day.isoformat()}.png",
                    png,
                    "image/png",
                    inline_cid=report.MAP_CID,
                )
            )
        subject = report.subject(day)
        destination = mailer.send(
            to=list(pothole.report_to),
            subject=subject,
            html=report.render_html(day, top, figures, with_map=bool(attachments)),
            text=report.render_text(day, top),
            attachments=attachments,
        )
        # recorded at once, in its own transaction: a later day's failure keeps this record
        with warehouse.begin() as conn:
            serving.record_report_sent(
                conn,
                day,
                list(pothole.report_to),
                subject,
                str(destination),
                len(top),
                context.run.run_id,
            )
        context.log.info(f"report {day} sent to {', '.join(pothole.report_to)} via {destination}")
        sent[day] = {
            "dagster/row_count": len(top),
            "subject": subject,
            "destination": str(destination),
            "status": "sent again" if previous is not None else "sent",
            **{k: v for k, v in figures.items() if isinstance(v, int | str)},
        }
    _day_metadata(context, REPORT, sent)
    return dg.MaterializeResult(
        metadata={"recipients": ", ".join(pothole.report_to), **_run_metadata(days, start)}
    )
