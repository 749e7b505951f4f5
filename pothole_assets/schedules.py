"""`pothole_daily_schedule`: 02:00 KST, yesterday's partition, unless the sensor already ran it."""

import dagster as dg

from pothole_assets.jobs import pothole_daily_job
from pothole_assets.partitions import pothole_daily_partitions
from resources.kst import KST_NAME
from resources.policies import schedule_status
from resources.settings import PlatformSettings

_ACTIVE_OR_DONE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.SUCCESS,
]


def build_pothole_daily_schedule(
    job_name: str, default_status: dg.DefaultScheduleStatus
) -> dg.ScheduleDefinition:
    """The fallback schedule of the daily job."""

    @dg.schedule(
        name="pothole_daily_schedule",
        cron_schedule="0 2 * * *",
        execution_timezone=KST_NAME,
        job_name=job_name,
        default_status=default_status,
        description="02:00 KST: runs yesterday's partition if the raw-input sensor has not.",
    )
    def pothole_daily_schedule(
        context: dg.ScheduleEvaluationContext,
    ) -> dg.RunRequest | dg.SkipReason:
        window = pothole_daily_partitions.get_prev_partition_window(
            context.scheduled_execution_time
        )
        if window is None:
            return dg.SkipReason("before the first partition")
        key = window.start.strftime("%Y-%m-%d")
        runs = context.instance.get_run_records(
            dg.RunsFilter(
                job_name=job_name,
                tags={"dagster/partition": key},
                statuses=_ACTIVE_OR_DONE,
            ),
            limit=1,
        )
        if runs:
            run_id = runs[0].dagster_run.run_id
            return dg.SkipReason(f"{key} already ran or is running (run {run_id})")
        return dg.RunRequest(run_key=None, partition_key=key)

    return pothole_daily_schedule


def build_schedules(settings: PlatformSettings) -> list[dg.ScheduleDefinition]:
    """The domain's schedules, RUNNING in prod and STOPPED locally."""
    return [build_pothole_daily_schedule(pothole_daily_job.name, schedule_status(settings))]
