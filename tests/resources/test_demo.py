import io
from pathlib import Path

import dagster as dg

from resources.demo import (
    RANGE_END_TAG,
    RANGE_START_TAG,
    plan_runs,
    plan_stages,
    run_demo,
    run_location,
    sample_partition_keys,
    stage_depth,
    workspace_locations,
)
from tests.resources import demo_location

DEMO = "tests.resources.demo_location"
EMPTY = "tests.resources.empty_location"


def test_workspace_lists_the_five_locations() -> None:
    assert [name for name, _ in workspace_locations()] == [
        "inspig",
        "pothole",
        "production",
        "card",
        "energy",
    ]


def test_stages_run_upstream_first_one_partitions_definition_each() -> None:
    stages = plan_stages(demo_location.defs)
    order = [[k.to_user_string() for k in s.keys] for s in stages]
    stage_of = {key: n for n, stage in enumerate(order) for key in stage}
    assert stage_of["station_feed"] <= stage_of["stations"] < stage_of["readings"]
    assert stage_of["readings"] <= stage_of["daily_summary"]
    assert stage_of["stations"] < stage_of["region_table"]
    for stage in stages:
        defs_in_stage = {
            demo_location.defs.resolve_asset_graph().get(k).partitions_def for k in stage.keys
        }
        assert len(defs_in_stage) == 1
    # a chain of one partitions definition is one stage: the run orders its own steps
    # (upstream first inside a stage as well)
    assert ["readings", "daily_summary"] in order
    assert ["station_feed", "stations", "report_master", "report_rows"] in order


def test_sample_partitions() -> None:
    assert sample_partition_keys(None) == [None]
    assert sample_partition_keys(demo_location.regions) == ["north", "south"]
    (last_day,) = sample_partition_keys(demo_location.daily)
    assert last_day == demo_location.daily.get_last_partition_key()
    multi = dg.MultiPartitionsDefinition(
        {"day": demo_location.daily, "group": demo_location.regions}
    )
    keys = sample_partition_keys(multi)
    assert keys == [f"{last_day}|north", f"{last_day}|south"]  # dimensions sorted by name


def test_history_runs_a_range_as_one_run_per_group() -> None:
    daily = demo_location.daily
    days = daily.get_partition_keys()[-3:]
    (one,) = plan_runs(daily, 3, single_run=True)
    assert one.tags == {RANGE_START_TAG: days[0], RANGE_END_TAG: days[-1]}
    # without a single-run policy: a run per day
    assert [p.tags["dagster/partition"] for p in plan_runs(daily, 3, single_run=False)] == days
    # week x group: a range of the time dimension for each group, as a backfill runs it
    multi = dg.MultiPartitionsDefinition({"day": daily, "group": demo_location.regions})
    runs = plan_runs(multi, 3, single_run=True)
    assert [(p.tags[RANGE_START_TAG], p.tags[RANGE_END_TAG]) for p in runs] == [
        (f"{days[0]}|north", f"{days[-1]}|north"),
        (f"{days[0]}|south", f"{days[-1]}|south"),
    ]
    # every partition when the history says all
    assert len(plan_runs(daily, None, single_run=False)) == len(daily.get_partition_keys())


def test_history_depth_of_a_stage() -> None:
    stages = plan_stages(demo_location.defs)
    daily_stage = next(s for s in stages if s.partitions_def == demo_location.daily)
    assert stage_depth({}, daily_stage) == 1
    assert stage_depth({"readings": 4}, daily_stage) == 4
    assert stage_depth({"*": 7}, daily_stage) == 7
    assert stage_depth({"readings": None, "*": 2}, daily_stage) is None


def test_run_location_materializes_everything_with_a_range_of_days_as_one_run() -> None:
    with dg.instance_for_test() as instance:
        summary = run_location("demo", DEMO, instance, history={"readings": 3})
        assert {k.to_user_string() for k in summary.assets} == {
            "station_feed",
            "stations",
            "readings",
            "daily_summary",
            "region_table",
            "report_master",
            "report_rows",
        }
        # stations 3; readings 24 and daily_summary 1 on each of the 3 days; region_table 10 per
        # region; the report 1 + 5
        assert summary.rows == 3 + 3 * 24 + 3 * 1 + 10 + 10 + 1 + 5
        assert summary.checks_passed == 1 and len(summary.checks_failed) == 2
        assert not summary.ok and not summary.runs_failed and summary.status == "FAILED"
        runs = instance.get_runs()
        # one unpartitioned run, one run for the 3 days, one run per region
        assert len(runs) == 4 and all(r.tags.get("platform/demo") == "true" for r in runs)
        days = demo_location.daily.get_partition_keys()[-3:]
        (daily_run,) = [r for r in runs if RANGE_START_TAG in r.tags]
        assert (daily_run.tags[RANGE_START_TAG], daily_run.tags[RANGE_END_TAG]) == (
            days[0],
            days[-1],
        )
        assert instance.get_materialized_partitions(dg.AssetKey("readings")) == set(days)
        assert set(days) <= summary.partitions


def test_demo_output_is_a_few_lines_and_the_event_log_goes_to_the_file(tmp_path: Path) -> None:
    out = io.StringIO()
    log_path = tmp_path / "logs" / "demo.log"
    locations = [
        ("demo", DEMO),
        ("empty", EMPTY),
        ("broken", "tests.resources.no_such_location"),
    ]
    with dg.instance_for_test() as instance:
        code = run_demo(locations, log_path, out, instance=instance)
    assert code == 1  # two checks of the demo location fail, and "broken" does not load
    lines = out.getvalue().splitlines()
    # the log path; 4 runs; 2 location lines; the table (blank, header, rule, 3 rows);
    # the load error and 2 failed checks; the total
    assert len(lines) <= 20, lines
    assert lines[0] == f"full log: {log_path}"
    assert str(log_path) in lines[-1] and lines[-1].startswith("total ")
    assert not any("DEBUG" in line or "STEP_START" in line for line in lines)
    rows = {line.split()[0]: line for line in lines if line.startswith(("demo ", "empty"))}
    assert rows["empty"].endswith("no assets yet")
    assert rows["demo"].endswith("FAILED")
    assert any(line.startswith("broken") and line.endswith("load failed") for line in lines)
    # the file holds Dagster's event stream of every run, from the step processes too
    log = log_path.read_text()
    assert "RUN_START" in log and "STEP_SUCCESS" in log and "ASSET_MATERIALIZATION" in log
    assert "ModuleNotFoundError" in log  # the traceback of the location that did not load
