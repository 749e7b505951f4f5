"""Stage 1 and Stage 2 on small hand-made frames with known scores, vetoes and segments."""

import datetime as dt
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from pothole_assets import spark_stages as st
from pothole_assets.geo import M_PER_DEG, LocalProjection
from pothole_assets.raw_input import RAW_SCHEMA, RawFile, check_raw_schema, local_raw_files

DAY = dt.date(2026, 2, 10)
T0 = 1_770_649_200_000 + 3_600_000  # 2026-02-10 01:00 KST in epoch ms
LAT0, LON0 = 35.0, 127.5
KX = M_PER_DEG * np.cos(np.radians(LAT0))


def _row(trip: str, i: int, accel_z: float = 9.81, gyro_y: float = 0.0, **kw: float) -> dict:
    row = {
        "timestamp": T0 + i * 100,
        "trip_id": trip,
        "vehicle_id": "v001",
        "accel_x": 0.0,
        "accel_y": 0.0,
        "accel_z": accel_z,
        "gyro_x": 0.0,
        "gyro_y": gyro_y,
        "gyro_z": 0.0,
        "velocity": 40.0,
        "lon": LON0 + i * 1e-4,
        "lat": LAT0,
        "hdop": 1.0,
        "satellites": 8,
    }
    row.update(kw)
    return row


def _frame(spark: SparkSession, rows: list[dict]):
    frame = pd.DataFrame(rows).astype({"satellites": "int32"})
    return spark.createDataFrame(frame, schema=RAW_SCHEMA)


def _bumps(spark: SparkSession, bumps: list[tuple[float, float, float]]):
    frame = pd.DataFrame(bumps, columns=["lat", "lon", "length_cm"])
    return st.bumps_frame(spark, frame, st.Stage1Params().bump_cell_deg)


def test_impact_score_matches_the_formula_and_filters(spark_session: SparkSession) -> None:
    accel = [9.8] * 19 + [19.8]
    gyro = [0.0] * 19 + [1.0]
    rows = [_row("A", i, accel[i], gyro[i]) for i in range(20)]
    rows += [  # each fails one context rule
        _row("A", 30, velocity=5.0),
        _row("A", 31, hdop=5.01),
        _row("A", 32, satellites=3),
    ]
    rows += [_row("B", 50 + i) for i in range(5)]  # constant signals: std 0 -> score 0
    out = st.stage1(_frame(spark_session, rows), _bumps(spark_session, [])).toPandas()

    assert len(out) == 25  # the three filtered rows are gone
    a = out[out["timestamp"] < T0 + 30 * 100].sort_values("timestamp")
    za = (np.array(accel) - np.mean(accel)) / np.std(accel, ddof=1)
    zg = (np.array(gyro) - np.mean(gyro)) / np.std(gyro, ddof=1)
    expected = 0.7 * np.abs(za) + 0.3 * np.abs(zg)
    np.testing.assert_allclose(a["impact_score"].to_numpy()[:20], expected, rtol=1e-9)
    assert expected[-1] == pytest.approx(4.2485, abs=1e-3)
    assert a["is_pothole"].tolist()[:20] == [0] * 19 + [1]
    b = out[out["timestamp"] >= T0 + 50 * 100]
    assert len(b) == 5 and (b["impact_score"] == 0).all()


def test_threshold_is_strict(spark_session: SparkSession) -> None:
    accel = [9.8] * 19 + [19.8]  # z(spike) = 4.2485, score 0.7·4.2485 = 2.974 ≤ 3
    rows = [_row("A", i, accel[i]) for i in range(20)]
    out = st.stage1(_frame(spark_session, rows), _bumps(spark_session, [])).toPandas()
    assert out["impact_score"].max() == pytest.approx(2.974, abs=1e-3)
    assert out["is_pothole"].sum() == 0


def test_speed_bump_veto_uses_half_the_bump_length(spark_session: SparkSession) -> None:
    accel = [9.8] * 19 + [19.8]
    gyro = [0.0] * 19 + [1.0]
    spike_lon = LON0 + 19 * 1e-4
    rows = [_row(trip, i, accel[i], gyro[i]) for trip in ("t1", "t2") for i in range(20)]
    # a 400 cm bump vetoes within 2 m (the original's box, F = 1/(2·100·111000) degrees per cm)
    cases = {
        "1.5 m south": ([(LAT0 - 1.5 / 111_000, spike_lon, 400.0)], 0),
        "3 m north": ([(LAT0 + 3.0 / 111_000, spike_lon, 400.0)], 2),
        "1.9 m east": ([(LAT0, spike_lon + 1.9 / 111_000 / np.cos(np.radians(LAT0)), 400.0)], 0),
        "2.2 m east": ([(LAT0, spike_lon + 2.2 / 111_000 / np.cos(np.radians(LAT0)), 400.0)], 2),
        "1.5 m south, 200 cm bump": ([(LAT0 - 1.5 / 111_000, spike_lon, 200.0)], 2),
    }
    for name, (bumps, potholes) in cases.items():
        out = st.stage1(_frame(spark_session, rows), _bumps(spark_session, bumps)).toPandas()
        suspects = out[out["impact_score"] > 3]
        assert len(suspects) == 2, name
        assert int(out["is_pothole"].sum()) == potholes, name


def test_a_suspect_is_vetoed_by_any_bump_of_its_cell(spark_session: SparkSession) -> None:
    # two 400 cm bumps (2 m boxes) in the spike's 0.0005° cell: one 3 m north, whose box does
    # not reach the spike, and one 1.5 m south, whose box holds it; listed in either order
    lat = LAT0 + 0.00025  # the middle of a cell's latitudes: both boxes lie in the spike's cell
    accel = [9.8] * 19 + [19.8]
    gyro = [0.0] * 19 + [1.0]
    spike_lon = LON0 + 19 * 1e-4
    frame = _frame(spark_session, [_row("t1", i, accel[i], gyro[i], lat=lat) for i in range(20)])
    far = (lat + 3.0 / 111_000, spike_lon, 400.0)
    near = (lat - 1.5 / 111_000, spike_lon, 400.0)
    for bumps, potholes in (([far, near], 0), ([near, far], 0), ([far], 1)):
        out = st.stage1(frame, _bumps(spark_session, bumps)).toPandas()
        assert int((out["impact_score"] > 3).sum()) == 1, bumps
        assert int(out["is_pothole"].sum()) == potholes, bumps


def test_rows_outside_valid_ranges_are_flagged_with_a_reason(spark_session: SparkSession) -> None:
    rows = [
        _row("A", 0),
        _row("A", 1, lon=0.0, lat=0.0),
        _row("A", 2, velocity=350.0),
        _row("A", 3, accel_z=150.0),
        _row("A", 4, gyro_y=-2500.0),
        _row("A", 5, timestamp=T0 - 86_400_000),
    ]
    flagged = st.flag_rows(_frame(spark_session, rows), DAY).toPandas().sort_values("accel_x")
    reasons = flagged.sort_values("lon")["reject_reason"].tolist()
    assert sorted(r for r in reasons if r) == [
        "accel_out_of_range",
        "gyro_out_of_range",
        "position_out_of_range",
        "timestamp_outside_day",
        "velocity_out_of_range",
    ]
    assert flagged["reject_reason"].isna().sum() == 1


def test_raw_schema_problems_are_named(spark_session: SparkSession) -> None:
    frame = pd.DataFrame({"timestamp": [1], "trip_id": ["t"], "accel_z": ["high"]})
    problems = check_raw_schema(spark_session.createDataFrame(frame).schema)
    assert "missing column 'gyro_y'" in problems
    assert "column 'accel_z' is string, not double" in problems


# -- Stage 2 --------------------------------------------------------------------------------------
def _lonlat(x: float, y: float) -> tuple[float, float]:
    return LON0 + x / KX, LAT0 + y / M_PER_DEG


def _segments() -> pd.DataFrame:
    def seg(s_id: str, a: tuple[float, float], b: tuple[float, float]) -> dict:
        (alon, alat), (blon, blat) = _lonlat(*a), _lonlat(*b)
        return {
            "s_id": s_id,
            "link_id": s_id[:3],
            "start_lon": alon,
            "start_lat": alat,
            "end_lon": blon,
            "end_lat": blat,
        }

    return pd.DataFrame(
        [
            seg("A_0000", (0, 0), (50, 0)),
            seg("B_0000", (0, 40), (50, 40)),  # parallel, 40 m north
            seg("C_0000", (60, 20), (62, 20)),  # a short piece whose midpoint lures points
        ]
    )


def _points(spark: SparkSession, xy: list[tuple[float, float, int]]):
    rows = []
    for i, (x, y, hole) in enumerate(xy):
        lon, lat = _lonlat(x, y)
        rows.append(
            {"timestamp": T0 + i, "lon": lon, "lat": lat, "impact_score": 0.0, "is_pothole": hole}
        )
    return spark.createDataFrame(pd.DataFrame(rows))


def test_points_map_to_the_nearest_segment_line_in_metres(spark_session: SparkSession) -> None:
    points = _points(
        spark_session,
        [
            (25, 5, 1),  # 5 m from A
            (10, -3, 0),  # 3 m from A
            (25, 25, 1),  # 15 m from B, 25 m from A
            (49, 6, 1),  # 6 m from A's line; C's midpoint (18 m) is nearer than A's (24.7 m)
            (70, 10, 0),  # 12.8 m from C, 22.4 m from the end of A -> C
            (25, 120, 1),  # 80 m north of B: farther than 30 m from everything
        ],
    )
    result = st.stage2(spark_session, points, _segments(), DAY, max_distance_m=30.0)
    counts = result.counts.set_index("s_id")
    assert counts.loc["A_0000", "total_count"] == 3 and counts.loc["A_0000", "impact_count"] == 2
    assert counts.loc["B_0000", "total_count"] == 1 and counts.loc["B_0000", "impact_count"] == 1
    assert counts.loc["C_0000", "total_count"] == 1
    assert result.points == 6 and result.dropped_points == 1 and result.dropped_potholes == 1
    assert (result.counts["date"] == DAY).all()
    # centroid = the segment midpoint
    lon, lat = _lonlat(25, 0)
    assert counts.loc["A_0000", "centroid_lon"] == pytest.approx(lon)
    assert counts.loc["A_0000", "centroid_lat"] == pytest.approx(lat)


def test_equally_near_segments_go_to_the_smaller_s_id(spark_session: SparkSession) -> None:
    # two segments on the same line, the greater s_id listed first: every point is as near to
    # one as to the other, and is counted on the smaller s_id
    segments = pd.concat([_segments(), _segments().iloc[[0, 0]]], ignore_index=True)
    segments.loc[3:, "start_lat"] = segments.loc[3:, "end_lat"] = _lonlat(0, -60)[1]
    segments.loc[3:, "s_id"] = ["Z_0000", "D_0000"]
    points = _points(spark_session, [(10, -55, 1), (40, -62, 0), (49, -70, 0)])
    result = st.stage2(spark_session, points, segments, DAY, max_distance_m=30.0)
    counts = result.counts.set_index("s_id")
    assert counts.loc["D_0000", "total_count"] == 3 and counts.loc["D_0000", "impact_count"] == 1
    assert "Z_0000" not in counts.index
    assert result.dropped_points == 0


def test_tallies_count_every_point_that_meets_them_mapped_or_dropped(
    spark_session: SparkSession,
) -> None:
    # Stage 1's own counts are tallied as Stage 2 reads its output: a point too far from every
    # segment is still a row Stage 1 wrote, and still a pothole or a suspect
    points = _points(spark_session, [(25, 5, 1), (10, -3, 0), (25, 25, 0), (25, 120, 1)])
    points = points.withColumn("impact_score", F.when(F.col("is_pothole") == 1, 4.0).otherwise(3.5))
    result = st.stage2(
        spark_session,
        points,
        _segments(),
        DAY,
        max_distance_m=30.0,
        tallies={"suspects": "impact_score > 3.0D", "late": f"timestamp >= {T0 + 2}"},
    )
    assert result.tallies == {"suspects": 4, "late": 2}  # the 4th point is dropped, yet counted
    assert result.potholes == 2 and result.dropped_potholes == 1


def test_maximum_distance_is_configurable(spark_session: SparkSession) -> None:
    points = _points(spark_session, [(25, 75, 0), (25, 5, 0)])  # 35 m north of B
    strict = st.stage2(spark_session, points, _segments(), DAY, max_distance_m=30.0)
    loose = st.stage2(spark_session, points, _segments(), DAY, max_distance_m=40.0)
    assert strict.dropped_points == 1 and strict.dropped_share == 0.5
    assert loose.dropped_points == 0
    assert loose.counts.set_index("s_id").loc["B_0000", "total_count"] == 1


def test_projection_round_trips() -> None:
    proj = LocalProjection(127.65, 34.78)
    x, y = proj.to_xy(np.array([127.7]), np.array([34.9]))
    lon, lat = proj.to_lonlat(x, y)
    assert lon[0] == pytest.approx(127.7) and lat[0] == pytest.approx(34.9)


def test_one_pass_trip_statistics_give_the_same_scores(spark_session: SparkSession) -> None:
    accel = [9.8] * 19 + [19.8]
    rows = [_row("A", i, accel[i], gyro_y=0.1 * (i % 3)) for i in range(20)]
    rows += [_row("A", 20, velocity=2.0, accel_z=50.0), _row("A", 21, lon=0.0, lat=0.0)]
    rows += [_row("B", 40)]  # one row: std is null, z = 0
    flagged = st.flag_rows(_frame(spark_session, rows), DAY)
    stats, reasons = st.trip_stats(flagged)
    assert reasons == {"valid": 22, "position_out_of_range": 1}
    valid = flagged.filter("reject_reason IS NULL")
    direct = st.stage1(valid, _bumps(spark_session, [])).toPandas().sort_values("timestamp")
    one_pass = (
        st.stage1(valid, _bumps(spark_session, []), stats=st.stats_frame(spark_session, stats))
        .toPandas()
        .sort_values("timestamp")
    )
    pd.testing.assert_frame_equal(direct.reset_index(drop=True), one_pass.reset_index(drop=True))
    assert one_pass["is_pothole"].sum() == 0 and len(one_pass) == 21


# -- one batch day (run_day) on raw files written here --------------------------------------------
MIDNIGHT = T0 - 3_600_000  # 2026-02-10 00:00 KST


def _run_day(
    spark: SparkSession, folder, rows: list[dict], rejected: str | None = None, **ranges: float
) -> st.DayFigures:
    raw = folder / "raw"
    raw.mkdir(exist_ok=True)
    frame = pd.DataFrame(rows).astype({"satellites": "int32", "timestamp": "int64"})
    frame.to_parquet(raw / "merged_0000.parquet", index=False)
    paths = st.DayPaths(
        raw=local_raw_files(raw),
        stage1=str(folder / "s1"),
        rejected=rejected or str(folder / "rej"),
    )
    bumps = st.bump_index(spark, pd.DataFrame(columns=["lat", "lon", "length_cm"]), 0.0005)
    segments = st.segment_index(spark, _segments(), 30.0)
    return st.run_day(spark, DAY, paths, bumps, segments, ranges=st.ValidRanges(**ranges))


def _stage1_out(folder) -> pd.DataFrame:
    return pd.read_parquet(folder / "s1").sort_values("timestamp", ignore_index=True)


def test_a_trip_crossing_midnight_is_scored_whole_in_its_batch_day(
    spark_session: SparkSession, tmp_path
) -> None:
    # 20 readings from 23:59:59.000 to 00:00:00.900 KST; the spike is at 23:59:59.500
    accel = [9.8] * 5 + [19.8] + [9.8] * 14
    gyro = [0.0] * 5 + [1.0] + [0.0] * 14
    trip = [
        _row("NIGHT", i, accel[i], gyro[i], timestamp=MIDNIGHT - 1_000 + i * 100) for i in range(20)
    ]
    stray = _row("STRAY", 0, timestamp=MIDNIGHT - 7 * 3_600_000)  # 7 h early: beyond 6 h
    figures = _run_day(spark_session, tmp_path, [*trip, stray])
    out = _stage1_out(tmp_path)
    assert len(out) == 20 and int((out["timestamp"] < MIDNIGHT).sum()) == 10
    assert figures.across_midnight == 10
    assert figures.rejected_by_reason == {"timestamp_outside_day": 1}
    # z over all 20 readings: as in the score test, 0.7·4.2485 + 0.3·4.2485 = 4.2485 > 3
    spike = out[out["timestamp"] == MIDNIGHT - 500].iloc[0]
    assert spike["impact_score"] == pytest.approx(4.2485, abs=1e-3) and spike["is_pothole"] == 1

    # with no tolerance the ten readings before midnight are outside the day
    strict = tmp_path / "strict"
    strict.mkdir()
    figures = _run_day(spark_session, strict, [*trip, stray], day_tolerance_h=0.0)
    assert figures.rejected_by_reason == {"timestamp_outside_day": 11}
    assert figures.across_midnight == 0 and len(_stage1_out(strict)) == 10


def test_rejected_rows_are_written_whole_with_their_reason_however_many_there_are(
    spark_session: SparkSession, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [_row("A", i) for i in range(20)]
    bad = [
        _row("A", 20, accel_z=float("nan")),
        _row("A", 21, velocity=400.0),
        _row("A", 22, lat=50.0),
        _row("B", 0, hdop=120.0),
    ]
    expected = {
        "missing_value": 1,
        "velocity_out_of_range": 1,
        "position_out_of_range": 1,
        "hdop_out_of_range": 1,
    }
    written = {}
    # collected on the driver and written there (a local folder) or by Spark (a URI), and a
    # day with more rejects than the driver collects, read again from the raw rows
    for name, rejected, limit in (
        ("local", None, st.REJECTS_IN_MEMORY),
        ("uri", (tmp_path / "uri" / "rej").as_uri(), st.REJECTS_IN_MEMORY),
        ("many", None, 3),
    ):
        folder = tmp_path / name
        folder.mkdir()
        monkeypatch.setattr(st, "REJECTS_IN_MEMORY", limit)
        figures = _run_day(spark_session, folder, [*rows, *bad], rejected=rejected)
        assert figures.rejected_by_reason == expected, name
        assert figures.rows == 20 and figures.input_rows == 24, name
        frame = pd.read_parquet(folder / "rej").sort_values("timestamp", ignore_index=True)
        written[name] = frame
    local = written["local"]
    assert list(local.columns) == [*RAW_SCHEMA.fieldNames(), "reject_reason"]
    assert local["reject_reason"].tolist() == [
        "hdop_out_of_range",  # trip B starts at T0
        "missing_value",
        "velocity_out_of_range",
        "position_out_of_range",
    ]
    assert local["velocity"].tolist()[2] == 400.0 and np.isnan(local["accel_z"].tolist()[1])
    for name in ("uri", "many"):
        pd.testing.assert_frame_equal(written[name], local, check_dtype=True)


def test_a_reading_uploaded_twice_counts_once(spark_session: SparkSession, tmp_path) -> None:
    accel = [9.8] * 19 + [19.8]
    gyro = [0.0] * 19 + [1.0]
    rows = [_row("A", i, accel[i], gyro[i]) for i in range(20)]
    # the spike uploaded five more times. Counted six times it would give mean 12.2 and
    # sample std 4.359 (accel), so z = 7.6/4.359 = 1.74 and no pothole; counted once, 4.2485.
    figures = _run_day(spark_session, tmp_path, rows + [dict(rows[-1]) for _ in range(5)])
    out = _stage1_out(tmp_path)
    assert figures.duplicates == 5 and figures.rows == 20 and len(out) == 20
    assert out["timestamp"].is_unique
    assert out["impact_score"].iloc[-1] == pytest.approx(4.2485, abs=1e-3)
    assert out["is_pothole"].tolist() == [0] * 19 + [1]
    assert figures.input_rows == 25 and figures.context_filtered == 0


def test_copies_that_differ_keep_the_same_one_whatever_their_order(
    spark_session: SparkSession, tmp_path
) -> None:
    rows = [_row("A", i) for i in range(20)]
    # reading 7 uploaded again with another accel_z, and a slow reading uploaded twice: the
    # slow pair is removed by the context filter, not counted as a duplicate
    other = dict(rows[7], accel_z=15.0)
    slow = _row("A", 30, velocity=2.0)
    outputs = []
    for name, day_rows in (("first", [*rows, other]), ("last", [other, *reversed(rows)])):
        folder = tmp_path / name
        folder.mkdir()
        figures = _run_day(spark_session, folder, [*day_rows, slow, dict(slow)])
        assert figures.duplicates == 1 and figures.rows == 20
        assert figures.input_rows == 23 and figures.context_filtered == 2
        outputs.append(_stage1_out(folder))
    pd.testing.assert_frame_equal(outputs[0], outputs[1])
    assert outputs[0]["timestamp"].is_unique
    # the copy with the greater accel_z is kept: 19 readings of 9.81 and one of 15.0 give mean
    # 10.0695 and sample std 1.16052, so z = 4.9305 / 1.16052 = 4.2485 and the score 0.7·z =
    # 2.974 (gyro_y has no spread: 0); kept, the other copy would leave accel_z no spread (0)
    seventh = outputs[0][outputs[0]["timestamp"] == rows[7]["timestamp"]].iloc[0]
    assert seventh["impact_score"] == pytest.approx(2.974, abs=1e-3)


def test_a_corrupt_page_behind_a_valid_footer_is_named_by_its_lake_key(
    spark_session: SparkSession, tmp_path
) -> None:
    rows = [_row("A", i, accel_x=0.001 * i) for i in range(5_000)]
    table = pa.Table.from_pandas(
        pd.DataFrame(rows).astype({"satellites": "int32"}), preserve_index=False
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="snappy")
    data = bytearray(buffer.getvalue())
    column = pq.ParquetFile(io.BytesIO(bytes(data))).metadata.row_group(0).column(3)  # accel_x
    start = column.data_page_offset
    data[start + 30 : start + column.total_compressed_size - 10] = b"\xff" * (
        column.total_compressed_size - 40
    )  # its footer (and so its schema) still reads; its accel_x page does not
    local = tmp_path / "merged_0001.parquet"
    local.write_bytes(bytes(data))
    name = "s3://lake/raw-sensor-data/dt=2026-02-10/merged_0001.parquet"
    paths = st.DayPaths(
        raw=[RawFile(name, str(local), str(local))],
        stage1=str(tmp_path / "s1"),
        rejected=str(tmp_path / "rej"),
    )
    bumps = st.bump_index(spark_session, pd.DataFrame(columns=["lat", "lon", "length_cm"]), 5e-4)
    with pytest.raises(st.RawReadError) as error:
        st.run_day(spark_session, DAY, paths, bumps, st.segment_index(spark_session, _segments()))
    assert error.value.name == name
    assert str(error.value).startswith(f"raw object {name} is unreadable: ")
    assert str(tmp_path) not in str(error.value)
