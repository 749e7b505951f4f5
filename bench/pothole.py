"""Pothole pipeline speed: Stage 1 and Stage 2 on local Spark, and the PostgreSQL load.

- 2,000,000 sample readings of one day (a 3,500-segment network, planted potholes and bumps),
  written as merged parquet files into a temporary local lake.
- Spark `local[2]`: session start-up is timed on its own; Stage 1 (validation counts, impact
  score, bump veto, parquet write) and Stage 2 (nearest segment within 30 m, daily counts) are
  timed as the asset runs them. Each stage is run twice and the second (warm JVM) run is reported.
- PostgreSQL: the loader of `pothole_segments` (validation, monthly partitions, transactional
  replace by COPY) on a year of segment-day rows, against a raw COPY of the same rows already
  serialised as CSV, into the same partitioned table; best of three.

Server: BENCH_DATABASE_URL, else TEST_DATABASE_URL, else a temporary embedded PostgreSQL.
"""

import datetime as dt
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from benchdb import bench_database_url, best_seconds, fresh_schema, raw_copy
from pyspark.sql import SparkSession

from pothole_assets import sample_data, schema, serving
from pothole_assets import spark_stages as st
from pothole_assets.reference import parse_road_segments, parse_speed_bumps
from resources.copy_format import csv_chunks
from resources.warehouse import COPY_CHUNK_ROWS, WarehouseResource

READINGS = 2_000_000
DAY = dt.date(2026, 2, 10)
LOAD_DAYS = 365
REPEAT = 3


def stage1_run(spark: SparkSession, raw_dir: str, out_dir: str, bumps: pd.DataFrame) -> dict:
    params = st.Stage1Params()
    raw = spark.read.parquet(raw_dir)
    assert not st.check_raw_schema(raw.schema)
    flagged = st.flag_rows(st.conform_raw(raw), DAY)
    stats, reasons = st.trip_stats(flagged, params)
    if sum(v for k, v in reasons.items() if k != "valid"):
        flagged.filter("reject_reason IS NOT NULL").coalesce(1).write.mode("overwrite").parquet(
            out_dir + "-rejected"
        )
    bump_cells = st.bumps_frame(spark, bumps, params.bump_cell_deg)
    scored = st.stage1(
        flagged.filter("reject_reason IS NULL"), bump_cells, params, st.stats_frame(spark, stats)
    )
    if scored.rdd.getNumPartitions() > 4:  # as the asset: at most 4 files a day
        scored = scored.coalesce(4)
    scored.write.mode("overwrite").option("compression", "snappy").parquet(out_dir)
    return st.stage1_summary(spark.read.parquet(out_dir), params.impact_threshold)


def timed(label: str, work) -> tuple[float, object]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def spark_figures(folder: Path) -> None:
    network = sample_data.build_network(links=140, link_m=1_262.0)
    segments = parse_road_segments(network.segments.to_csv(index=False).encode())
    bumps, _ = parse_speed_bumps(network.bumps.to_csv(index=False).encode("utf-8-sig"))
    gen_s, frame = timed("generate", lambda: sample_data.generate_day(network, DAY, READINGS))
    raw_dir = folder / "raw"
    raw_dir.mkdir()
    for name, data in sample_data.raw_day_files(frame, merge_trips=2000):
        (raw_dir / name).write_bytes(data)
    n = len(frame)
    trips = frame["trip_id"].nunique()
    del frame
    print(
        f"sample day: {n:,} readings, {trips:,} trips, {len(segments):,} segments, "
        f"{len(bumps)} bumps, {len(list(raw_dir.iterdir()))} files (generated in {gen_s:.1f} s)"
    )
    start_s, spark = timed(
        "session",
        lambda: (
            SparkSession.builder.master("local[2]")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.sql.session.timeZone", "Asia/Seoul")
            .config("spark.driver.memory", "2g")
            .getOrCreate()
        ),
    )
    spark.sparkContext.setLogLevel("ERROR")
    print(f"Spark {spark.version} local[2] session start-up: {start_s:.1f} s")
    s1_times, s2_times = [], []
    for _ in range(2):
        out_dir = str(folder / "stage1")
        s1, summary = timed("stage1", lambda: stage1_run(spark, str(raw_dir), out_dir, bumps))
        s2, result = timed(
            "stage2",
            lambda: st.stage2(spark, spark.read.parquet(out_dir), segments, DAY, 30.0),
        )
        s1_times.append(s1)
        s2_times.append(s2)
    s1, s2 = s1_times[-1], s2_times[-1]
    print(
        f"stage 1: {n:,} readings in {s1:6.2f} s = {n / s1:>10,.0f} readings/s "
        f"(first run {s1_times[0]:.2f} s)  rows out {summary['rows']:,}, "
        f"suspects {summary['suspects']:,}, vetoed {summary['vetoed']:,}"
    )
    points = result.points
    print(
        f"stage 2: {points:,} points   in {s2:6.2f} s = {points / s2:>10,.0f} points/s "
        f"(first run {s2_times[0]:.2f} s)  segments {len(result.counts):,}, "
        f"dropped {result.dropped_points:,} ({result.dropped_share:.2%})"
    )
    both = n / (s1 + s2)
    print(
        f"stage 1 + stage 2: {both:,.0f} readings/s after start-up (target >= 100,000)"
        f"{'  OK' if both >= 100_000 else '  BELOW TARGET'}"
    )
    spark.stop()


def load_figures() -> None:
    with bench_database_url() as url, fresh_schema(url, "bench_pothole") as bench_schema:
        _load_figures(url, bench_schema)


def _load_figures(url: str, bench_schema: str) -> None:
    warehouse = WarehouseResource(url=url, search_path=bench_schema)
    warehouse.create_tables(schema.metadata)
    engine = warehouse.get_engine()

    network = sample_data.build_network(links=140, link_m=1_262.0)
    segs = network.segments
    rng = np.random.default_rng(3)
    days = [dt.date(2025, 3, 1) + dt.timedelta(days=i) for i in range(LOAD_DAYS)]
    per_day = []
    for day in days:
        total = rng.integers(5, 400, len(segs))
        per_day.append(
            pd.DataFrame(
                {
                    "s_id": segs["s_id"].to_numpy(),
                    "impact_count": rng.binomial(total, 0.01),
                    "total_count": total,
                    "centroid_lon": ((segs["start_lon"] + segs["end_lon"]) / 2).to_numpy(),
                    "centroid_lat": ((segs["start_lat"] + segs["end_lat"]) / 2).to_numpy(),
                    "date": day,
                }
            )
        )
    rows = sum(len(f) for f in per_day)
    with warehouse.begin() as conn:
        serving.ensure_month_partitions(conn, days)
    columns = serving.SEGMENT_COLUMNS
    frame = pd.concat(
        [serving.prepare_segment_rows(f, d).rows for f, d in zip(per_day, days, strict=True)]
    )[columns]
    serialised = b"".join(bytes(c) for c in csv_chunks(frame, COPY_CHUNK_ROWS))
    print(
        f"\nPostgreSQL load: {rows:,} segment-day rows ({LOAD_DAYS} days x {len(segs):,} "
        f"segments) into the monthly-partitioned pothole_segments; "
        f"{len(serialised) / 1e6:.0f} MB as CSV; best of {REPEAT}"
    )

    def truncate() -> None:
        with engine.begin() as conn:
            conn.execute(sa.text("TRUNCATE pothole_segments"))

    def copy_baseline() -> None:
        statement = f"COPY pothole_segments ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
        raw_copy(engine, statement, serialised)

    def loader() -> None:
        # what the pothole_segments asset does for a backfilled range, after reading the lake
        good = serving.prepare_segment_rows(pd.concat(per_day, ignore_index=True)).rows
        with warehouse.begin() as conn:
            serving.ensure_month_partitions(conn, days)
        warehouse.replace_partition(
            good, schema.pothole_segments, "date", days[0], days[-1] + dt.timedelta(days=1)
        )

    def best(label: str, work: Callable[[], None]) -> float:
        seconds = best_seconds(REPEAT, truncate, work)
        rate = rows / seconds
        print(f"{label:<44}{seconds:>7.2f} s {rate:>12,.0f} rows/s")
        return rate

    raw = best("raw COPY (pre-serialised CSV)", copy_baseline)
    load = best("loader (validate + partitions + replace)", loader)
    ratio = load / raw
    print(f"loader / raw COPY {ratio:.2f}  (target >= 0.80){'  OK' if ratio >= 0.8 else '  BELOW'}")
    engine.dispose()


def main(parts: list[str]) -> None:
    if not parts or "spark" in parts:
        folder = Path(tempfile.mkdtemp(prefix="bench-pothole-"))
        try:
            spark_figures(folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    if not parts or "load" in parts:
        load_figures()


if __name__ == "__main__":
    main(sys.argv[1:])
