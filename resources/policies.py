"""Policies every code location applies the same way: step retries and automation defaults."""

import dagster as dg

from resources.settings import PlatformSettings


def retry_policy(max_retries: int = 3, delay: float = 5) -> dg.RetryPolicy:
    """Step retries with exponential backoff from `delay` seconds and ± jitter."""
    return dg.RetryPolicy(
        max_retries=max_retries,
        delay=delay,
        backoff=dg.Backoff.EXPONENTIAL,
        jitter=dg.Jitter.PLUS_MINUS,
    )


# The standard policy of every step that talks to an external system.
STANDARD_RETRY = retry_policy()


def automation_running(settings: PlatformSettings) -> bool:
    """Whether a domain's schedules and sensors start switched on.

    The rule, the same in every location: in `prod` they start RUNNING, so a fresh deployment (or a
    new instance database) runs the pipelines unattended as the systems it replaces did; in `local`
    they start STOPPED, so `make dev` never launches runs against sample data by itself. The UI's
    switch overrides the default either way. The platform's own failure-alert sensors and run
    retention schedules are always RUNNING.
    """
    return settings.is_prod


def schedule_status(settings: PlatformSettings) -> dg.DefaultScheduleStatus:
    """Default status of a domain schedule (see `automation_running`)."""
    if automation_running(settings):
        return dg.DefaultScheduleStatus.RUNNING
    return dg.DefaultScheduleStatus.STOPPED


def sensor_status(settings: PlatformSettings) -> dg.DefaultSensorStatus:
    """Default status of a domain sensor (see `automation_running`)."""
    if automation_running(settings):
        return dg.DefaultSensorStatus.RUNNING
    return dg.DefaultSensorStatus.STOPPED
