"""Slack messages of the energy team: success and failure of every collection run.

The texts are those of the system it replaces ("[Nambu PV 완료]", "[Namdong PV 실패]" …), with the
period, the rows loaded and, for KOEN, the files kept.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg

from resources.alerts import AlertsResource
from resources.metadata import ROW_COUNT
from resources.policies import sensor_status
from resources.settings import PlatformSettings

ENERGY_JOBS = (
    "weather_daily_job",
    "nambu_daily_job",
    "namdong_monthly_job",
    "full_etl_job",
    "nambu_start_dates_job",
    "__ASSET_JOB",
)
# asset → the team's name for its collection
TITLES = {
    "nambu_generation": "Nambu PV",
    "namdong_generation": "Namdong PV",
    "weather_asos": "ASOS 기상",
    "nambu_start_dates": "Nambu PV 시작일",
}


def run_period(tags: Mapping[str, str]) -> str:
    """The run's partition or partition range, '-' when unpartitioned."""
    single = tags.get("dagster/partition")
    if single:
        return single
    start = tags.get("dagster/asset_partition_range_start")
    end = tags.get("dagster/asset_partition_range_end")
    if start and end:
        return start if start == end else f"{start} ~ {end}"
    return "-"


def _value(metadata: Mapping[str, Any], key: str) -> Any:
    entry = metadata.get(key)
    return getattr(entry, "value", entry)


def materializations(instance: dg.DagsterInstance, run_id: str) -> dict[str, dict[str, Any]]:
    """Asset name → the metadata of its materialization in the run."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    out: dict[str, dict[str, Any]] = {}
    for record in records:
        materialization = record.event_log_entry.asset_materialization
        if materialization is not None:
            out[materialization.asset_key.to_user_string()] = dict(materialization.metadata)
    return out


def success_messages(period: str, done: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One message per collection the run completed."""
    messages = []
    if "nambu_generation" in done:
        meta = done["nambu_generation"]
        messages.append(
            "[Nambu PV 완료]\n- 수집/백필 실행 완료\n"
            f"- 기간: {period}\n- 적재 행수: {_value(meta, ROW_COUNT)}\n"
            f"- API 호출: {_value(meta, 'api_calls')}\n"
            f"- 24시간 미달 유닛-일: {_value(meta, 'incomplete_unit_days')}"
        )
    if "namdong_generation" in done:
        meta = done["namdong_generation"]
        messages.append(
            f"[Namdong PV 완료]\n- 기간: {_value(meta, 'period') or period}\n"
            f"- 저장 파일 수: {_value(meta, 'files')}\n- 적재 행수: {_value(meta, ROW_COUNT)}\n"
            f"- 저장 폴더: {_value(meta, 'folder')}"
        )
    if "weather_asos" in done:
        meta = done["weather_asos"]
        imputed = done.get("weather_asos_imputed", {})
        messages.append(
            f"[ASOS 기상 완료]\n- 기간: {period}\n- 적재 행수: {_value(meta, ROW_COUNT)}\n"
            f"- 보간 비율: {_value(imputed, 'imputed_share')}"
        )
    if "nambu_start_dates" in done:
        meta = done["nambu_start_dates"]
        messages.append(
            f"[Nambu PV 시작일 완료]\n- 유닛: {_value(meta, ROW_COUNT)}\n"
            f"- API 호출: {_value(meta, 'api_calls')}"
        )
    return messages


def failure_text(title: str, period: str, error_type: str, message: str, link: str) -> str:
    """The failure message: the team's title, the error, the period and the run link."""
    error = " ".join(message.split())[:300]
    return f"[{title} 실패]\n- 에러: {error_type}: {error}\n- 기간: {period}\n- run: {link}"


def _title_of_failure(context: dg.RunFailureSensorContext) -> tuple[str, str, str]:
    """(title, error type, message) of the first failed step."""
    failures = context.get_step_failure_events()
    step = failures[0].step_key if failures else ""
    title = next((t for asset, t in TITLES.items() if step and asset in step), "Energy")
    if step and "weather_asos" in step:
        title = TITLES["weather_asos"]
    error = failures[0].event_specific_data.error if failures else None  # type: ignore[union-attr]
    while error is not None and getattr(error, "cause", None) is not None:
        error = error.cause
    if error is None:
        return title, "RunFailure", context.failure_event.message or ""
    kind = error.cls_name or "Error"
    message = error.message.strip()
    head, _, rest = message.partition(": ")
    if head.endswith(kind) and rest:  # Dagster prefixes the qualified class name
        message = rest
    return title, kind, message


def energy_failure_message(context: dg.RunFailureSensorContext, alerts: AlertsResource) -> str:
    """The team's failure text of a failed run: the location's one failure alert.

    The platform's `energy_run_failure_alert_sensor` posts it (`location_definitions(...,
    failure_formatter=...)`) and already skips runs tagged `dagster/will_retry`.
    """
    run = context.dagster_run
    title, error_type, message = _title_of_failure(context)
    return failure_text(
        title, run_period(run.tags), error_type, message, alerts.run_url(run.run_id)
    )


def build_sensors(settings: PlatformSettings) -> list[dg.SensorDefinition]:
    """The success announcements (`sensor_status`: RUNNING in prod).

    Failures are announced once, by the platform's failure sensor worded by
    `energy_failure_message`.
    """
    status = sensor_status(settings)

    @dg.run_status_sensor(
        name="energy_run_success_sensor",
        run_status=dg.DagsterRunStatus.SUCCESS,
        default_status=status,
        minimum_interval_seconds=30,
        description="Posts '[Nambu PV 완료]', '[Namdong PV 완료]' … with period and rows.",
    )
    def energy_run_success_sensor(
        context: dg.RunStatusSensorContext, alerts: AlertsResource
    ) -> None:
        run = context.dagster_run
        done = materializations(context.instance, run.run_id)
        for message in success_messages(run_period(run.tags), done):
            alerts.post(message)

    return [energy_run_success_sensor]
