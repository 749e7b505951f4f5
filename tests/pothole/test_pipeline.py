"""The whole chain on sample data: moto S3 lake, real PostgreSQL, local Spark, local SMTP."""

import datetime as dt
import os
import signal
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path
from typing import Any

import boto3
import dagster as dg
import pandas as pd
import pytest

from pothole_assets import lake_io as lk
from pothole_assets.definitions import defs
from pothole_assets.jobs import DAILY_ASSETS
from resources import ClusterResource, LakeResource, WarehouseResource

from .conftest import SharedSpark, pothole_resources

DAY = "2026-02-10"
STATIC = ["road_segments", "speed_bumps", "segment_road_grade", "pothole_complaints"]


def _assets(keys: list[str]) -> list[dg.AssetsDefinition]:
    """The location's own definitions of `keys` (every one of them is defined there)."""
    wanted = {dg.AssetKey(k) for k in keys}
    out = []
    for assets_def in defs.assets or []:
        if isinstance(assets_def, dg.AssetsDefinition) and assets_def.keys & wanted:
            out.append(assets_def)
    found = set().union(*(a.keys for a in out))
    assert wanted <= found, f"not in the location: {sorted(k.path[-1] for k in wanted - found)}"
    return out


def _run(resources: dict, keys: list[str], **kwargs: object) -> dg.ExecuteInProcessResult:
    return dg.materialize(_assets(keys), resources=resources, raise_on_error=False, **kwargs)


def _materializations(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    events = result.get_asset_materialization_events()
    return {
        e.materialization.asset_key.to_user_string(): e.materialization.metadata for e in events
    }


def _html(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            return part.get_payload(decode=True).decode()
    raise AssertionError("no HTML part")


@pytest.fixture
def chain(s3_lake: LakeResource, warehouse: WarehouseResource, spark_resource, smtp_server):
    resources = pothole_resources(s3_lake, warehouse, spark_resource, mailer=smtp_server.mailer())
    static = _run(resources, STATIC)
    assert static.success
    return resources


def test_one_sample_day_end_to_end(chain: dict, smtp_server, warehouse: WarehouseResource) -> None:
    result = _run(chain, DAILY_ASSETS, partition_key=DAY)
    assert result.success
    meta = _materializations(result)
    lake: LakeResource = chain["lake"]

    # raw sample day generated into S3, both stages written back to S3 (via staging)
    assert lk.parquet_objects(lake, lk.day_prefix(lk.RAW_PREFIX, DAY))
    assert lk.parquet_objects(lake, lk.day_prefix(lk.STAGE1_PREFIX, DAY))
    stage1 = lake.read_parquet(lk.day_prefix(lk.STAGE1_PREFIX, DAY))
    assert list(stage1.columns) == ["timestamp", "lon", "lat", "impact_score", "is_pothole"]
    s1 = meta["stage1_anomaly_detected"]
    assert s1["dagster/row_count"].value == len(stage1)
    assert s1["vetoed_by_speed_bump"].value > 0 and s1["potholes"].value > 0
    assert s1["rows_rejected"].value > 0  # the sample's (0, 0) GPS fixes
    rejected = lake.read_parquet(lk.day_prefix(lk.STAGE1_REJECTED_PREFIX, DAY))
    assert set(rejected["reject_reason"]) == {"position_out_of_range"}
    # counted, kept aside and excluded: none of them reaches Stage 1's output
    assert len(rejected) == s1["rows_rejected"].value
    assert s1["rejected_by_reason"].value == {"position_out_of_range": len(rejected)}
    assert stage1["lat"].between(33, 43).all() and stage1["lon"].between(124, 132).all()
    s2 = meta["stage2_spatial_clustering"]
    assert s2["dropped_points"].value > 0  # the rest-area stops, 80 m off the road

    rows = warehouse.read_frame("SELECT * FROM pothole_segments ORDER BY s_id")
    assert len(rows) == meta["pothole_segments"]["dagster/row_count"].value > 0
    assert (rows["date"] == dt.date(2026, 2, 10)).all()
    assert int(rows["total_count"].sum()) == s2["points"].value - s2["dropped_points"].value
    # the planted potholes are the segments with the most impacts
    from pothole_assets.sample_data import build_network

    planted = set(build_network().potholes["s_id"])
    top = rows.sort_values("impact_count", ascending=False).head(len(planted))
    assert len(planted & set(top["s_id"])) >= len(planted) - 2

    addresses = warehouse.read_frame("SELECT * FROM segment_address")
    assert set(addresses["s_id"]) == set(rows["s_id"])
    priority = warehouse.read_frame(
        "SELECT * FROM mvw_dashboard_repair_priority WHERE date = :d ORDER BY priority_rank",
        {"d": dt.date(2026, 2, 10)},
    )
    assert len(priority) == len(rows) and priority["priority_rank"].iloc[0] == 1

    # the email: subject, the top-5 table (rank, road, district, score, complaints), the map
    (message,) = smtp_server.messages
    subject = str(make_header(decode_header(message["Subject"])))
    assert subject == "[포트홀 탐지] 일일 리포트 - 2026-02-10"
    assert message["To"] == "roads@example.com"
    html = _html(message)
    for header in ("순위", "도로명", "관할 구역", "위험 점수", "민원", "보수 우선순위 TOP 5"):
        assert header in html
    assert html.count("<tr style=") == 5
    best = priority.iloc[0]
    assert f"{best['priority_score']:.1f}" in html and f"{best['centroid_lat']:.4f}" in html
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert images and images[0]["Content-ID"] == "<pothole-map>"
    assert images[0].get_payload(decode=True)[:4] == b"\x89PNG"

    # every check of the chain ran; the loader's three checks passed
    checks = {
        (e.asset_key.to_user_string(), e.check_name): e.passed
        for e in result.get_asset_check_evaluations()
    }
    assert checks[("pothole_segments", "impact_count_not_above_total_count")]
    assert checks[("pothole_segments", "no_empty_s_id")]
    assert checks[("stage1_anomaly_detected", "raw_input_valid_ranges")]
    assert checks[("stage2_spatial_clustering", "distance_rule_drop_share")]

    # re-materializing gives identical rows
    before = warehouse.read_frame(
        "SELECT s_id, date, impact_count, total_count, centroid_lon, centroid_lat "
        "FROM pothole_segments ORDER BY s_id"
    )
    again = _run(chain, DAILY_ASSETS, partition_key=DAY)
    assert again.success
    after = warehouse.read_frame(
        "SELECT s_id, date, impact_count, total_count, centroid_lon, centroid_lat "
        "FROM pothole_segments ORDER BY s_id"
    )
    pd.testing.assert_frame_equal(before, after)
    # the day's report was mailed already: the re-run does not mail it again
    assert len(smtp_server.messages) == 1


def test_backfill_of_two_days_across_a_month_reports_each_day(
    local_lake: LakeResource, warehouse: WarehouseResource, spark_resource, smtp_server
) -> None:
    resources = pothole_resources(
        local_lake, warehouse, spark_resource, mailer=smtp_server.mailer(), readings=4_000
    )
    assert _run(resources, STATIC).success
    result = _run(
        resources,
        DAILY_ASSETS,
        tags={
            "dagster/asset_partition_range_start": "2026-02-28",
            "dagster/asset_partition_range_end": "2026-03-01",
        },
    )
    assert result.success
    days = warehouse.read_frame(
        "SELECT date, COUNT(*) AS n FROM pothole_segments GROUP BY date ORDER BY date"
    )
    assert [d.isoformat() for d in days["date"]] == ["2026-02-28", "2026-03-01"]
    # the monthly partitions were created as the dates arrived
    partitions = warehouse.read_frame(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'pothole_segments'::regclass ORDER BY 1"
    )["relname"].tolist()
    assert partitions == ["pothole_segments_2026_02", "pothole_segments_2026_03"]
    # one email per day, each showing its own day's priorities
    subjects = [str(make_header(decode_header(m["Subject"]))) for m in smtp_server.messages]
    assert subjects == [
        "[포트홀 탐지] 일일 리포트 - 2026-02-28",
        "[포트홀 탐지] 일일 리포트 - 2026-03-01",
    ]
    for message, day in zip(smtp_server.messages, ("2026-02-28", "2026-03-01"), strict=True):
        top = warehouse.read_frame(
            "SELECT * FROM mvw_dashboard_repair_priority WHERE date = :d "
            "ORDER BY priority_rank, s_id LIMIT 5",
            {"d": dt.date.fromisoformat(day)},
        )
        html = _html(message)
        assert f"({day})" in html
        for _, row in top.iterrows():
            assert f"({row['centroid_lat']:.4f}, {row['centroid_lon']:.4f})" in html
    # an old day re-run alone (asked to send again) reports that day, not the latest one
    smtp_server.messages.clear()
    resend = {"ops": {"daily_pothole_report": {"config": {"resend": True}}}}
    assert _run(
        resources, ["daily_pothole_report"], partition_key="2026-02-28", run_config=resend
    ).success
    (message,) = smtp_server.messages
    assert "2026-02-28" in str(make_header(decode_header(message["Subject"])))
    heat = warehouse.read_frame("SELECT DISTINCT date FROM mvw_dashboard_heatmap ORDER BY 1")
    assert len(heat) == 2


def _stopped_cluster(moto_endpoint: str) -> tuple[Any, list[str], ClusterResource]:
    """Two stopped instances in the moto server, and the cluster resource that owns them."""
    ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=moto_endpoint)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    made = ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, InstanceType="t3.medium")
    ids = [i["InstanceId"] for i in made["Instances"]]
    ec2.stop_instances(InstanceIds=ids)
    cluster = ClusterResource(
        instance_ids=ids, region="us-east-1", endpoint_url=moto_endpoint, poll_seconds=1
    )
    return ec2, ids, cluster


def _states(ec2: Any, ids: list[str]) -> dict[str, str]:
    return {
        i["InstanceId"]: i["State"]["Name"]
        for r in ec2.describe_instances(InstanceIds=ids)["Reservations"]
        for i in r["Instances"]
    }


def test_cluster_is_stopped_and_the_run_fails_when_stage1_raises(
    moto_endpoint: str, local_lake: LakeResource, warehouse: WarehouseResource, spark_resource
) -> None:
    ec2, ids, cluster = _stopped_cluster(moto_endpoint)
    # a raw day whose files lack columns: Stage 1 fails after the cluster started
    bad = pd.DataFrame({"timestamp": [1], "trip_id": ["t"], "accel_z": [9.8]})
    local_lake.write_parquet(lk.day_prefix(lk.RAW_PREFIX, DAY) + "merged_0000.parquet", bad)
    resources = pothole_resources(local_lake, warehouse, spark_resource, cluster=cluster)

    instance = dg.DagsterInstance.ephemeral()
    result = _run(resources, ["stage1_anomaly_detected"], partition_key=DAY, instance=instance)

    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "do not match the sensor schema" in failure.event_specific_data.error.message
    assert "missing column 'gyro_y'" in failure.event_specific_data.error.message
    (schema_check,) = result.get_asset_check_evaluations()
    assert schema_check.check_name == "raw_input_schema" and not schema_check.passed
    bad_files = schema_check.metadata["bad_files"].value
    key = lk.day_prefix(lk.RAW_PREFIX, DAY) + "merged_0000.parquet"
    assert "missing column 'gyro_y'" in bad_files[local_lake.uri(key)]
    logs = [e.user_message for e in instance.all_logs(result.run_id)]
    assert any("cluster: running" in m for m in logs)
    assert any("cluster: stopped" in m for m in logs)
    assert set(_states(ec2, ids).values()) == {"stopped"}
    assert not result.get_asset_materialization_events()


class TerminatedWhileRunning(SharedSpark):
    """Spark whose session start is where the run gets terminated, with the cluster up.

    Terminating a run makes Dagster send SIGINT to the run's own process
    (`dagster_shared.ipc.send_interrupt`), which raises an interrupt inside the running step.
    A signal a process sends itself is handled before `os.kill` returns (CPython checks for it
    there), so the interrupt is raised inside `os.kill` and the line after it never runs.
    """

    instance_ids: list[str]
    endpoint_url: str
    states_file: str

    def get_session(self) -> Any:
        """Write down the instances' states, then receive the termination signal."""
        ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=self.endpoint_url)
        states = _states(ec2, self.instance_ids)
        Path(self.states_file).write_text(" ".join(states[i] for i in self.instance_ids))
        os.kill(os.getpid(), signal.SIGINT)
        raise AssertionError("the run was not interrupted")


def test_cluster_is_stopped_when_the_run_is_terminated_while_it_runs(
    moto_endpoint: str,
    local_lake: LakeResource,
    warehouse: WarehouseResource,
    spark_session,
    tmp_path: Path,
) -> None:
    ec2, ids, cluster = _stopped_cluster(moto_endpoint)
    seen = tmp_path / "states_at_termination"
    spark = TerminatedWhileRunning(
        master="local[2]", instance_ids=ids, endpoint_url=moto_endpoint, states_file=str(seen)
    )
    resources = pothole_resources(local_lake, warehouse, spark, cluster=cluster)

    instance = dg.DagsterInstance.ephemeral()
    result = _run(resources, ["stage1_anomaly_detected"], partition_key=DAY, instance=instance)

    assert seen.read_text() == "running running"  # terminated while the cluster ran
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    # the interrupt ended the step (not the AssertionError after the signal)
    assert failure.event_specific_data.error.cls_name == "DagsterExecutionInterruptedError"
    assert instance.get_run_by_id(result.run_id).status == dg.DagsterRunStatus.FAILURE
    # every instance of the cluster is stopped again
    assert _states(ec2, ids) == dict.fromkeys(ids, "stopped")
    logs = [e.user_message for e in instance.all_logs(result.run_id)]
    assert any("cluster: stopping 2 instance(s)" in m for m in logs)
    assert any("cluster: stopped" in m for m in logs)
    assert not result.get_asset_materialization_events()


def test_range_backfill_records_each_days_own_figures(
    local_lake: LakeResource, warehouse: WarehouseResource, spark_resource, smtp_server
) -> None:
    """One run over two days: each day's materialization carries that day's figures, once."""
    resources = pothole_resources(
        local_lake, warehouse, spark_resource, mailer=smtp_server.mailer(), readings=3_000
    )
    assert _run(resources, STATIC).success
    days = ["2026-02-10", "2026-02-11"]
    result = _run(
        resources,
        DAILY_ASSETS,
        tags={
            "dagster/asset_partition_range_start": days[0],
            "dagster/asset_partition_range_end": days[-1],
        },
    )
    assert result.success

    # every asset of the chain materialized every day of the range exactly once
    recorded: dict[str, dict[str, dict]] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        per_asset = recorded.setdefault(materialization.asset_key.to_user_string(), {})
        assert materialization.partition not in per_asset, "materialized twice"
        per_asset[materialization.partition] = materialization.metadata
    assert sorted(recorded) == sorted(DAILY_ASSETS)
    assert all(sorted(per_day) == days for per_day in recorded.values())

    def row_count(asset: str, day: str) -> int:
        return recorded[asset][day]["dagster/row_count"].value

    def count(query: str, day: str) -> int:
        return int(warehouse.read_frame(query, {"d": dt.date.fromisoformat(day)})["n"].iloc[0])

    for day in days:
        stage1 = local_lake.read_parquet(lk.day_prefix(lk.STAGE1_PREFIX, day))
        stage2 = local_lake.read_parquet(lk.day_prefix(lk.STAGE2_PREFIX, day))
        assert row_count("stage1_anomaly_detected", day) == len(stage1)
        s1 = recorded["stage1_anomaly_detected"][day]
        assert s1["potholes"].value == int(stage1["is_pothole"].sum())
        assert row_count("stage2_spatial_clustering", day) == len(stage2)
        s2 = recorded["stage2_spatial_clustering"][day]
        segments = count("SELECT COUNT(*) AS n FROM pothole_segments WHERE date = :d", day)
        readings = count("SELECT SUM(total_count) AS n FROM pothole_segments WHERE date = :d", day)
        assert row_count("pothole_segments", day) == segments
        assert recorded["pothole_segments"][day]["readings_total"].value == readings
        assert s2["points"].value - s2["dropped_points"].value == readings
        assert row_count("mvw_dashboard_heatmap", day) == segments
        assert row_count("mvw_dashboard_repair_priority", day) == segments
        assert row_count("mvw_dashboard_weekly_stats", day) == count(
            "SELECT COUNT(*) AS n FROM mvw_dashboard_weekly_stats "
            "WHERE date BETWEEN CAST(:d AS date) - 6 AND :d",
            day,
        )
        assert row_count("daily_pothole_report", day) == min(5, segments)
        assert recorded["daily_pothole_report"][day]["subject"].value.endswith(day)
    # the days differ, and their figures add up to the run's totals
    total = count("SELECT COUNT(*) AS n FROM pothole_segments WHERE date >= :d", days[0])
    assert row_count("pothole_segments", days[0]) != row_count("pothole_segments", days[1])
    assert sum(row_count("pothole_segments", d) for d in days) == total
    # a segment's address is looked up once, on the first day it appears
    new_on_day_2 = count(
        "SELECT COUNT(DISTINCT s_id) AS n FROM pothole_segments WHERE date = :d "
        "AND s_id NOT IN (SELECT s_id FROM pothole_segments WHERE date < :d)",
        days[1],
    )
    assert row_count("segment_address", days[0]) == row_count("pothole_segments", days[0])
    assert row_count("segment_address", days[1]) == new_on_day_2
