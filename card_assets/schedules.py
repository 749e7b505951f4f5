"""Schedules in Asia/Seoul: the card window every two hours."""

import dagster as dg

from card_assets.jobs import card_window_job
from card_assets.window import window_key
from resources.kst import KST_NAME
from resources.policies import schedule_status
from resources.settings import PlatformSettings


def build_schedules(settings: PlatformSettings) -> list[dg.ScheduleDefinition]:
    """The location's schedules, RUNNING in prod and STOPPED locally (`schedule_status`)."""

    @dg.schedule(
        name="card_window_schedule",
        cron_schedule="0 */2 * * *",
        execution_timezone=KST_NAME,
        job=card_window_job,
        default_status=schedule_status(settings),
        description="Every two hours (KST, even hours): the window that starts at the tick.",
    )
    def card_window_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        key = window_key(context.scheduled_execution_time)
        return dg.RunRequest(run_key=key, partition_key=key)

    return [card_window_schedule]
