import dagster as dg

from resources.demo import plan_stages, run_location, sample_partition_keys, workspace_locations
from tests.resources import demo_location


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
    flat = [key for stage in order for key in stage]
    assert (
        flat.index("station_feed")
        < flat.index("stations")
        < flat.index("readings")
        < flat.index("daily_summary")
    )
    assert flat.index("stations") < flat.index("region_table")
    for stage in stages:
        defs_in_stage = {
            demo_location.defs.resolve_asset_graph().get(k).partitions_def for k in stage.keys
        }
        assert len(defs_in_stage) == 1


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


def test_run_location_materializes_everything_on_a_real_instance() -> None:
    with dg.instance_for_test() as instance:
        summary = run_location("demo", "tests.resources.demo_location", instance, log=False)
        assert {k.to_user_string() for k in summary.assets} == {
            "station_feed",
            "stations",
            "readings",
            "daily_summary",
            "region_table",
            "report_master",
            "report_rows",
        }
        assert summary.rows == 3 + 24 + 1 + 10 + 10 + 1 + 5
        assert summary.checks_passed == 1 and summary.checks_failed == 2
        assert not summary.ok and not summary.runs_failed
        runs = instance.get_runs()
        assert len(runs) == 7 and all(r.tags.get("platform/demo") == "true" for r in runs)
