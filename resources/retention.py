"""Run retention: open-source Dagster keeps runs and event logs forever; this job prunes them.

A location's finished runs (success, failure, canceled) older than `keep_days` are deleted with
their event logs. A location may keep its runs by the value of one run tag instead (`TagRetention`:
inspig keeps weekly report runs 30 days, monthly 180, quarterly 365); runs without a known value of
that tag keep `keep_days`. A run that is queued, starting, started or canceling is never deleted.
"""

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import dagster as dg
from pydantic import Field

from resources.kst import KST_NAME

FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
UNTAGGED = "untagged"


@dataclass(frozen=True)
class TagRetention:
    """Days finished runs are kept, by the value of the run tag `tag`."""

    tag: str
    keep_days: Mapping[str, int] = field(default_factory=dict)


class RunRetentionConfig(dg.Config):
    """How long finished runs of this location are kept."""

    keep_days: int = Field(default=90, ge=0, description="Days kept (runs without a policy tag).")
    keep_days_by_tag: dict[str, int] = Field(
        default_factory=dict,
        description="Days kept per value of the location's policy tag; overrides its defaults.",
    )
    dry_run: bool = False
    batch_size: int = Field(default=500, ge=1)


def _old_runs(
    instance: dg.DagsterInstance,
    location: str,
    cutoff: dt.datetime,
    batch_size: int,
    tags: Mapping[str, str] | None = None,
) -> Iterator[dg.DagsterRun]:
    """Finished runs of `location` created before `cutoff` (with `tags`, when given)."""
    cursor = None
    while True:
        records = instance.get_run_records(
            filters=dg.RunsFilter(
                statuses=FINISHED, created_before=cutoff, tags=dict(tags) if tags else None
            ),
            limit=batch_size,
            cursor=cursor,
        )
        if not records:
            return
        cursor = records[-1].dagster_run.run_id
        for record in records:
            origin = record.dagster_run.remote_job_origin
            if origin is not None and origin.location_name == location:
                yield record.dagster_run


def make_run_retention_job(
    location: str, by_tag: TagRetention | None = None
) -> tuple[dg.JobDefinition, dg.ScheduleDefinition]:
    """A job deleting this location's finished runs past their retention, and its schedule."""

    @dg.op(name=f"{location}_delete_old_runs")
    def delete_old_runs(context: dg.OpExecutionContext, config: RunRetentionConfig) -> int:
        """Delete finished runs (and their event logs) of this location past the retention."""
        now = dt.datetime.now(dt.UTC)
        tag = by_tag.tag if by_tag else ""
        policy = {**by_tag.keep_days, **config.keep_days_by_tag} if by_tag else {}
        # (kind, days kept, runs): one pass per tag value, then the runs without a known value.
        passes: list[tuple[str, int, list[str]]] = []
        for value, days in policy.items():
            cutoff = now - dt.timedelta(days=days)
            runs = _old_runs(context.instance, location, cutoff, config.batch_size, {tag: value})
            passes.append((value, days, [run.run_id for run in runs]))
        cutoff = now - dt.timedelta(days=config.keep_days)
        runs = _old_runs(context.instance, location, cutoff, config.batch_size)
        untagged = [r.run_id for r in runs if not tag or r.tags.get(tag) not in policy]
        passes.append((UNTAGGED if by_tag else "all", config.keep_days, untagged))
        if not config.dry_run:
            for _kind, _days, run_ids in passes:
                for run_id in run_ids:
                    context.instance.delete_run(run_id)
        verb = "would delete" if config.dry_run else "deleted"
        for kind, days, run_ids in passes:
            context.log.info(
                f"{verb} {len(run_ids)} run(s) of '{location}' ({kind}, kept {days} days)"
            )
        deleted = sum(len(run_ids) for _kind, _days, run_ids in passes)
        metadata: dict[str, object] = {"runs_deleted": deleted, "dry_run": config.dry_run}
        for kind, days, run_ids in passes:
            metadata[f"runs_deleted_{kind.lower()}"] = len(run_ids)
            metadata[f"keep_days_{kind.lower()}"] = days
        context.add_output_metadata(metadata)
        return deleted

    @dg.job(name=f"{location}_run_retention_job", description="Delete old finished runs.")
    def retention_job() -> None:
        delete_old_runs()

    schedule = dg.ScheduleDefinition(
        name=f"{location}_run_retention_schedule",
        job=retention_job,
        cron_schedule="30 3 * * *",
        execution_timezone=KST_NAME,
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    return retention_job, schedule
