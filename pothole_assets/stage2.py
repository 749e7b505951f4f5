"""Stage 2 in PySpark: each Stage 1 point mapped to its nearest road segment, counted per day.

Pure DataFrame expressions only (no Python UDFs); the road network is a broadcast cell index
built once per run (`segment_index`).
"""

from dataclasses import dataclass, field
from datetime import date

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from pothole_assets.cell_slots import slot_count, slot_frame
from pothole_assets.geo import LocalProjection, segment_cells, with_midpoints

# A candidate segment of a cell: its index, start point, direction and 1/length².
CANDIDATE_FIELDS = ("k", "ax", "ay", "dx", "dy", "inv_len2")


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
    """Per cell, its candidates as index, start point, direction and 1/length² (0 for a point).

    Numbered columns (`cell_slots`) in ascending `k`: the first of equally near candidates is the
    smallest s_id.
    """
    dx, dy = cells["bx"] - cells["ax"], cells["by"] - cells["ay"]
    len2 = dx * dx + dy * dy
    inv_len2 = (1.0 / len2.where(len2 > 0, 1.0)).where(len2 > 0, 0.0)
    rows = cells.assign(dx=dx, dy=dy, inv_len2=inv_len2).sort_values(["cx", "cy", "k"])
    return slot_frame(spark, rows, CANDIDATE_FIELDS, int_fields=["k"])


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
        .withColumn("cx", F.floor(F.col("px") / cell_m).cast("int"))
        .withColumn("cy", F.floor(F.col("py") / cell_m).cast("int"))
    )
    joined = located.join(F.broadcast(cells), ["cx", "cy"], "left")
    mapped = _nearest_candidate(joined, slot_count(cells, "k"), max_distance_m)
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


def _nearest_candidate(joined: DataFrame, width: int, max_distance_m: float) -> DataFrame:
    """`is_pothole`, the nearest candidate's `k` and its distance `d` (both null beyond reach)."""

    def squared_distance(i: int) -> Column:
        # P's offset from candidate i's start A, its position t along A→B (clamped to the
        # segment), and the squared distance to that point of the segment
        ax, ay, dx, dy, inv_len2 = (F.col(f"{name}_{i}") for name in CANDIDATE_FIELDS[1:])
        u, v = F.col("px") - ax, F.col("py") - ay
        t = F.least(F.greatest((u * dx + v * dy) * inv_len2, F.lit(0.0)), F.lit(1.0))
        ex, ey = u - t * dx, v - t * dy
        return ex * ex + ey * ey

    with_d2 = joined.select(
        "is_pothole",
        *[squared_distance(i).alias(f"d2_{i}") for i in range(width)],
        *[f"k_{i}" for i in range(width)],
    )
    d2 = [F.col(f"d2_{i}") for i in range(width)]
    least_d2 = _least(d2)
    # the nearest candidate: least squared distance, then the first of equals (the candidates
    # are in ascending k, so the smaller s_id)
    nearest = with_d2.withColumn("least_d2", least_d2).select(
        "is_pothole",
        F.sqrt("least_d2").alias("d"),
        F.coalesce(
            *[F.when(d == F.col("least_d2"), F.col(f"k_{i}")) for i, d in enumerate(d2)],
            F.lit(None).cast("int"),
        ).alias("k"),
    )
    return nearest.select(
        "is_pothole",
        F.when(F.col("d") <= max_distance_m, F.col("k")).alias("k"),
        F.when(F.col("d") <= max_distance_m, F.col("d")).alias("d"),
    )


def _least(columns: list[Column]) -> Column:
    """The least non-null value of the columns (null when all are null, or there are none)."""
    if len(columns) > 1:
        return F.least(*columns)
    return columns[0] if columns else F.lit(None).cast("double")
