"""Retention of inspig runs by report type: the location's run retention job, on a real instance."""

import datetime as dt
import uuid

import dagster as dg
import pytest
from dagster._core.remote_origin import (
    RegisteredCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.storage.runs.schema import RunsTable

from inspig_assets.definitions import defs
from inspig_assets.run_retention import REPORT_TYPE_TAG, run_retention_policy

S = dg.DagsterRunStatus


def _origin(location: str) -> RemoteJobOrigin:
    repository = RemoteRepositoryOrigin(RegisteredCodeLocationOrigin(location), "__repository__")
    return RemoteJobOrigin(repository, "inspig_weekly_report_job")


def _add_run(
    instance: dg.DagsterInstance,
    days_old: int,
    report_type: str | None,
    status: dg.DagsterRunStatus = S.SUCCESS,
    location: str = "inspig",
) -> str:
    """A run of `location` created `days_old` days ago, with one event in its event log."""
    tags = {REPORT_TYPE_TAG: report_type} if report_type else {}
    run = dg.DagsterRun(
        job_name="inspig_weekly_report_job",
        run_id=str(uuid.uuid4()),
        status=status,
        tags=tags,
        remote_job_origin=_origin(location),
    )
    instance.add_run(run)
    instance.report_engine_event("report built", run)
    with instance.run_storage.connect() as conn:
        conn.execute(
            RunsTable.update()
            .where(RunsTable.c.run_id == run.run_id)
            .values(create_timestamp=dt.datetime.now() - dt.timedelta(days=days_old, hours=1))
        )
    return run.run_id


def _retention_output(result: dg.ExecuteInProcessResult) -> dict[str, object]:
    (event,) = [e for e in result.all_node_events if e.is_successful_output]
    return {k: v.value for k, v in event.step_output_data.metadata.items()}


def test_inspig_report_runs_carry_their_report_type() -> None:
    expected = {
        "inspig_weekly_report_job": "WEEK",
        "inspig_farm_report_job": "WEEK",
        "inspig_productivity_weekly_job": "WEEK",
        "inspig_productivity_monthly_job": "MONTH",
    }
    for job, report_type in expected.items():
        assert defs.resolve_job_def(job).tags[REPORT_TYPE_TAG] == report_type, job


def test_retention_deletes_finished_runs_by_report_type() -> None:
    job = defs.resolve_job_def("inspig_run_retention_job")
    with dg.instance_for_test() as instance:
        # WEEK 30 days, MONTH 180, QUARTER 365, runs without the tag 90 (the platform default).
        gone = {
            "week 31 days": _add_run(instance, 31, "WEEK"),
            "week 31 days failed": _add_run(instance, 31, "WEEK", S.FAILURE),
            "month 181 days": _add_run(instance, 181, "MONTH", S.CANCELED),
            "quarter 366 days": _add_run(instance, 366, "QUARTER"),
            "untagged 91 days": _add_run(instance, 91, None),
        }
        kept = {
            "week 29 days": _add_run(instance, 29, "WEEK"),
            "month 100 days": _add_run(instance, 100, "MONTH"),  # past 90, within 180
            "quarter 200 days": _add_run(instance, 200, "QUARTER"),
            "untagged 60 days": _add_run(instance, 60, None),
            "week 400 days started": _add_run(instance, 400, "WEEK", S.STARTED),
            "week 400 days queued": _add_run(instance, 400, "WEEK", S.QUEUED),
            "month 400 days canceling": _add_run(instance, 400, "MONTH", S.CANCELING),
            "week 400 days elsewhere": _add_run(instance, 400, "WEEK", location="energy"),
        }
        result = job.execute_in_process(instance=instance)
        assert result.success
        assert [name for name, run in gone.items() if instance.get_run_by_id(run)] == []
        assert [name for name, run in kept.items() if not instance.get_run_by_id(run)] == []
        # the event logs go with the runs
        assert [name for name, run in gone.items() if instance.all_logs(run)] == []
        assert all(instance.all_logs(run) for run in kept.values())
        output = _retention_output(result)
        counts = {k: v for k, v in output.items() if k.startswith("runs_deleted")}
        assert counts == {
            "runs_deleted": 5,
            "runs_deleted_week": 2,
            "runs_deleted_month": 1,
            "runs_deleted_quarter": 1,
            "runs_deleted_untagged": 1,
        }


def test_retention_days_are_configurable_per_run_and_by_setting() -> None:
    job = defs.resolve_job_def("inspig_run_retention_job")
    with dg.instance_for_test() as instance:
        week_20 = _add_run(instance, 20, "WEEK")
        week_5 = _add_run(instance, 5, "WEEK")
        month_100 = _add_run(instance, 100, "MONTH")
        config = {"keep_days_by_tag": {"WEEK": 10}}
        op = "inspig_delete_old_runs"
        dry = job.execute_in_process(
            instance=instance, run_config={"ops": {op: {"config": {**config, "dry_run": True}}}}
        )
        assert _retention_output(dry)["runs_deleted_week"] == 1
        assert instance.get_run_by_id(week_20) is not None  # a dry run deletes nothing
        job.execute_in_process(instance=instance, run_config={"ops": {op: {"config": config}}})
        assert instance.get_run_by_id(week_20) is None
        assert instance.get_run_by_id(week_5) is not None
        assert instance.get_run_by_id(month_100) is not None
    # INSPIG_RUN_RETENTION_DAYS='{"month": 60}' changes the location's default for MONTH only
    policy = run_retention_policy({"month": 60})
    assert dict(policy.keep_days) == {"WEEK": 30, "MONTH": 60, "QUARTER": 365}
    with pytest.raises(ValueError, match="'DAY'=7"):
        run_retention_policy({"DAY": 7})
