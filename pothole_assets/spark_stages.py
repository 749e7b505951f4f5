"""Stage 1 (impact score with speed-bump veto) in PySpark, and one batch day: Stage 1 then Stage 2.

Stage 2 (nearest road segment) is in `pothole_assets.stage2`.

Pure DataFrame expressions only: no Python UDFs, so nothing beyond Spark itself is needed on the
cluster nodes (no pyarrow, scipy or pandas on the workers).
"""

import shutil
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import Column, DataFrame, Observation, Row, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_schema

from pothole_assets.cell_slots import slot_count, slot_frame
from pothole_assets.geo import bump_cells
from pothole_assets.raw_input import (
    RAW_SCHEMA,
    READ_ERRORS,
    RawFile,
    RawReadError,
    error_reason,
    named_file,
    read_raw,
)
from pothole_assets.raw_layout import MEASURE_COLUMNS
from pothole_assets.stage2 import (  # noqa: F401  (Stage 2's API, re-exported)
    SegmentIndex,
    Stage2Result,
    segment_index,
    segments_frame,
    stage2,
)
from resources.kst import KST
from resources.spark import sql_double

STAGE1_COLUMNS = ["timestamp", "lon", "lat", "impact_score", "is_pothole"]


@dataclass(frozen=True)
class Stage1Params:
    """Filters, weights and threshold of the impact score (the Stage 1 settings)."""

    velocity_threshold: float = 5.0
    hdop_threshold: float = 5.0
    min_satellites: int = 4
    weight_accel_z: float = 0.7
    weight_gyro_y: float = 0.3
    impact_threshold: float = 3.0
    bump_cell_deg: float = 0.0005


@dataclass(frozen=True)
class ValidRanges:
    """Physically possible values; rows outside are rejected with a reason, never kept."""

    lon: tuple[float, float] = (124.0, 132.0)
    lat: tuple[float, float] = (33.0, 43.0)
    velocity: tuple[float, float] = (0.0, 300.0)
    accel_abs: float = 100.0
    gyro_abs: float = 2000.0
    hdop: tuple[float, float] = (0.0, 99.99)
    satellites: tuple[int, int] = (0, 64)
    # A reading delivered in a day's batch counts in that day unless its timestamp lies more than
    # this many hours outside the KST day (a trip that crosses midnight is delivered whole).
    day_tolerance_h: float = 6.0

    def accepted_ms(self, day: date) -> tuple[int, int]:
        """Epoch milliseconds [start, end) of the timestamps a batch day accepts."""
        start_ms, end_ms = day_bounds_ms(day)
        tolerance = round(self.day_tolerance_h * 3_600_000)
        return start_ms - tolerance, end_ms + tolerance


def day_bounds_ms(day: date) -> tuple[int, int]:
    """Epoch milliseconds of the KST day [start, end)."""
    start = datetime(day.year, day.month, day.day, tzinfo=KST)
    end = start + timedelta(days=1)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def reject_reason(day: date, ranges: ValidRanges = ValidRanges()) -> Column:
    """Why a raw row is unusable (null when it is valid); the first failing rule wins."""
    start_ms, end_ms = ranges.accepted_ms(day)
    nulls = None
    for f in RAW_SCHEMA.fields:
        cond = F.col(f.name).isNull()
        nulls = cond if nulls is None else nulls | cond
    assert nulls is not None
    nan = F.lit(False)
    for name in MEASURE_COLUMNS:
        nan = nan | F.isnan(name)
    accel = F.greatest(*(F.abs(F.col(c)) for c in ("accel_x", "accel_y", "accel_z")))
    gyro = F.greatest(*(F.abs(F.col(c)) for c in ("gyro_x", "gyro_y", "gyro_z")))
    return (
        F.when(nulls | nan, "missing_value")
        .when(
            (F.col("timestamp") < start_ms) | (F.col("timestamp") >= end_ms),
            "timestamp_outside_day",
        )
        .when(
            ~F.col("lon").between(*ranges.lon) | ~F.col("lat").between(*ranges.lat),
            "position_out_of_range",
        )
        .when(~F.col("velocity").between(*ranges.velocity), "velocity_out_of_range")
        .when(accel > ranges.accel_abs, "accel_out_of_range")
        .when(gyro > ranges.gyro_abs, "gyro_out_of_range")
        .when(~F.col("hdop").between(*ranges.hdop), "hdop_out_of_range")
        .when(~F.col("satellites").between(*ranges.satellites), "satellites_out_of_range")
    )


def flag_rows(raw: DataFrame, day: date, ranges: ValidRanges = ValidRanges()) -> DataFrame:
    """Raw rows plus `reject_reason`."""
    return raw.withColumn("reject_reason", reject_reason(day, ranges))


BUMP_FIELDS = ("bump_lat", "bump_lon", "half_deg")


def bumps_frame(spark: SparkSession, bumps: pd.DataFrame, cell_deg: float) -> DataFrame:
    """Per degree-cell, the bumps whose veto box reaches it (broadcast to every task).

    The bumps are numbered columns `bump_lat_i`, `bump_lon_i`, `half_deg_i` (`cell_slots`).
    """
    return slot_frame(spark, bump_cells(bumps, cell_deg), BUMP_FIELDS)


def bump_index(spark: SparkSession, bumps: pd.DataFrame, cell_deg: float) -> DataFrame:
    """`bumps_frame` built once and kept in memory, for a run of several days."""
    frame = bumps_frame(spark, bumps, cell_deg).cache()
    frame.count()
    return frame


REJECT_REASONS = (
    "missing_value",
    "timestamp_outside_day",
    "position_out_of_range",
    "velocity_out_of_range",
    "accel_out_of_range",
    "gyro_out_of_range",
    "hdop_out_of_range",
    "satellites_out_of_range",
)


def context_filter(params: Stage1Params = Stage1Params()) -> Column:
    """The context filter: velocity > 5, hdop ≤ 5, satellites ≥ 4."""
    return (
        (F.col("velocity") > params.velocity_threshold)
        & (F.col("hdop") <= params.hdop_threshold)
        & (F.col("satellites") >= params.min_satellites)
    )


def trip_stats(
    flagged: DataFrame, params: Stage1Params = Stage1Params()
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Per-trip statistics and the count per reject reason, in one pass over the flagged rows.

    Mean and sample std of accel_z and gyro_y are taken over the trip's valid rows that pass the
    context filter. The statistics are small (one row per trip) and are broadcast back by `stage1`.
    """
    valid = F.col("reject_reason").isNull()
    kept = valid & context_filter(params)
    frame = (
        flagged.groupBy("trip_id")
        .agg(
            F.avg(F.when(kept, F.col("accel_z"))).alias("mu_a"),
            F.stddev_samp(F.when(kept, F.col("accel_z"))).alias("sd_a"),
            F.avg(F.when(kept, F.col("gyro_y"))).alias("mu_g"),
            F.stddev_samp(F.when(kept, F.col("gyro_y"))).alias("sd_g"),
            F.count(F.when(valid, 1)).alias("valid"),
            *[F.count(F.when(F.col("reject_reason") == r, 1)).alias(r) for r in REJECT_REASONS],
        )
        .toPandas()
    )
    counts = {"valid": int(frame["valid"].sum())}
    counts.update({r: int(frame[r].sum()) for r in REJECT_REASONS if frame[r].sum()})
    return frame[["trip_id", "mu_a", "sd_a", "mu_g", "sd_g"]], counts


def trip_statistics(kept: DataFrame) -> DataFrame:
    """`kept` plus the mean and sample std of accel_z and gyro_y over each row's trip.

    Window functions over a trip partition: one shuffle of the rows, no second read of them.
    """
    trip = Window.partitionBy("trip_id")
    return kept.select(
        "*",
        F.avg("accel_z").over(trip).alias("mu_a"),
        F.stddev_samp("accel_z").over(trip).alias("sd_a"),
        F.avg("gyro_y").over(trip).alias("mu_g"),
        F.stddev_samp("gyro_y").over(trip).alias("sd_g"),
    )


def stage1(
    valid: DataFrame,
    bumps: DataFrame,
    params: Stage1Params = Stage1Params(),
    stats: DataFrame | None = None,
) -> DataFrame:
    """Impact score per reading and the speed-bump veto; every reading that passes the filter.

    - context filter: velocity > 5, hdop ≤ 5, satellites ≥ 4;
    - per-trip z-scores of accel_z and gyro_y (sample std over the trip's filtered rows; 0 when the
      std is null or 0), score = 0.7·|z(accel_z)| + 0.3·|z(gyro_y)|;
    - score > 3.0 is a suspect; a suspect inside a bump's box (half its length) is vetoed.

    The trip statistics are window aggregates over the trip (`trip_statistics`), or the given
    per-trip `stats` (`trip_stats`) broadcast back; bumps are found by a broadcast cell lookup.
    """
    return score_readings(valid.filter(context_filter(params)), bumps, params, stats)


def score_readings(
    ctx: DataFrame,
    bumps: DataFrame,
    params: Stage1Params = Stage1Params(),
    stats: DataFrame | None = None,
) -> DataFrame:
    """`stage1` of readings that already passed the context filter.

    The formulas are SQL text: a projection is then one call to build, not one per operator.
    """
    p = params
    if stats is None:
        ctx = trip_statistics(ctx)
    else:
        ctx = ctx.join(F.broadcast(stats), "trip_id")

    def z(column: str, mu: str, sd: str) -> str:
        return f"CASE WHEN {sd} IS NULL OR {sd} = 0 THEN 0D ELSE ({column} - {mu}) / {sd} END"

    weighted = (
        f"{sql_double(p.weight_accel_z)} * abs({z('accel_z', 'mu_a', 'sd_a')})"
        f" + {sql_double(p.weight_gyro_y)} * abs({z('gyro_y', 'mu_g', 'sd_g')})"
    )
    cell = sql_double(p.bump_cell_deg)
    scored = ctx.selectExpr(
        "timestamp",
        "lon",
        "lat",
        f"{weighted} AS impact_score",
        # int cell keys: Spark packs the pair into one long for the broadcast lookup
        f"CAST(floor(lat / {cell}) AS INT) AS cy",
        f"CAST(floor(lon / {cell}) AS INT) AS cx",
    )
    joined = scored.join(F.broadcast(bumps), ["cy", "cx"], "left")

    def inside(i: int) -> str:
        # a reading in bump i's box (false where the cell has no bump i, or no bumps at all)
        lat, lon, half = (f"{name}_{i}" for name in BUMP_FIELDS)
        box = f"abs(lat - {lat}) <= {half} AND abs(lon - {lon}) * cos(radians(lat)) <= {half}"
        return f"coalesce({box}, false)"

    near_bump = " OR ".join(inside(i) for i in range(slot_count(bumps, BUMP_FIELDS[0]))) or "false"
    return joined.selectExpr(
        "timestamp",
        "lon",
        "lat",
        "impact_score",
        f"CASE WHEN impact_score > {sql_double(p.impact_threshold)} AND NOT ({near_bump})"
        " THEN 1 ELSE 0 END AS is_pothole",
    )


def stats_frame(spark: SparkSession, stats: pd.DataFrame) -> DataFrame:
    """The collected trip statistics as a (broadcastable) DataFrame."""
    schema = T.StructType(
        [T.StructField("trip_id", T.StringType())]
        + [T.StructField(c, T.DoubleType()) for c in ("mu_a", "sd_a", "mu_g", "sd_g")]
    )
    clean = stats.astype(object).where(stats.notna(), None)
    return spark.createDataFrame(clean.to_dict("records") if len(clean) else [], schema)


# -- one batch day: Stage 1 then Stage 2 ---------------------------------------------------------
# Rejected rows collected in memory while Stage 1 writes its output; a day with more (far beyond
# the 1% its check allows) writes them from the raw rows in a pass of their own. (At most 100,000:
# the limit of `min_by`'s k.)
REJECTS_IN_MEMORY = 100_000


@dataclass(frozen=True)
class DayPaths:
    """Where Spark reads a day's raw files and writes its Stage 1 output and rejected rows."""

    raw: list[RawFile]
    stage1: str
    rejected: str


@dataclass
class DayFigures:
    """What one day's Stage 1 and Stage 2 produced, and how long each took."""

    day: date
    columns: list[str]
    input_rows: int
    rejected_by_reason: dict[str, int]
    rows: int
    suspects: int
    vetoed: int
    potholes: int
    stage2: Stage2Result
    stage1_s: float
    stage2_s: float
    duplicates: int = 0
    across_midnight: int = 0

    @property
    def rejected(self) -> int:
        """Raw rows outside the valid ranges (written to the rejected path)."""
        return sum(self.rejected_by_reason.values())

    @property
    def context_filtered(self) -> int:
        """Valid rows the context filter removed (slow, imprecise, few satellites)."""
        return self.input_rows - self.rejected - self.duplicates - self.rows


# What Stage 1 needs of a reading after the duplicates are dropped.
SCORED_INPUT = ["trip_id", "timestamp", "accel_z", "gyro_y", "lon", "lat"]


def unique_readings(kept: DataFrame) -> DataFrame:
    """The rows that passed the filters, `duplicate` where one repeats a (trip_id, timestamp).

    A reading uploaded twice counts once. Of copies that differ, the one with the greatest
    (accel_z, gyro_y, lon, lat) is kept: the values Stage 1 scores and writes, so whichever of
    equal copies is kept the output is the same, on every re-run. Only those columns travel.
    The rows are partitioned by trip and sorted by time within it, which is also what the trip
    statistics need: one shuffle and one sort serve both, and each trip is one window (not one
    per reading).
    """
    values = [F.col(c).desc() for c in SCORED_INPUT if c not in ("trip_id", "timestamp")]
    in_trip = Window.partitionBy("trip_id").orderBy("timestamp", *values)
    repeats = F.lag("timestamp").over(in_trip) == F.col("timestamp")
    return (
        kept.select(*SCORED_INPUT)
        .repartition("trip_id")
        .select(*SCORED_INPUT, F.coalesce(repeats, F.lit(False)).alias("duplicate"))
    )


def run_day(
    session: SparkSession,
    day: date,
    paths: DayPaths,
    bumps: DataFrame,
    segments: SegmentIndex,
    params: Stage1Params = Stage1Params(),
    output_partitions: int = 4,
    ranges: ValidRanges = ValidRanges(),
) -> DayFigures:
    """Stage 1 and Stage 2 of one KST day.

    Raises `RawSchemaError` when a raw file does not fit or cannot be read, `RawReadError` when
    Spark fails on a raw object while reading it; both name the object by its lake address.

    Stage 1 reads the raw day once: the rows are counted on the way in and the rejected ones
    collected (up to `REJECTS_IN_MEMORY`), the valid rows passing the context filter shuffled by
    trip, duplicates of a reading dropped (`unique_readings`), the trip statistics taken
    (`trip_statistics`), scored and written. Only the columns Stage 1 scores travel past the
    read; a rejected row is kept whole, as one column that is null on every other row. The
    collected rejects are counted per reason and written from the driver; only a day with more
    reads the raw rows once more to write and count them.
    Stage 2 maps the written Stage 1 output to the segments (`segment_index`). Stage 1's own
    counts (rows written, suspects, potholes, readings across midnight) are taken in that same
    read, not in a pass of their own; the duplicates are the rows kept less the rows written.
    """
    started = time.perf_counter()
    raw, columns = read_raw(session, paths.raw)
    flagged = flag_rows(raw, day, ranges)
    counted = Observation(f"stage1 input {day.isoformat()}")
    # what Stage 1 needs of each row, and the whole row only where it is rejected
    reason = F.col("reject_reason")
    rejected = reason.isNotNull()
    source = flagged.select(
        *SCORED_INPUT,
        (reason.isNull() & context_filter(params)).alias("kept"),
        F.when(rejected, F.struct(*flagged.columns)).alias("rejected"),
        # the order rejects are kept in (null timestamps first); null on the other rows
        F.when(rejected, F.coalesce("timestamp", F.lit(-(2**63)))).alias("reject_order"),
    ).observe(counted, *_input_columns())
    kept = source.filter("kept").drop("kept", "rejected", "reject_order")
    unique = unique_readings(kept).filter(~F.col("duplicate")).drop("duplicate")
    scored = score_readings(unique, bumps, params)
    # no-op when there are fewer partitions already
    scored = scored.coalesce(output_partitions)
    try:
        scored.write.mode("overwrite").option("compression", "snappy").parquet(paths.stage1)
    except READ_ERRORS as exc:
        # a failure on one raw object (a corrupt page behind a valid footer) names its lake key
        reason = error_reason(exc, paths.raw)
        name = named_file(reason, paths.raw)
        if name is None:
            raise
        raise RawReadError(name, reason) from None
    counts = counted.get
    reasons = _write_rejects(session, flagged, counts["rejects"] or [], paths.rejected)
    stage1_s = time.perf_counter() - started
    started = time.perf_counter()
    # read back with the schema it was written with: Spark need not infer it from the files
    written = session.read.schema(scored.schema).parquet(paths.stage1)
    start_ms, end_ms = day_bounds_ms(day)
    result = stage2(
        session,
        written,
        segments,
        day,
        segments.max_distance_m,
        # Stage 1's own counts, taken as Stage 2 reads its output: no pass of their own
        tallies={
            "suspects": f"impact_score > {sql_double(params.impact_threshold)}",
            "across_midnight": f"timestamp < {start_ms} OR timestamp >= {end_ms}",
        },
    )
    suspects = result.tallies["suspects"]
    return DayFigures(
        day=day,
        columns=columns,
        input_rows=int(counts["input_rows"]),
        rejected_by_reason=reasons,
        rows=result.points,
        suspects=suspects,
        vetoed=suspects - result.potholes,
        potholes=result.potholes,
        stage2=result,
        stage1_s=round(stage1_s, 2),
        stage2_s=round(time.perf_counter() - started, 2),
        duplicates=int(counts["kept"]) - result.points,
        across_midnight=result.tallies["across_midnight"],
    )


def _input_columns() -> list[Column]:
    """Raw rows, rows `kept` (valid and past the context filter), and the first rejected rows.

    The rejected rows by time (null timestamps first), at most `REJECTS_IN_MEMORY` of them: a
    bounded top-k, collected on the driver as the day is read.
    """
    return [
        F.count(F.lit(1)).alias("input_rows"),
        F.count_if("kept").alias("kept"),
        F.min_by("rejected", "reject_order", REJECTS_IN_MEMORY).alias("rejects"),
    ]


def _write_rejects(
    session: SparkSession, flagged: DataFrame, collected: list[Row], path: str
) -> dict[str, int]:
    """Write the day's rejected rows, with their reason, as one parquet file; count per reason.

    Rejects collected in full on the driver (fewer than `REJECTS_IN_MEMORY`) are written from
    there: by pyarrow to a local folder, else by Spark from the rows. More are read again from
    the raw rows and counted in that pass.
    """
    if len(collected) >= REJECTS_IN_MEMORY:
        rejects = flagged.filter("reject_reason IS NOT NULL")
        rejects.coalesce(1).write.mode("overwrite").parquet(path)
        counts = session.read.parquet(path).groupBy("reject_reason").count().collect()
        return {r["reject_reason"]: int(r["count"]) for r in counts}
    if collected and "://" not in path:
        schema = to_arrow_schema(flagged.schema)
        table = pa.Table.from_pylist([r.asDict() for r in collected], schema=schema)
        shutil.rmtree(path, ignore_errors=True)  # what Spark's overwrite does
        Path(path).mkdir(parents=True)
        pq.write_table(table, Path(path) / "part-00000.snappy.parquet", compression="snappy")
    elif collected:
        rows = session.createDataFrame(collected, flagged.schema)
        rows.coalesce(1).write.mode("overwrite").parquet(path)
    found = Counter(r["reject_reason"] for r in collected)
    return {r: found[r] for r in REJECT_REASONS if found[r]}
