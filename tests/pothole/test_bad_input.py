"""Bad raw days made by hand: each bad file named by its lake key, a day unfit to report stopped.

The raw days here are written by the tests themselves (not the sample generator): a few trips of
10 Hz readings on road 863 near Yeosu, in the lake the run reads (moto S3 or a local folder).
"""

import datetime as dt
import io
import json

import dagster as dg
import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

from pothole_assets import lake_io as lk
from pothole_assets.definitions import defs
from pothole_assets.jobs import DAILY_ASSETS
from resources import LakeResource, WarehouseResource
from resources.alerts import AlertsResource

from .conftest import pothole_resources
from .test_pipeline import STATIC, _run

DAY = "2026-02-10"
MIDNIGHT_MS = 1_770_649_200_000  # 2026-02-10 00:00 KST in epoch ms
HOUR_MS = 3_600_000


def readings(trip: str, start_ms: int, n: int, lon0: float = 127.60, **values: float) -> list:
    """`n` valid readings of one trip, 100 ms apart, moving east from (lon0, 34.70)."""
    return [
        {
            "timestamp": start_ms + i * 100,
            "trip_id": trip,
            "vehicle_id": "v042",
            "accel_x": 0.1,
            "accel_y": -0.1,
            "accel_z": 9.81 + 0.01 * (i % 7),
            "gyro_x": 0.0,
            "gyro_y": 0.02 * (i % 5),
            "gyro_z": 0.0,
            "velocity": 42.0,
            "lon": lon0 + i * 1e-5,
            "lat": 34.70,
            "hdop": 1.2,
            "satellites": 9,
            **values,
        }
        for i in range(n)
    ]


def parquet(rows: list[dict], drop: tuple[str, ...] = ()) -> bytes:
    """A raw file's bytes (int64 timestamp, int32 satellites), without the `drop` columns."""
    frame = pd.DataFrame(rows).astype({"timestamp": "int64", "satellites": "int32"})
    buffer = io.BytesIO()
    frame.drop(columns=list(drop)).to_parquet(buffer, index=False)
    return buffer.getvalue()


def write_raw(lake: LakeResource, files: dict[str, bytes], day: str = DAY) -> dict[str, str]:
    """Write the raw files of `day`; returns each file name's lake address."""
    prefix = lk.day_prefix(lk.RAW_PREFIX, day)
    for name, data in files.items():
        lake.put_bytes(prefix + name, data)
    return {name: lake.uri(prefix + name) for name in files}


def step_error(result: dg.ExecuteInProcessResult) -> str:
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    return failure.event_specific_data.error.message


def good_day() -> list[dict]:
    """Three trips of 400 readings between 08:00 and 09:00 KST."""
    start = MIDNIGHT_MS + 8 * HOUR_MS
    return [row for t in range(3) for row in readings(f"T{t}", start + t * 60_000, 400)]


@pytest.mark.parametrize("bad_name", ["aa_first.parquet", "zz_last.parquet"])
def test_schema_check_judges_every_file_and_names_the_bad_ones_lake_key(
    bad_name: str, s3_lake: LakeResource, warehouse: WarehouseResource, spark_resource
) -> None:
    """A file missing gyro_y fails the day by its s3:// key, whether it sorts first or last."""
    rows = good_day()
    uris = write_raw(
        s3_lake,
        {
            "merged_0000.parquet": parquet(rows[:600]),
            "merged_0001.parquet": parquet(rows[600:]),
            bad_name: parquet(readings("T9", MIDNIGHT_MS + 10 * HOUR_MS, 50), drop=("gyro_y",)),
        },
    )
    resources = pothole_resources(s3_lake, warehouse, spark_resource)
    result = _run(resources, ["stage1_anomaly_detected"], partition_key=DAY)

    assert not result.success
    message = step_error(result)
    bad_uri = uris[bad_name]
    assert bad_uri.startswith("s3://") and "/dt=2026-02-10/" in bad_uri
    # the error's first line (after Dagster's exception class) names the file's lake key
    head = message.splitlines()[0].split("Failure: ", 1)[1]
    assert head.startswith(f"stage1_anomaly_detected 2026-02-10: raw file {bad_uri} ")
    assert f"{bad_uri}: missing column 'gyro_y'" in message
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == "raw_input_schema" and not check.passed
    # only the bad file is blamed; its 50 rows did not become missing_value rejects
    assert check.metadata["bad_files"].value == {bad_uri: ["missing column 'gyro_y'"]}
    assert not result.get_asset_materialization_events()
    assert not s3_lake.list(lk.day_prefix(lk.STAGE1_PREFIX, DAY))


def _alert_text(
    httpserver: HTTPServer, instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult
) -> str:
    """What the pothole location's run-failure sensor posts to Slack for `result`'s run."""
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    alerts = AlertsResource(webhook_url=httpserver.url_for("/hook"))
    sensor = next(s for s in defs.sensors if s.name == "pothole_run_failure_alert_sensor")
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name,
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
        resources={"alerts": alerts},
    ).for_run_failure()
    sensor(context)
    ((request, _),) = httpserver.log
    return json.loads(request.data)["text"]


def test_unreadable_object_is_named_by_its_lake_key_in_the_step_error_and_the_alert(
    httpserver: HTTPServer, s3_lake: LakeResource, warehouse: WarehouseResource, spark_resource
) -> None:
    """A truncated object and a text file: the step error and the Slack text name the s3 key."""
    good = parquet(good_day())
    uris = write_raw(
        s3_lake,
        {
            "merged_0000.parquet": good,
            "merged_0001.parquet": good[: len(good) // 2],  # upload cut off half way
            "merged_0002.parquet": b"trip_id,timestamp\nT1,1770649200000\n",  # a CSV by mistake
        },
    )
    resources = pothole_resources(s3_lake, warehouse, spark_resource)
    with dg.instance_for_test() as instance:
        result = _run(resources, ["stage1_anomaly_detected"], partition_key=DAY, instance=instance)
        assert not result.success
        message = step_error(result)
        text = _alert_text(httpserver, instance, result)

    truncated, text_file = uris["merged_0001.parquet"], uris["merged_0002.parquet"]
    # the first line of the step's error names the object by its lake key
    head = message.splitlines()[0].split("Failure: ", 1)[1]
    assert head.startswith(
        f"stage1_anomaly_detected 2026-02-10: raw object {truncated} is unreadable "
        "(not parquet, or truncated)"
    )
    assert f"{text_file}: unreadable" in message
    assert "/tmp/" not in message and "in-" not in message.split(truncated)[0]
    # the Slack alert carries the same words, not a Java stack fragment
    error_line = next(line for line in text.splitlines() if line.startswith("error: "))
    assert f"Failure: stage1_anomaly_detected {DAY}: raw object {truncated} is" in error_line
    assert "at org.apache" not in text and "Py4J" not in text
    (check,) = result.get_asset_check_evaluations()
    assert check.metadata["unreadable_files"].value == [truncated, text_file]


def test_a_day_failing_the_range_check_is_not_loaded_or_mailed(
    httpserver: HTTPServer,
    local_lake: LakeResource,
    warehouse: WarehouseResource,
    spark_resource,
    smtp_server,
) -> None:
    """66 of 1,200 readings (5.5%) without a GPS fix: the run fails and says why; no mail."""
    rows = good_day()
    for row in rows[::18][:66]:  # every 18th reading: 1200/18 → 67 picks, 66 used
        row["lon"], row["lat"] = 0.0, 0.0
    write_raw(local_lake, {"merged_0000.parquet": parquet(rows)})
    mailer = smtp_server.mailer()
    resources = pothole_resources(local_lake, warehouse, spark_resource, mailer=mailer)
    assert _run(resources, STATIC).success

    with dg.instance_for_test() as instance:
        result = _run(resources, DAILY_ASSETS, partition_key=DAY, instance=instance)
        text = _alert_text(httpserver, instance, result)

    assert not result.success
    message = step_error(result)
    assert "blocking asset check failed" in message
    assert "stage1_anomaly_detected: raw_input_valid_ranges" in message
    (check,) = [
        e for e in result.get_asset_check_evaluations() if e.check_name == "raw_input_valid_ranges"
    ]
    assert not check.passed and check.blocking
    assert check.description.startswith(
        "66 of 1200 raw rows (5.50%) are outside the valid ranges (limit 1.00%): "
        "position_out_of_range 66"
    )
    # the Slack alert says which check stopped the day, and why
    assert "failed step: pothole_spark_stages" in text
    assert (
        "blocking check raw_input_valid_ranges: 66 of 1200 raw rows (5.50%) are outside the "
        "valid ranges" in text
    )
    # nothing after the check ran: no warehouse rows, no views, no mail
    materialized = {
        e.materialization.asset_key.to_user_string()
        for e in result.get_asset_materialization_events()
    }
    assert "pothole_segments" not in materialized and "daily_pothole_report" not in materialized
    assert smtp_server.messages == []
    assert warehouse.read_frame("SELECT COUNT(*) AS n FROM pothole_segments")["n"][0] == 0


def test_a_day_failing_a_loader_check_is_not_reported(
    local_lake: LakeResource, warehouse: WarehouseResource, spark_resource, smtp_server
) -> None:
    """A Stage 2 row with impact_count > total_count: the good rows load, nothing is mailed."""
    mailer = smtp_server.mailer()
    resources = pothole_resources(local_lake, warehouse, spark_resource, mailer=mailer)
    assert _run(resources, STATIC).success
    day = dt.date.fromisoformat(DAY)
    stage2 = pd.DataFrame(
        [
            ("863A_0000", 1, 30, 127.60, 34.70, day),
            ("863A_0001", 9, 4, 127.61, 34.70, day),  # 9 impacts of 4 readings
        ],
        columns=["s_id", "impact_count", "total_count", "centroid_lon", "centroid_lat", "date"],
    )
    local_lake.write_parquet(lk.day_prefix(lk.STAGE2_PREFIX, DAY) + "part-00000.parquet", stage2)
    downstream = [k for k in DAILY_ASSETS if k not in ("stage1_anomaly_detected",)]
    downstream.remove("stage2_spatial_clustering")

    result = _run(resources, downstream, partition_key=DAY)

    assert not result.success
    assert "pothole_segments: impact_count_not_above_total_count" in step_error(result)
    loaded = warehouse.read_frame("SELECT s_id FROM pothole_segments")["s_id"].tolist()
    assert loaded == ["863A_0000"]
    materialized = {
        e.materialization.asset_key.to_user_string()
        for e in result.get_asset_materialization_events()
    }
    assert materialized == {"pothole_segments"}
    assert smtp_server.messages == []


def test_duplicates_and_readings_across_midnight_are_stage1_metadata(
    local_lake: LakeResource, warehouse: WarehouseResource, spark_resource
) -> None:
    """A trip from 23:55 to 00:05 KST, uploaded partly twice, and one reading 7 h early."""
    crossing = readings("NIGHT", MIDNIGHT_MS - 300_000, 6_000)  # 10 min at 10 Hz
    before = [r for r in crossing if r["timestamp"] < MIDNIGHT_MS]  # 3,000 readings
    twice = crossing[4_000:4_250]  # 250 readings uploaded again
    stray = readings("STRAY", MIDNIGHT_MS - 7 * HOUR_MS, 1)
    write_raw(
        local_lake,
        {
            "merged_0000.parquet": parquet(crossing),
            "merged_0001.parquet": parquet(twice + stray),
        },
    )
    resources = pothole_resources(local_lake, warehouse, spark_resource)
    config = {"ops": {"pothole_spark_stages": {"config": {"day_tolerance_hours": 6.0}}}}
    result = _run(resources, ["stage1_anomaly_detected"], partition_key=DAY, run_config=config)

    assert result.success
    (meta,) = [
        e.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key.to_user_string() == "stage1_anomaly_detected"
    ]
    assert meta["counted_across_midnight"].value == len(before) == 3_000
    assert meta["duplicates"].value == 250
    assert meta["rejected_by_reason"].value == {"timestamp_outside_day": 1}
    # 6,000 unique readings of the trip, each once, the ones before midnight included
    assert meta["dagster/row_count"].value == 6_000
    stage1 = local_lake.read_parquet(lk.day_prefix(lk.STAGE1_PREFIX, DAY))
    assert len(stage1) == 6_000 and stage1["timestamp"].is_unique
    assert int((stage1["timestamp"] < MIDNIGHT_MS).sum()) == 3_000
