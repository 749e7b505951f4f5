"""The change sensor of the production database files."""

import hashlib
import time
from collections.abc import Callable

import dagster as dg

from production_assets.jobs import production_maintenance_job, production_monthly_totals_job
from production_assets.partitions import month_key, production_monthly_partitions
from production_assets.sources import ProductionDbResource
from production_assets.watch import WatchOutcome, evaluate
from resources.policies import sensor_status
from resources.settings import PlatformSettings

SENSOR_NAME = "production_db_change_sensor"


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def _run_requests(
    context: dg.SensorEvaluationContext, outcome: WatchOutcome
) -> list[dg.RunRequest]:
    """The maintenance run for the files whose change settled, and one run per changed month."""
    run_requests: list[dg.RunRequest] = []
    if outcome.fired:
        run_requests.append(
            dg.RunRequest(
                job_name=production_maintenance_job.name,
                run_key=f"maintenance:{_digest(outcome.cursor)}",
                tags={"production/changed_files": ",".join(outcome.fired)},
            )
        )
    valid_keys = set(production_monthly_partitions.get_partition_keys())
    skipped = []
    for year_month in outcome.changed_months:
        key = month_key(year_month)
        if key not in valid_keys:
            skipped.append(year_month)
            continue
        run_requests.append(
            dg.RunRequest(
                job_name=production_monthly_totals_job.name,
                partition_key=key,
                run_key=f"monthly:{key}:{_digest(outcome.cursor)}",
            )
        )
    if skipped:
        context.log.warning(f"months outside the partitions, not summarised: {', '.join(skipped)}")
    return run_requests


def build_db_change_sensor(
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
    now: Callable[[], float] = time.time,
) -> dg.SensorDefinition:
    """The change sensor; `now` (epoch seconds) is the clock that times its stabilisation checks."""

    @dg.sensor(
        name=SENSOR_NAME,
        jobs=[production_maintenance_job, production_monthly_totals_job],
        minimum_interval_seconds=60,
        default_status=default_status,
        description=(
            "Every minute: when a database file changed and then stayed unchanged through the "
            "stabilisation checks, run the maintenance and recompute the months whose data changed."
        ),
    )
    def production_db_change_sensor(
        context: dg.SensorEvaluationContext, production_db: ProductionDbResource
    ) -> dg.SensorResult:
        """Detect settled changes of the live and archive files (state lives in the cursor)."""
        outcome = evaluate(
            context.cursor,
            production_db.layout(),
            now(),
            checks=production_db.stabilization_checks,
            wait_s=production_db.stabilization_wait_seconds,
            busy_timeout_s=production_db.busy_timeout_seconds,
        )
        for name, message in outcome.errors.items():
            context.log.error(f"{name}: {message} (will be retried on the next evaluation)")
        gone = ""
        if outcome.vanished:
            gone = (
                f"{', '.join(outcome.vanished)} disappeared from {production_db.folder()}: "
                "its months are not rebuilt without it (put it back, or recompute them with "
                "accept_missing_files)"
            )
        if outcome.newly_vanished:
            context.log.error(gone)
        run_requests = _run_requests(context, outcome)
        if not run_requests:
            pending = [n for n, e in outcome.events.items() if e in ("pending", "unstable")]
            reason = (
                f"waiting for {', '.join(pending)} to settle"
                if pending
                else "no settled change in the database files"
            )
            reason = f"{gone}; {reason}" if gone else reason
            return dg.SensorResult(skip_reason=dg.SkipReason(reason), cursor=outcome.cursor)
        return dg.SensorResult(run_requests=run_requests, cursor=outcome.cursor)

    return production_db_change_sensor


def build_sensors(settings: PlatformSettings) -> list[dg.SensorDefinition]:
    """The production sensors (RUNNING in prod, STOPPED locally)."""
    return [build_db_change_sensor(sensor_status(settings))]
