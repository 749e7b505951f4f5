"""`raw_sensor_data_sensor`: request a day's run once its raw input is complete.

A day is complete once the KST day has ended (its partition exists only then) and either a
`_SUCCESS` marker exists under `raw-sensor-data/dt=…/` or its objects have stopped changing (the
same files, sizes and newest time on two ticks, and nothing newer than the quiet period). That
some objects exist is not enough: a day still being uploaded is never requested.
"""

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import dagster as dg

from pothole_assets.jobs import pothole_daily_job
from pothole_assets.keys import RAW, REPORT
from pothole_assets.partitions import pothole_daily_partitions
from pothole_assets.raw_days import raw_day_status, raw_observation_metadata, raw_signature
from resources.alerts import AlertsResource, failure_message
from resources.kst import KST, now_kst
from resources.lake import LakeResource
from resources.policies import sensor_status
from resources.settings import PlatformSettings

LOOKBACK_DAYS = 3
QUIET_PERIOD = timedelta(minutes=10)
_REMEMBER = 30


def evaluate_raw_days(
    lake: LakeResource, now: datetime, cursor: str | None
) -> tuple[list[str], list[tuple[str, dict[str, Any]]], str, list[str]]:
    """Days to request, observations to record, the new cursor, and why other days wait."""
    state = json.loads(cursor) if cursor else {}
    seen: dict[str, str] = state.get("seen", {})
    requested: list[str] = state.get("requested", [])
    local_now = now.astimezone(KST)
    today = local_now.date()
    first_key = pothole_daily_partitions.start.strftime("%Y-%m-%d")
    to_request, observations, waiting = [], [], []
    for back in range(LOOKBACK_DAYS, -1, -1):
        day = today - timedelta(days=back)
        key = day.isoformat()
        if key < first_key or key in requested:
            continue
        status = raw_day_status(lake, key)
        if not status["files"]:
            waiting.append(f"{key}: no files yet")
            continue
        signature = raw_signature(status)
        if seen.get(key) != signature:
            observations.append((key, raw_observation_metadata(status)))
        day_ended = local_now >= datetime(day.year, day.month, day.day, tzinfo=KST) + timedelta(1)
        newest = status["newest"]
        quiet = isinstance(newest, datetime) and now - newest >= QUIET_PERIOD
        # The day's partition only exists once the KST day has ended: a request for it before
        # then fails the whole tick (unknown partition key), so a marker only skips the quiet wait.
        if day_ended and (status["success_marker"] or (seen.get(key) == signature and quiet)):
            to_request.append(key)
            requested.append(key)
            seen.pop(key, None)
        else:
            seen[key] = signature
            why = "day not over" if not day_ended else "objects still changing"
            if not day_ended and status["success_marker"]:
                why = "marked complete; its partition opens when the day ends"
            waiting.append(f"{key}: {why} ({status['files']} files)")
    new_cursor = json.dumps({"seen": seen, "requested": sorted(requested)[-_REMEMBER:]})
    return to_request, observations, new_cursor, waiting


def build_raw_sensor_data_sensor(
    job_name: str,
    default_status: dg.DefaultSensorStatus,
    clock: Callable[[], datetime] = now_kst,
) -> dg.SensorDefinition:
    """The sensor targeting the daily job; `clock` gives the current time (KST) of each tick."""

    @dg.sensor(
        name="raw_sensor_data_sensor",
        job_name=job_name,
        minimum_interval_seconds=300,
        default_status=default_status,
        description="Requests a day's pothole run once its raw sensor input is complete.",
    )
    def raw_sensor_data_sensor(
        context: dg.SensorEvaluationContext, lake: LakeResource
    ) -> dg.SensorResult | dg.SkipReason:
        days, observations, cursor, waiting = evaluate_raw_days(lake, clock(), context.cursor)
        events = [
            dg.AssetObservation(asset_key=RAW, partition=key, metadata=metadata)
            for key, metadata in observations
        ]
        if not days and not events:
            context.update_cursor(cursor)
            return dg.SkipReason("; ".join(waiting) or "no raw input in the lookback window")
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(run_key=f"raw_sensor_data:{key}", partition_key=key) for key in days
            ],
            asset_events=events,
            cursor=cursor,
        )

    return raw_sensor_data_sensor


def success_message(run: dg.DagsterRun, start: float | None, end: float | None) -> str:
    """The success announcement: pipeline, batch date(s) and duration."""
    tags = run.tags
    day = tags.get("dagster/partition") or "..".join(
        t
        for t in (
            tags.get("dagster/asset_partition_range_start"),
            tags.get("dagster/asset_partition_range_end"),
        )
        if t
    )
    duration = "-"
    if start is not None and end is not None:
        duration = str(timedelta(seconds=round(end - start)))
    return "\n".join(
        [
            "🟢 파이프라인 성공",
            f"Job: {run.job_name}",
            f"Date: {day or '-'}",
            f"Duration: {duration}",
        ]
    )


REPORT_KEY = dg.AssetKey(REPORT)


@dg.run_status_sensor(
    name="pothole_run_success_sensor",
    run_status=dg.DagsterRunStatus.SUCCESS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Announces a finished pothole batch (the daily report was sent) on Slack.",
)
def pothole_run_success_sensor(context: dg.RunStatusSensorContext, alerts: AlertsResource) -> None:
    """Post the success message for runs that completed a batch day (up to the email)."""
    run = context.dagster_run
    if run.asset_selection is not None and REPORT_KEY not in run.asset_selection:
        return
    if run.asset_selection is None and run.job_name != pothole_daily_job.name:
        return
    stats = context.instance.get_run_stats(run.run_id)
    alerts.post(success_message(run, stats.start_time, stats.end_time))


def pothole_failure_message(context: dg.RunFailureSensorContext, alerts: AlertsResource) -> str:
    """The platform's failure alert, plus the why of every blocking check that failed in the run.

    A blocking check stops the run with Dagster's own error, which names the check only; its
    description (the figures: rows rejected and their share, rows refused, day-over-day change)
    is added, one line per check.
    """
    text = failure_message(context, "pothole", alerts)
    records = context.instance.all_logs(
        context.dagster_run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    )
    for record in records:
        evaluation = record.dagster_event.event_specific_data if record.dagster_event else None
        if (
            evaluation is not None
            and not evaluation.passed
            and evaluation.blocking
            and evaluation.severity == dg.AssetCheckSeverity.ERROR
        ):
            why = " ".join((evaluation.description or "").split())[:300]
            text += f"\nblocking check {evaluation.check_name}: {why or 'failed'}"
    return text


def build_sensors(
    settings: PlatformSettings, clock: Callable[[], datetime] = now_kst
) -> list[dg.SensorDefinition]:
    """The domain's sensors; `clock` gives the raw-input sensor its current time (KST).

    The raw-input sensor follows the platform rule (RUNNING in prod, STOPPED locally); the
    success announcement always runs, as the failure alerts do.
    """
    return [
        pothole_run_success_sensor,
        build_raw_sensor_data_sensor(pothole_daily_job.name, sensor_status(settings), clock),
    ]
