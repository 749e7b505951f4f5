"""Run retention: open-source Dagster keeps runs and event logs forever; this job prunes them."""

import datetime as dt

import dagster as dg

FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]


class RunRetentionConfig(dg.Config):
    """How long finished runs of this location are kept."""

    keep_days: int = 90
    dry_run: bool = False
    batch_size: int = 500


def make_run_retention_job(location: str) -> tuple[dg.JobDefinition, dg.ScheduleDefinition]:
    """A job deleting this location's finished runs older than `keep_days`, and its schedule."""

    @dg.op(name=f"{location}_delete_old_runs")
    def delete_old_runs(context: dg.OpExecutionContext, config: RunRetentionConfig) -> int:
        """Delete finished runs (and their event logs) of this location past the retention."""
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=config.keep_days)
        old_runs: list[str] = []
        cursor = None
        while True:
            records = context.instance.get_run_records(
                filters=dg.RunsFilter(statuses=FINISHED, created_before=cutoff),
                limit=config.batch_size,
                cursor=cursor,
            )
            if not records:
                break
            cursor = records[-1].dagster_run.run_id
            for record in records:
                origin = record.dagster_run.remote_job_origin
                if origin is not None and origin.location_name == location:
                    old_runs.append(record.dagster_run.run_id)
        if not config.dry_run:
            for run_id in old_runs:
                context.instance.delete_run(run_id)
        deleted = len(old_runs)
        verb = "would delete" if config.dry_run else "deleted"
        context.log.info(
            f"{verb} {deleted} run(s) of '{location}' finished before {cutoff:%Y-%m-%d}"
        )
        context.add_output_metadata({"runs_deleted": deleted, "cutoff": cutoff.isoformat()})
        return deleted

    @dg.job(name=f"{location}_run_retention_job", description="Delete old finished runs.")
    def retention_job() -> None:
        delete_old_runs()

    schedule = dg.ScheduleDefinition(
        name=f"{location}_run_retention_schedule",
        job=retention_job,
        cron_schedule="30 3 * * *",
        execution_timezone="Asia/Seoul",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    return retention_job, schedule
