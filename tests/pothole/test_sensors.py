"""The raw-input sensor requests a day only once its input is complete; the schedule backs it up."""

import datetime as dt
import json
import os

import dagster as dg
import pytest

from pothole_assets import lake_io as lk
from pothole_assets.assets.raw import build_raw_sensor_data
from pothole_assets.definitions import defs
from pothole_assets.jobs import pothole_daily_job
from pothole_assets.schedules import build_schedules
from pothole_assets.sensors import build_raw_sensor_data_sensor, build_sensors, evaluate_raw_days
from pothole_assets.sources import PotholeResource
from resources import LakeResource, load_settings
from resources.kst import KST, now_kst


def _sensor_at(now: dt.datetime) -> dg.SensorDefinition:
    """The raw-input sensor of the location, its clock stopped at `now`."""
    return build_raw_sensor_data_sensor(
        pothole_daily_job.name, dg.DefaultSensorStatus.RUNNING, clock=lambda: now
    )


def _put(lake: LakeResource, day: str, name: str, age_minutes: float, now: dt.datetime) -> None:
    key = lk.day_prefix(lk.RAW_PREFIX, day) + name
    lake.put_bytes(key, b"PAR1 sample")
    stamp = (now - dt.timedelta(minutes=age_minutes)).timestamp()
    os.utime(lake.uri(key), (stamp, stamp))


def test_day_is_requested_only_when_over_and_quiet(local_lake: LakeResource) -> None:
    now = dt.datetime(2026, 2, 11, 0, 30, tzinfo=KST)  # 00:30 on the 11th: the 10th has ended
    _put(local_lake, "2026-02-10", "merged_0000.parquet", 60, now)
    _put(local_lake, "2026-02-11", "merged_0000.parquet", 60, now)  # today: still going

    # first sight: remembered, not requested (no way to know it stopped changing)
    days, observed, cursor, waiting = evaluate_raw_days(local_lake, now, None)
    assert days == []
    assert [key for key, _ in observed] == ["2026-02-10", "2026-02-11"]
    assert observed[0][1]["file_count"] == 1
    assert any("2026-02-11: day not over" in w for w in waiting)

    # a file lands: still changing
    _put(local_lake, "2026-02-10", "merged_0001.parquet", 2, now)
    later = now + dt.timedelta(minutes=5)
    days, _, cursor, waiting = evaluate_raw_days(local_lake, later, cursor)
    assert days == [] and any("2026-02-10: objects still changing" in w for w in waiting)

    # unchanged and quiet for 10 minutes: complete
    quiet = now + dt.timedelta(minutes=20)
    days, observed, cursor, _ = evaluate_raw_days(local_lake, quiet, cursor)
    assert days == ["2026-02-10"] and observed == []
    # requested once only
    days, _, cursor, _ = evaluate_raw_days(local_lake, quiet + dt.timedelta(minutes=5), cursor)
    assert days == []
    assert "2026-02-10" in json.loads(cursor)["requested"]


def test_success_marker_completes_a_day_at_once(local_lake: LakeResource) -> None:
    now = dt.datetime(2026, 2, 11, 15, 0, tzinfo=KST)
    _put(local_lake, "2026-02-11", "merged_0000.parquet", 1, now)
    assert evaluate_raw_days(local_lake, now, None)[0] == []
    _put(local_lake, "2026-02-11", "_SUCCESS", 0, now)
    # the day is still open, so its partition does not exist yet: wait for midnight
    days, _, cursor, waiting = evaluate_raw_days(local_lake, now, None)
    assert days == [] and any("2026-02-11: marked complete" in w for w in waiting)
    # one second after midnight: requested at once, without waiting for the quiet period
    _put(local_lake, "2026-02-11", "merged_0001.parquet", 0, now.replace(hour=23, minute=59))
    midnight = dt.datetime(2026, 2, 12, 0, 0, 1, tzinfo=KST)
    assert evaluate_raw_days(local_lake, midnight, cursor)[0] == ["2026-02-11"]


def test_marker_on_the_open_day_does_not_break_the_tick(local_lake: LakeResource) -> None:
    """A marker on today's input must not make the tick fail (and hold back yesterday).

    Today is the code's own KST clock, read once: the partitions Dagster resolves the requests
    against exist up to the day before that moment (or later), never fewer.
    """
    now = now_kst()
    sensor = _sensor_at(now)
    today = now.date().isoformat()
    yesterday = (now.date() - dt.timedelta(days=1)).isoformat()
    for day in (yesterday, today):
        _put(local_lake, day, "merged_0000.parquet", 30, now)
        _put(local_lake, day, "_SUCCESS", 30, now)
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(
            instance=instance,
            resources={"lake": local_lake},
            repository_def=defs.get_repository_def(),
        )
        data = sensor.evaluate_tick(context)  # resolves the partition of every request
        assert [r.partition_key for r in data.run_requests] == [yesterday]


def test_sensor_emits_run_requests_and_observations(local_lake: LakeResource) -> None:
    now = dt.datetime(2026, 2, 11, 9, 0, tzinfo=KST)  # 09:00: the 10th ended nine hours ago
    sensor = _sensor_at(now)
    yesterday = "2026-02-10"
    _put(local_lake, yesterday, "merged_0000.parquet", 30, now)
    _put(local_lake, yesterday, "_SUCCESS", 30, now)
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, resources={"lake": local_lake})
        result = sensor(context)
        assert isinstance(result, dg.SensorResult)
        assert [r.partition_key for r in result.run_requests] == [yesterday]
        assert result.run_requests[0].run_key == f"raw_sensor_data:{yesterday}"
        (observation,) = result.asset_events
        assert observation.partition == yesterday
        assert observation.metadata["file_count"].value == 1
        # the next tick (cursor kept) requests nothing new
        again = sensor(
            dg.build_sensor_context(
                instance=instance, resources={"lake": local_lake}, cursor=result.cursor
            )
        )
        assert isinstance(again, dg.SkipReason)


@pytest.mark.parametrize(
    ("tick", "day"),
    [
        # 02:00 KST on the 11th: the 10th (yesterday in Seoul)
        (dt.datetime(2026, 2, 11, 2, 0, tzinfo=KST), "2026-02-10"),
        # 02:00 KST on 1 March is 17:00 UTC on 28 February: still February's last day
        (dt.datetime(2026, 2, 28, 17, 0, tzinfo=dt.UTC), "2026-02-28"),
    ],
)
def test_schedule_requests_yesterday_in_seoul_unless_it_already_ran(
    tick: dt.datetime, day: str
) -> None:
    schedule = defs.get_schedule_def("pothole_daily_schedule")
    repo = defs.get_repository_def()
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=tick, repository_def=repo
        )
        (request,) = schedule.evaluate_tick(context).run_requests
        assert request.partition_key == day
        instance.create_run_for_job(
            defs.resolve_job_def("pothole_daily_job"),
            tags={"dagster/partition": day},
            status=dg.DagsterRunStatus.SUCCESS,
        )
        data = schedule.evaluate_tick(
            dg.build_schedule_context(
                instance=instance, scheduled_execution_time=tick, repository_def=repo
            )
        )
        assert not data.run_requests and f"{day} already ran" in data.skip_message


@pytest.mark.parametrize(("env", "running"), [("prod", True), ("local", False)])
def test_automation_starts_running_in_prod_and_stopped_locally(env: str, running: bool) -> None:
    settings = load_settings().model_copy(update={"platform_env": env})
    schedule_status = (
        dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED
    )
    sensor_status = dg.DefaultSensorStatus.RUNNING if running else dg.DefaultSensorStatus.STOPPED
    assert {s.name: s.default_status for s in build_schedules(settings)} == {
        "pothole_daily_schedule": schedule_status
    }
    assert {s.name: s.default_status for s in build_sensors(settings)} == {
        "raw_sensor_data_sensor": sensor_status,
        # the announcement of finished batches always runs, as the failure alerts do
        "pothole_run_success_sensor": dg.DefaultSensorStatus.RUNNING,
    }


def test_success_message_names_job_date_and_duration() -> None:
    from pothole_assets.sensors import success_message

    run = dg.DagsterRun(job_name="pothole_daily_job", tags={"dagster/partition": "2026-02-10"})
    text = success_message(run, 1000.0, 1000.0 + 754)
    assert text.splitlines() == [
        "🟢 파이프라인 성공",
        "Job: pothole_daily_job",
        "Date: 2026-02-10",
        "Duration: 0:12:34",
    ]
    ranged = dg.DagsterRun(
        job_name="pothole_daily_job",
        tags={
            "dagster/asset_partition_range_start": "2026-02-01",
            "dagster/asset_partition_range_end": "2026-02-03",
        },
    )
    assert "Date: 2026-02-01..2026-02-03" in success_message(ranged, None, None)


def test_observing_raw_input_records_a_version_per_arrived_day(local_lake: LakeResource) -> None:
    from dagster._core.definitions.data_version import extract_data_version_from_entry
    from dagster._core.definitions.observe import observe

    now = dt.datetime(2026, 2, 11, 9, 0, tzinfo=KST)
    raw_sensor_data = build_raw_sensor_data(clock=lambda: now)
    yesterday = "2026-02-10"
    _put(local_lake, yesterday, "merged_0000.parquet", 5, now)
    with dg.instance_for_test() as instance:
        # prod: the observation only looks, it never writes sample files
        resources = {"lake": local_lake, "pothole": PotholeResource(samples=False)}
        result = observe([raw_sensor_data], instance=instance, resources=resources)
        assert result.success
        (event,) = [e for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION"]
        observation = event.event_specific_data.asset_observation
        assert observation.partition == yesterday
        assert observation.tags["dagster/data_version"].startswith("1:11:")
        # the UI shows whether the day's input has arrived: files, bytes, newest object
        assert observation.metadata["file_count"].value == 1
        assert observation.metadata["bytes"].value == 11
        assert observation.metadata["newest_object"].value.endswith("merged_0000.parquet")
        # and Dagster reads the partition's data version from it
        key = dg.AssetKey("raw_sensor_data")
        record = instance.get_latest_data_version_record(key, partition_key=yesterday)
        assert record is not None
        assert dg.DataVersion(observation.tags["dagster/data_version"]) == (
            extract_data_version_from_entry(record.event_log_entry)
        )


def _raw_observations(instance: dg.DagsterInstance) -> dict[str, dict]:
    key = dg.AssetKey("raw_sensor_data")
    records = instance.fetch_observations(key, limit=100).records
    return {
        r.event_log_entry.asset_observation.partition: r.event_log_entry.asset_observation.metadata
        for r in records
    }


def test_first_local_observation_reports_the_sample_day(local_lake: LakeResource) -> None:
    """On a fresh clone the first observation finds the local sample day, not an empty lake."""
    from dagster._core.definitions.observe import observe

    from pothole_assets.assets import raw_sensor_data
    from pothole_assets.partitions import pothole_daily_partitions

    sample_day = pothole_daily_partitions.get_last_partition_key()
    assert not local_lake.list("")  # nothing generated yet
    resources = {
        "lake": local_lake,
        "pothole": PotholeResource(samples=True, sample_readings_per_day=2_000),
    }
    with dg.instance_for_test() as instance:
        # the UI's "Observe sources" (no partition)
        assert observe([raw_sensor_data], instance=instance, resources=resources).success
        observed = _raw_observations(instance)
        assert list(observed) == [sample_day]
        files = lk.parquet_objects(local_lake, lk.day_prefix(lk.RAW_PREFIX, sample_day))
        assert files and observed[sample_day]["file_count"].value == len(files)
        assert observed[sample_day]["bytes"].value == sum(f.size for f in files)
        assert observed[sample_day]["success_marker"].value is True


def test_demo_first_observation_on_a_fresh_clone_reports_files(
    local_lake: LakeResource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make demo`'s own code, on an empty lake: its raw_sensor_data observation has the files."""
    from pothole_assets.partitions import pothole_daily_partitions
    from resources.demo import run_location

    monkeypatch.setenv("POTHOLE_TEST_LAKE", str(local_lake.local_root))
    sample_day = pothole_daily_partitions.get_last_partition_key()
    with dg.instance_for_test() as instance:
        summary = run_location("pothole", "tests.pothole.raw_only_location", instance)
        # the demo's summary counts materialized partitions; an observation shows in its assets
        assert summary.ok and summary.assets == {dg.AssetKey("raw_sensor_data")}
        observed = _raw_observations(instance)
    # the demo writes the sample days of its range first: the latest is among them, and every
    # day the observation reports has the files it found in the lake
    assert sample_day in observed
    for day, metadata in observed.items():
        files = lk.parquet_objects(local_lake, lk.day_prefix(lk.RAW_PREFIX, day))
        assert files and metadata["file_count"].value == len(files)
