"""Stage 1 and Stage 2: one Spark step inside the EC2 cluster session, one day after another.

`spark_stages` (and so pyspark, which takes seconds to import) is imported by the step itself:
loading the code location does not need it.
"""

import tempfile
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from pothole_assets import checks
from pothole_assets import lake_io as lk
from pothole_assets.assets.common import daily_backfill, day_metadata, run_metadata
from pothole_assets.keys import GROUP, RAW, ROAD_SEGMENTS, SPARK_POOL, SPEED_BUMPS, STAGE1, STAGE2
from pothole_assets.partitions import partition_days, pothole_daily_partitions
from pothole_assets.sources import PotholeResource
from resources.cluster import ClusterResource
from resources.lake import LakeResource
from resources.metadata import REJECTED_BY_REASON, ROWS_REJECTED, Stopwatch, partition_metadata
from resources.spark import SparkResource


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
    day_tolerance_hours: float = Field(
        default=6.0,
        description="A reading counts in the batch day it was delivered in unless its timestamp "
        "lies more than this many hours outside that KST day (trips crossing midnight)",
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


def _day_record(figures: Any, raw_files: int, stage1_bytes: int, generated: int) -> dict[str, Any]:
    """One day's figures of both stages (`figures`: a `DayFigures`), as logged and reported."""
    result = figures.stage2
    return {
        "day": figures.day,
        "columns": figures.columns,
        "raw_files": raw_files,
        "input_rows": figures.input_rows,
        "rejected": figures.rejected,
        "rejected_by_reason": dict(figures.rejected_by_reason),
        "context_filtered": figures.context_filtered,
        "rows": figures.rows,
        "duplicates": figures.duplicates,
        "across_midnight": figures.across_midnight,
        "suspects": figures.suspects,
        "vetoed": figures.vetoed,
        "potholes": figures.potholes,
        "bytes": stage1_bytes,
        "sample_rows_generated": generated,
        "segments": len(result.counts),
        "points": result.points,
        "dropped_points": result.dropped_points,
        "dropped_potholes": result.dropped_potholes,
        "dropped_share": round(result.dropped_share, 5),
        "segments_with_impacts": int((result.counts["impact_count"] > 0).sum()),
    }


class DayRunner:
    """Runs the two stages of one day after another in one Spark session, against the lake."""

    def __init__(
        self,
        config: SparkStagesConfig,
        lake: LakeResource,
        lake_io: lk.SparkLakeIO,
        pothole: PotholeResource,
        session: Any,
    ) -> None:
        self.config, self.lake, self.lake_io, self.pothole = config, lake, lake_io, pothole
        from pothole_assets import spark_stages as st

        self.session = session
        self.params = st.Stage1Params()
        self.ranges = st.ValidRanges(day_tolerance_h=config.day_tolerance_hours)
        self.bumps = st.bump_index(session, lk.read_bumps(lake)[0], self.params.bump_cell_deg)
        self.segments = st.segment_index(
            session, lk.read_segments(lake), config.max_segment_distance_m
        )

    def run(self, day: date) -> dict[str, Any]:
        """Stage 1 and 2 of `day`, published to the lake.

        Raises `RawSchemaError` or `RawReadError` (naming the lake key) on bad input.
        """
        from pothole_assets import spark_stages as st

        clock = Stopwatch()
        lake, lake_io = self.lake, self.lake_io
        generated = (
            lk.ensure_sample_day(lake, day, self.pothole.sample_readings_per_day)
            if self.pothole.samples
            else 0
        )
        raw_prefix = lk.day_prefix(lk.RAW_PREFIX, day)
        raw_files = lk.parquet_objects(lake, raw_prefix)
        if not raw_files:
            raise dg.Failure(
                f"{STAGE1} {day}: no raw parquet under {lake.uri(raw_prefix)}",
                allow_retries=False,
            )
        rejected_prefix = lk.day_prefix(lk.STAGE1_REJECTED_PREFIX, day)
        out_prefix = lk.day_prefix(lk.STAGE1_PREFIX, day)
        paths = st.DayPaths(
            raw=lake_io.input_files(raw_prefix),
            stage1=lake_io.output_path(out_prefix),
            rejected=lake_io.output_path(rejected_prefix),
        )
        figures = st.run_day(
            self.session,
            day,
            paths,
            self.bumps,
            self.segments,
            self.params,
            self.config.output_partitions,
            self.ranges,
        )
        if figures.rejected:
            lake_io.publish(paths.rejected, rejected_prefix)
        else:
            lake.delete_prefix(rejected_prefix)
        written = lake_io.publish(paths.stage1, out_prefix)
        stage1_s = clock.elapsed() - figures.stage2_s
        clock = Stopwatch()
        prefix = lk.day_prefix(lk.STAGE2_PREFIX, day)
        key = f"{prefix}part-00000.parquet"
        lake.write_parquet(key, figures.stage2.counts)
        for obj in lake.list(prefix):
            if obj.key != key:
                lake.delete_prefix(obj.key)
        record = _day_record(figures, len(raw_files), written, generated)
        record["stage1_s"] = round(stage1_s, 2)
        record["stage2_s"] = round(figures.stage2_s + clock.elapsed(), 2)
        return record


def _schema_failure(context: dg.AssetExecutionContext, day: date, exc: Any) -> Iterator[Any]:
    """The failed schema check (when the run evaluates it), then the step's failure.

    `exc` is a `RawSchemaError`; the step's error starts with the first bad file's lake key.
    """
    if checks.selected(context, STAGE1, checks.RAW_INPUT_SCHEMA):
        # recorded as a failed check, not only as the step's error
        yield dg.AssetCheckResult(
            asset_key=STAGE1,
            check_name=checks.RAW_INPUT_SCHEMA,
            passed=False,
            description="; ".join(exc.problems)[:1000],
            metadata={
                "day": day.isoformat(),
                "problems": exc.problems,
                "bad_files": dg.MetadataValue.json(exc.files),
                "unreadable_files": exc.unreadable,
            },
        )
    if exc.unreadable:
        head = f"raw object {exc.unreadable[0]} is unreadable (not parquet, or truncated)"
    else:
        head = f"raw file {next(iter(exc.files), '-')} does not match the sensor schema"
    raise dg.Failure(
        f"{STAGE1} {day}: {head}. {len(exc.files)} raw file(s) do not match the sensor "
        f"schema or cannot be read: {'; '.join(exc.problems)}"[:2000],
        metadata={"problems": exc.problems},
        allow_retries=False,
    ) from None


def _span(days: list[dict[str, Any]]) -> str:
    """The run's days, as `first..last` (one day: that day)."""
    first, last = days[0]["day"], days[-1]["day"]
    return str(first) if first == last else f"{first}..{last}"


def _stage1_result(
    context: dg.AssetExecutionContext,
    config: SparkStagesConfig,
    lake: LakeResource,
    days: list[dict[str, Any]],
    common: dict[str, Any],
) -> dg.MaterializeResult:
    """Stage 1's materialization: each day's figures, and the checks over the whole run."""
    total_in = sum(d["input_rows"] for d in days)
    total_rejected = sum(d["rejected"] for d in days)
    by_reason: Counter[str] = Counter()
    for d in days:
        by_reason.update(d["rejected_by_reason"])
    share = total_rejected / total_in if total_in else 0.0
    check_results = []
    if checks.selected(context, STAGE1, checks.RAW_INPUT_SCHEMA):
        check_results.append(
            dg.AssetCheckResult(
                asset_key=STAGE1,
                check_name=checks.RAW_INPUT_SCHEMA,
                passed=True,
                metadata={"columns": days[-1]["columns"] if days else []},
            )
        )
    if checks.selected(context, STAGE1, checks.RAW_INPUT_VALID_RANGES):
        passed = share <= config.max_rejected_share
        verdict = (
            f"{total_rejected} of {total_in} raw rows ({share:.2%}) are outside the valid ranges "
            f"(limit {config.max_rejected_share:.2%}): "
            + (", ".join(f"{r} {n}" for r, n in by_reason.most_common()) or "none")
        )
        if not passed:
            # a blocking check: the run stops before the warehouse load and the report
            context.log.error(f"{checks.RAW_INPUT_VALID_RANGES} {_span(days)}: {verdict}")
        check_results.append(
            dg.AssetCheckResult(
                asset_key=STAGE1,
                check_name=checks.RAW_INPUT_VALID_RANGES,
                passed=passed,
                description=verdict,
                metadata={
                    "duplicates": sum(d["duplicates"] for d in days),
                    "counted_across_midnight": sum(d["across_midnight"] for d in days),
                    ROWS_REJECTED: total_rejected,
                    "rejected_share": round(share, 5),
                    REJECTED_BY_REASON: dict(by_reason),
                    "kept_aside_in": lake.uri(lk.STAGE1_REJECTED_PREFIX + "/"),
                },
            )
        )
    per_day = {
        d["day"]: partition_metadata(
            rows=d["rows"],
            rejected=d["rejected"],
            rejected_by_reason=d["rejected_by_reason"],
            elapsed=d["stage1_s"],
            input_rows=d["input_rows"],
            context_filtered=d["context_filtered"],
            duplicates=d["duplicates"],
            counted_across_midnight=d["across_midnight"],
            suspects=d["suspects"],
            vetoed_by_speed_bump=d["vetoed"],
            potholes=d["potholes"],
            raw_files=d["raw_files"],
            bytes=d["bytes"],
            sample_rows_generated=d["sample_rows_generated"],
            location=dg.MetadataValue.path(lake.uri(lk.day_prefix(lk.STAGE1_PREFIX, d["day"]))),
        )
        for d in days
    }
    day_metadata(context, STAGE1, per_day)
    return dg.MaterializeResult(asset_key=STAGE1, metadata=common, check_results=check_results)


def _stage2_result(
    context: dg.AssetExecutionContext,
    config: SparkStagesConfig,
    lake: LakeResource,
    days: list[dict[str, Any]],
    common: dict[str, Any],
) -> dg.MaterializeResult:
    """Stage 2's materialization: each day's figures, and the distance check over the run."""
    points = sum(d["points"] for d in days)
    dropped = sum(d["dropped_points"] for d in days)
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
    per_day = {
        d["day"]: partition_metadata(
            rows=d["segments"],
            elapsed=d["stage2_s"],
            points=d["points"],
            dropped_points=d["dropped_points"],
            dropped_potholes=d["dropped_potholes"],
            dropped_share=d["dropped_share"],
            segments_with_impacts=d["segments_with_impacts"],
            location=dg.MetadataValue.path(lake.uri(lk.day_prefix(lk.STAGE2_PREFIX, d["day"]))),
        )
        for d in days
    }
    day_metadata(context, STAGE2, per_day)
    return dg.MaterializeResult(
        asset_key=STAGE2,
        metadata={**common, "max_distance_m": config.max_segment_distance_m},
        check_results=check_results,
    )


@dg.multi_asset(
    name="pothole_spark_stages",
    specs=_stage_specs(),
    check_specs=[
        checks.spec(
            STAGE1,
            checks.RAW_INPUT_SCHEMA,
            "Every raw file of the day carries every sensor column with a usable type.",
            blocking=True,
        ),
        checks.spec(
            STAGE1,
            checks.RAW_INPUT_VALID_RANGES,
            "At most 1% of the raw rows are outside the valid ranges (those are "
            "excluded and kept aside in stage1_rejected/). Blocking: a day that fails it is "
            "not loaded or reported.",
            blocking=True,
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
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Stage 1 and Stage 2 in one cluster session, which is stopped whatever happens."""
    from pothole_assets.raw_input import RawReadError, RawSchemaError

    run_clock = Stopwatch()
    days = partition_days(context)
    records: list[dict[str, Any]] = []
    if pothole.samples:
        lk.ensure_sample_reference(lake)
    with cluster.running(context.log) as nodes, tempfile.TemporaryDirectory() as tmp:
        try:
            startup = Stopwatch()
            session = spark.get_session()
            startup_s = startup.elapsed()
            lake_io = lk.SparkLakeIO(lake, spark.master, Path(tmp), context.log)
            runner = DayRunner(config, lake, lake_io, pothole, session)
            for day in days:
                try:
                    record = runner.run(day)
                except RawSchemaError as exc:
                    yield from _schema_failure(context, day, exc)
                except RawReadError as exc:
                    raise dg.Failure(f"{STAGE1} {day}: {exc}", allow_retries=False) from None
                records.append(record)
                context.log.info(f"{STAGE1}/{STAGE2} {day}: {record}")
        finally:
            if cluster.enabled:
                # The session runs on the instances about to stop: end it first.
                spark.stop()
    common = {
        "spark_master": spark.master,
        "cluster_nodes": len(nodes),
        "spark_startup_s": startup_s,
        # the run's elapsed time; each day's own replaces it in that day's metadata
        **run_metadata(days, run_clock),
    }
    yield _stage1_result(context, config, lake, records, common)
    yield _stage2_result(context, config, lake, records, common)
