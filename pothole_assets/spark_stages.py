"""Stage 1 (impact score with speed-bump veto) and Stage 2 (nearest road segment) in PySpark.

Pure DataFrame expressions only: no Python UDFs, so nothing beyond Spark itself is needed on the
cluster nodes (no pyarrow, scipy or pandas on the workers).
"""

import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pandas as pd
from pyspark.sql import Column, DataFrame, Observation, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pothole_assets.geo import LocalProjection, bump_cells, segment_cells, with_midpoints
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
from resources.kst import KST

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


def bumps_frame(spark: SparkSession, bumps: pd.DataFrame, cell_deg: float) -> DataFrame:
    """Per degree-cell, the bumps whose veto box reaches it (broadcast to every task)."""
    cells = bump_cells(bumps, cell_deg)
    schema = T.StructType(
        [
            T.StructField("cy", T.LongType()),
            T.StructField("cx", T.LongType()),
            T.StructField("bump_lat", T.DoubleType()),
            T.StructField("bump_lon", T.DoubleType()),
            T.StructField("half_deg", T.DoubleType()),
        ]
    )
    frame = spark.createDataFrame(
        cells.astype({"cy": "int64", "cx": "int64"}).to_dict("records") if len(cells) else [],
        schema,
    )
    return frame.groupBy("cy", "cx").agg(
        F.collect_list(F.struct("bump_lat", "bump_lon", "half_deg")).alias("bumps")
    )


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
    p = params
    ctx = valid.filter(context_filter(p))
    if stats is None:
        ctx = trip_statistics(ctx)
    else:
        ctx = ctx.join(F.broadcast(stats), "trip_id")

    def z(column: str, mu: str, sd: str) -> Column:
        return F.when(F.col(sd).isNull() | (F.col(sd) == 0), F.lit(0.0)).otherwise(
            (F.col(column) - F.col(mu)) / F.col(sd)
        )

    scored = ctx.withColumn(
        "impact_score",
        F.lit(p.weight_accel_z) * F.abs(z("accel_z", "mu_a", "sd_a"))
        + F.lit(p.weight_gyro_y) * F.abs(z("gyro_y", "mu_g", "sd_g")),
    )
    scored = scored.withColumn("cy", F.floor(F.col("lat") / p.bump_cell_deg)).withColumn(
        "cx", F.floor(F.col("lon") / p.bump_cell_deg)
    )
    joined = scored.join(F.broadcast(bumps), ["cy", "cx"], "left")
    near_bump = F.exists(
        "bumps",
        lambda b: (
            (F.abs(F.col("lat") - b["bump_lat"]) <= b["half_deg"])
            & (
                F.abs(F.col("lon") - b["bump_lon"]) * F.cos(F.radians(F.col("lat")))
                <= b["half_deg"]
            )
        ),
    )
    is_pothole = F.when(
        (F.col("impact_score") > p.impact_threshold) & ~F.coalesce(near_bump, F.lit(False)),
        F.lit(1),
    ).otherwise(F.lit(0))
    return joined.select(
        "timestamp", "lon", "lat", "impact_score", is_pothole.cast("int").alias("is_pothole")
    )


def stats_frame(spark: SparkSession, stats: pd.DataFrame) -> DataFrame:
    """The collected trip statistics as a (broadcastable) DataFrame."""
    schema = T.StructType(
        [T.StructField("trip_id", T.StringType())]
        + [T.StructField(c, T.DoubleType()) for c in ("mu_a", "sd_a", "mu_g", "sd_g")]
    )
    clean = stats.astype(object).where(stats.notna(), None)
    return spark.createDataFrame(clean.to_dict("records") if len(clean) else [], schema)


def _summary_columns(threshold: float) -> list[Column]:
    return [
        F.count(F.lit(1)).alias("rows"),
        F.sum(F.when(F.col("impact_score") > threshold, 1).otherwise(0)).alias("suspects"),
        F.sum("is_pothole").alias("potholes"),
    ]


def _summary(row: dict) -> dict[str, int]:
    rows, suspects, potholes = (int(row.get(k) or 0) for k in ("rows", "suspects", "potholes"))
    return {"rows": rows, "suspects": suspects, "vetoed": suspects - potholes, "potholes": potholes}


def stage1_summary(output: DataFrame, threshold: float) -> dict[str, int]:
    """Rows, suspects (score > threshold), vetoed suspects and potholes of a Stage 1 output."""
    return _summary(output.agg(*_summary_columns(threshold)).first().asDict())


# -- Stage 2 -----------------------------------------------------------------------------------
@dataclass
class Stage2Result:
    """Per-segment counts of one day and what the distance rule dropped."""

    counts: pd.DataFrame
    points: int
    dropped_points: int
    dropped_potholes: int
    max_distance_m: float
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def dropped_share(self) -> float:
        """Share of the day's points farther than the maximum distance from every segment."""
        return self.dropped_points / self.points if self.points else 0.0


def segments_frame(
    spark: SparkSession,
    segments: pd.DataFrame,
    proj: LocalProjection,
    max_m: float,
    cell_m: float,
    ids: list[str] | None = None,
) -> DataFrame:
    """Per metre-cell, the candidate segments (projected endpoints) within reach.

    A candidate names its segment by `k`, the segment's position in `ids` (default: the sorted
    s_ids), and a cell's candidates are in ascending `k`.
    """
    ids = sorted(segments["s_id"]) if ids is None else ids
    cells = segment_cells(segments, proj, max_m, cell_m)
    position = {s_id: k for k, s_id in enumerate(ids)}
    return _cells_frame(spark, cells.assign(k=cells["s_id"].map(position)))


def _cells_frame(spark: SparkSession, cells: pd.DataFrame) -> DataFrame:
    """Per cell, its candidates as index, start point, direction and 1/length² (0 for a point)."""
    columns = ["cx", "cy", "k", "ax", "ay", "dx", "dy", "inv_len2"]
    schema = T.StructType(
        [
            T.StructField("cx", T.LongType()),
            T.StructField("cy", T.LongType()),
            T.StructField("k", T.IntegerType()),
        ]
        + [T.StructField(c, T.DoubleType()) for c in columns[3:]]
    )
    dx, dy = cells["bx"] - cells["ax"], cells["by"] - cells["ay"]
    len2 = dx * dx + dy * dy
    inv_len2 = (1.0 / len2.where(len2 > 0, 1.0)).where(len2 > 0, 0.0)
    rows = cells.assign(dx=dx, dy=dy, inv_len2=inv_len2).astype(
        {"cx": "int64", "cy": "int64", "k": "int32"}
    )
    frame = spark.createDataFrame(rows[columns] if len(rows) else [], schema)
    # sorted by the struct's first field, k: the first of equally near candidates is the
    # smallest s_id
    return frame.groupBy("cx", "cy").agg(
        F.array_sort(F.collect_list(F.struct(*columns[2:]))).alias("cands")
    )


@dataclass
class SegmentIndex:
    """The road network prepared for Stage 2 once per run: projection and broadcast cell index.

    `ids` are the sorted s_ids; a candidate's `k` is its segment's position among them.
    """

    segments: pd.DataFrame
    proj: LocalProjection
    max_distance_m: float
    cell_m: float
    cells: DataFrame
    ids: list[str]


def segment_index(
    spark: SparkSession, segments: pd.DataFrame, max_distance_m: float = 30.0
) -> SegmentIndex:
    """Segments with their midpoints, the projection and the candidate cells (kept in memory)."""
    segs = with_midpoints(segments)
    proj = LocalProjection.for_segments(segs)
    cell_m = max(max_distance_m, 25.0)
    ids = sorted(segs["s_id"])
    cells = segments_frame(spark, segs, proj, max_distance_m, cell_m, ids).cache()
    cells.count()  # built now, once, rather than inside every day's job
    return SegmentIndex(segs, proj, max_distance_m, cell_m, cells, ids)


def stage2(
    spark: SparkSession,
    points: DataFrame,
    segments: pd.DataFrame | SegmentIndex,
    day: date,
    max_distance_m: float = 30.0,
) -> Stage2Result:
    """Map each Stage 1 point to its nearest 50 m segment (metres, to the line) and count per day.

    Points farther than `max_distance_m` from every segment are dropped and counted. Ties go to
    the smaller s_id, so the result is deterministic. `segments` is the road network, or its
    `segment_index` built for the same maximum distance.
    """
    if not isinstance(segments, SegmentIndex):
        index = segment_index(spark, segments, max_distance_m)
        try:
            return stage2(spark, points, index, day, max_distance_m)
        finally:
            index.cells.unpersist()
    index = segments
    if index.max_distance_m != max_distance_m:
        raise ValueError(
            f"segment index built for {index.max_distance_m} m, not {max_distance_m} m"
        )
    segs, proj, cell_m, cells = index.segments, index.proj, index.cell_m, index.cells
    px = (F.col("lon") - F.lit(proj.lon0)) * F.lit(proj.kx)
    py = (F.col("lat") - F.lit(proj.lat0)) * F.lit(proj.ky)
    located = (
        points.select(
            "is_pothole",
            px.alias("px"),
            py.alias("py"),
        )
        .withColumn("cx", F.floor(F.col("px") / cell_m))
        .withColumn("cy", F.floor(F.col("py") / cell_m))
    )
    joined = located.join(F.broadcast(cells), ["cx", "cy"], "left")

    def squared_distance(c: Column) -> Column:
        # P's offset from the start A, its position t along A→B (clamped to the segment), and
        # the squared distance to that point of the segment
        u, v = F.col("px") - c["ax"], F.col("py") - c["ay"]
        t = F.least(F.greatest((u * c["dx"] + v * c["dy"]) * c["inv_len2"], F.lit(0.0)), F.lit(1.0))
        ex, ey = u - t * c["dx"], v - t * c["dy"]
        return ex * ex + ey * ey

    # the nearest candidate of the point's cell: least squared distance, then the first (the
    # candidates are in ascending k, so the smaller s_id)
    # (the distances are a column of their own, so they are computed once per point)
    with_d2 = joined.select(
        "is_pothole", "cands", F.transform("cands", squared_distance).alias("d2")
    )
    d2_min = F.array_min("d2")
    nearest = with_d2.select(
        "is_pothole",
        F.sqrt(d2_min).alias("d"),
        F.element_at("cands", F.array_position("d2", d2_min).cast("int"))["k"].alias("k"),
    )
    mapped = nearest.select(
        "is_pothole",
        F.when(F.col("d") <= max_distance_m, F.col("k")).alias("k"),
        F.when(F.col("d") <= max_distance_m, F.col("d")).alias("d"),
    )
    grouped = (
        mapped.groupBy("k")
        .agg(
            F.sum("is_pothole").cast("long").alias("impact_count"),
            F.count(F.lit(1)).alias("total_count"),
            F.max("d").alias("max_d"),
        )
        .toPandas()
    )
    ids = pd.Series(index.ids, dtype=object)
    known = grouped["k"].notna()
    grouped["s_id"] = None
    grouped.loc[known, "s_id"] = ids.iloc[grouped.loc[known, "k"].astype("int64")].to_numpy()
    dropped = grouped[grouped["s_id"].isna()]
    counts = grouped[grouped["s_id"].notna()].merge(
        segs[["s_id", "centroid_lon", "centroid_lat"]], on="s_id", how="left"
    )
    counts["date"] = day
    counts = counts[
        ["s_id", "date", "impact_count", "total_count", "centroid_lon", "centroid_lat"]
    ].sort_values("s_id", ignore_index=True)
    counts["impact_count"] = counts["impact_count"].astype("int64")
    counts["total_count"] = counts["total_count"].astype("int64")
    return Stage2Result(
        counts=counts,
        points=int(grouped["total_count"].sum()),
        dropped_points=int(dropped["total_count"].sum()),
        dropped_potholes=int(dropped["impact_count"].sum()),
        max_distance_m=max_distance_m,
        extra={"max_mapped_distance_m": float(grouped["max_d"].max() or 0.0)},
    )


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
        """Unique valid readings the context filter removed (slow, imprecise, few satellites)."""
        return self.input_rows - self.rejected - self.duplicates - self.rows


def unique_readings(valid: DataFrame) -> DataFrame:
    """One row per (trip_id, timestamp): a reading uploaded twice counts once.

    Of rows sharing a key the greatest (by their values) is kept, so a re-run keeps the same one;
    `copies` says how many rows the key had. The rows are partitioned by trip first, which is also
    the partitioning the trip statistics need: one shuffle serves both.
    """
    others = [c for c in valid.columns if c not in ("trip_id", "timestamp")]
    return (
        valid.repartition("trip_id")
        .groupBy("trip_id", "timestamp")
        .agg(F.max(F.struct(*others)).alias("r"), F.count(F.lit(1)).alias("copies"))
        .select("trip_id", "timestamp", "r.*", "copies")
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

    Stage 1 reads the raw day once: the rows are counted per reject reason on the way in (the
    rejected ones collected, up to `REJECTS_IN_MEMORY`), shuffled by trip, duplicates of a
    reading dropped (`unique_readings`), the trip statistics taken (`trip_statistics`), scored
    and written, the summary of the written rows observed meanwhile. Only a day with more rejects
    reads the raw rows once more to write them. Stage 2 maps the written Stage 1 output to the
    segments (`segment_index`).
    """
    started = time.perf_counter()
    raw, columns = read_raw(session, paths.raw)
    flagged = flag_rows(raw, day, ranges)
    counted = Observation(f"stage1 input {day.isoformat()}")
    source = flagged.observe(counted, *_input_columns(flagged.columns))
    deduped = Observation(f"stage1 unique {day.isoformat()}")
    start_ms, end_ms = day_bounds_ms(day)
    outside = (F.col("timestamp") < start_ms) | (F.col("timestamp") >= end_ms)
    unique = unique_readings(source.filter("reject_reason IS NULL")).observe(
        deduped,
        F.sum(F.col("copies") - 1).alias("duplicates"),
        F.count(F.when(outside, 1)).alias("across_midnight"),
    )
    scored = stage1(unique.drop("copies"), bumps, params)
    observed = Observation(f"stage1 {day.isoformat()}")
    scored = scored.observe(observed, *_summary_columns(params.impact_threshold))
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
    summary = _summary(observed.get)
    counts = counted.get
    reasons = {r: int(counts[r]) for r in REJECT_REASONS if counts[r]}
    rejected = sum(reasons.values())
    if rejected > REJECTS_IN_MEMORY:
        _write_rejects(flagged.filter("reject_reason IS NOT NULL"), paths.rejected)
    elif rejected:
        _write_rejects(session.createDataFrame(counts["rows"], flagged.schema), paths.rejected)
    stage1_s = time.perf_counter() - started
    started = time.perf_counter()
    result = stage2(
        session, session.read.parquet(paths.stage1), segments, day, segments.max_distance_m
    )
    return DayFigures(
        day=day,
        columns=columns,
        input_rows=int(counts["valid"]) + rejected,
        rejected_by_reason=reasons,
        stage2=result,
        stage1_s=round(stage1_s, 2),
        stage2_s=round(time.perf_counter() - started, 2),
        duplicates=int(deduped.get["duplicates"] or 0),
        across_midnight=int(deduped.get["across_midnight"] or 0),
        **summary,
    )


def _input_columns(columns: list[str]) -> list[Column]:
    """Valid rows, rows per reject reason and up to `REJECTS_IN_MEMORY` rejected rows."""
    reason = F.col("reject_reason")
    return [
        F.count(F.when(reason.isNull(), 1)).alias("valid"),
        *[F.count(F.when(reason == r, 1)).alias(r) for r in REJECT_REASONS],
        # the rejected rows by time, a bounded top-k (null timestamps first); more than the
        # limit are written in a pass of their own
        F.min_by(
            F.struct(*columns),
            F.when(reason.isNotNull(), F.coalesce("timestamp", F.lit(-(2**63)))),
            REJECTS_IN_MEMORY,
        ).alias("rows"),
    ]


def _write_rejects(rows: DataFrame, path: str) -> None:
    """The day's rejected rows, with their reason, as one parquet file."""
    rows.coalesce(1).write.mode("overwrite").parquet(path)
