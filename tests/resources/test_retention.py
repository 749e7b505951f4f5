import datetime as dt
import itertools

import dagster as dg
from dagster._utils.schedules import cron_string_iterator

from resources.kst import KST
from resources.retention import make_run_retention_job


@dg.asset
def small_table() -> None:
    """A table."""


def test_retention_runs_daily_at_03_30_kst() -> None:
    job, schedule = make_run_retention_job("demo")
    # the ticks after midnight KST of 10 March 2026: 03:30 KST that day and the next (README)
    midnight = dt.datetime(2026, 3, 10, tzinfo=KST)
    ticks = cron_string_iterator(
        midnight.timestamp(), schedule.cron_schedule, schedule.execution_timezone
    )
    assert [t.astimezone(KST) for t in itertools.islice(ticks, 2)] == [
        dt.datetime(2026, 3, 10, 3, 30, tzinfo=KST),
        dt.datetime(2026, 3, 11, 3, 30, tzinfo=KST),
    ]
    # a tick requests one run of the retention job, with its default config (90 days)
    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2026, 3, 10, 3, 30, tzinfo=KST)
    )
    (request,) = schedule.evaluate_tick(context).run_requests or []
    assert request.job_name in (None, job.name) and schedule.job_name == job.name
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_retention_deletes_only_old_finished_runs_of_its_location() -> None:
    job, _schedule = make_run_retention_job("demo")
    with dg.instance_for_test() as instance:
        old = dg.materialize([small_table], instance=instance).run_id
        recent = dg.materialize([small_table], instance=instance).run_id
        # Runs executed in process have no code-location origin; give them one as the daemon would.
        from dagster._core.remote_origin import (
            RegisteredCodeLocationOrigin,
            RemoteJobOrigin,
            RemoteRepositoryOrigin,
        )

        def origin(location: str) -> RemoteJobOrigin:
            code = RegisteredCodeLocationOrigin(location)
            return RemoteJobOrigin(RemoteRepositoryOrigin(code, "__repository__"), "j")

        other = dg.materialize([small_table], instance=instance).run_id
        for run_id, location in ((old, "demo"), (recent, "demo"), (other, "elsewhere")):
            run = instance.get_run_by_id(run_id)
            instance.run_storage.delete_run(run_id)
            instance.add_run(run._replace(remote_job_origin=origin(location)))
        # Age the two runs meant to be old.
        with instance.run_storage.connect() as conn:
            from dagster._core.storage.runs.schema import RunsTable

            conn.execute(
                RunsTable.update()
                .where(RunsTable.c.run_id.in_([old, other]))
                .values(create_timestamp=dt.datetime.now() - dt.timedelta(days=120))
            )
        result = job.execute_in_process(instance=instance)
        assert result.success
        assert instance.get_run_by_id(old) is None
        assert instance.get_run_by_id(recent) is not None
        assert instance.get_run_by_id(other) is not None
