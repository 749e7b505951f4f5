"""Stage 2 in PySpark: each Stage 1 point mapped to its nearest road segment, counted per day.

Pure DataFrame expressions only (no Python UDFs); the road network is a broadcast cell index
built once per run (`segment_index`).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pothole_assets.cell_slots import slot_count, slot_frame
from pothole_assets.geo import LocalProjection, segment_cells, with_midpoints
from resources.spark import sql_double

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
    # per condition asked for (`stage2`'s `tallies`), the points that meet it, mapped or not
    tallies: dict[str, int] = field(default_factory=dict)

    @property
    def potholes(self) -> int:
        """Points with `is_pothole`, mapped or not."""
        return int(self.counts["impact_count"].sum()) + self.dropped_potholes

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
    tallies: Mapping[str, str] | None = None,
) -> Stage2Result:
    """Map each Stage 1 point to its nearest 50 m segment (metres, to the line) and count per day.

    Points farther than `max_distance_m` from every segment are dropped and counted. Ties go to
    the smaller s_id, so the result is deterministic. `segments` is the road network, or its
    `segment_index` built for the same maximum distance. `tallies` names conditions over the
    points' columns (SQL text); the points meeting each are counted in the same pass.
    """
    tallies = dict(tallies or {})
    if not isinstance(segments, SegmentIndex):
        index = segment_index(spark, segments, max_distance_m)
        try:
            return stage2(spark, points, index, day, max_distance_m, tallies)
        finally:
            index.cells.unpersist()
    index = segments
    if index.max_distance_m != max_distance_m:
        raise ValueError(
            f"segment index built for {index.max_distance_m} m, not {max_distance_m} m"
        )
    segs, proj, cell_m, cells = index.segments, index.proj, index.cell_m, index.cells
    px = f"(lon - {sql_double(proj.lon0)}) * {sql_double(proj.kx)}"
    py = f"(lat - {sql_double(proj.lat0)}) * {sql_double(proj.ky)}"
    cell = sql_double(cell_m)
    # the flags travel with each point: one column per tally, 1 where its condition holds
    carried = ["is_pothole", *(f"tally_{i}" for i in range(len(tallies)))]
    flags = [
        f"CAST(coalesce({cond}, false) AS INT) AS tally_{i}"
        for i, cond in enumerate(tallies.values())
    ]
    located = points.selectExpr(*carried[:1], *flags, f"{px} AS px", f"{py} AS py").selectExpr(
        *carried,
        "px",
        "py",
        f"CAST(floor(px / {cell}) AS INT) AS cx",
        f"CAST(floor(py / {cell}) AS INT) AS cy",
    )
    joined = located.join(F.broadcast(cells), ["cx", "cy"], "left")
    mapped = _nearest_candidate(joined, slot_count(cells, "k"), max_distance_m, carried)
    grouped = (
        mapped.groupBy("k")
        .agg(
            F.sum("is_pothole").cast("long").alias("impact_count"),
            F.count(F.lit(1)).alias("total_count"),
            F.max("d").alias("max_d"),
            *(F.sum(c).cast("long").alias(c) for c in carried[1:]),
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
        tallies={name: int(grouped[f"tally_{i}"].sum()) for i, name in enumerate(tallies)},
    )


def _nearest_candidate(
    joined: DataFrame, width: int, max_distance_m: float, carried: Sequence[str]
) -> DataFrame:
    """The `carried` columns, the nearest candidate's `k` and its distance `d` (null past reach).

    The formulas are SQL text: a projection is then one call to build, not one per operator.
    """
    if width == 0:
        return joined.selectExpr(*carried, "CAST(NULL AS INT) AS k", "CAST(NULL AS DOUBLE) AS d")

    def squared_distance(i: int) -> str:
        # P's offset from candidate i's start A, its position t along A→B (clamped to the
        # segment), and the squared distance to that point of the segment
        ax, ay, dx, dy, inv_len2 = (f"{name}_{i}" for name in CANDIDATE_FIELDS[1:])
        u, v = f"(px - {ax})", f"(py - {ay})"
        t = f"least(greatest(({u} * {dx} + {v} * {dy}) * {inv_len2}, 0D), 1D)"
        ex, ey = f"({u} - {t} * {dx})", f"({v} - {t} * {dy})"
        return f"{ex} * {ex} + {ey} * {ey}"

    ks = [f"k_{i}" for i in range(width)]
    with_d2 = joined.selectExpr(
        *carried, *[f"{squared_distance(i)} AS d2_{i}" for i in range(width)], *ks
    )
    d2 = [f"d2_{i}" for i in range(width)]
    least_d2 = f"least({', '.join(d2)})" if width > 1 else d2[0]
    # the nearest candidate: least squared distance, then the first of equals (the candidates
    # are in ascending k, so the smaller s_id)
    first = ", ".join(f"CASE WHEN {d} = least_d2 THEN {k} END" for d, k in zip(d2, ks, strict=True))
    within = f"sqrt(least_d2) <= {sql_double(max_distance_m)}"
    return with_d2.selectExpr(*carried, f"{least_d2} AS least_d2", *d2, *ks).selectExpr(
        *carried,
        f"CASE WHEN {within} THEN coalesce({first}) END AS k",
        f"CASE WHEN {within} THEN sqrt(least_d2) END AS d",
    )
