"""Schedules at KST times, the Slack success and failure messages, the location's loading."""

import datetime as dt
import json
import runpy
from pathlib import Path

import dagster as dg
import pytest
from dagster._utils.schedules import cron_string_iterator
from pytest_httpserver import HTTPServer

from energy_assets.assets.nambu import nambu_generation
from energy_assets.assets.namdong import namdong_generation
from energy_assets.schedules import build_schedules
from energy_assets.sensors import build_sensors
from energy_assets.sources import KoenResource
from resources.alerts import AlertsResource
from resources.kst import KST
from resources.settings import MissingSettingsError, PlatformSettings
from resources.warehouse import WarehouseResource
from tests.energy.conftest import sample_resources


def resolved(name: str) -> dg.ScheduleDefinition:
    import energy_assets.definitions as location

    return location.defs.get_schedule_def(name)


def next_tick(name: str, after: dt.datetime) -> dt.datetime:
    schedule = resolved(name)
    ticks = cron_string_iterator(after.timestamp(), schedule.cron_schedule, "Asia/Seoul")
    return next(ticks).astimezone(KST)


def requested(name: str, at: dt.datetime) -> list[str | None]:
    context = dg.build_schedule_context(scheduled_execution_time=at)
    result = resolved(name).evaluate_tick(context)
    return [r.partition_key for r in result.run_requests or []]


def test_weather_runs_at_nine_for_yesterday() -> None:
    tick = next_tick("weather_daily_schedule", dt.datetime(2025, 6, 21, 0, 30, tzinfo=KST))
    assert tick == dt.datetime(2025, 6, 21, 9, 0, tzinfo=KST)
    assert requested("weather_daily_schedule", tick) == ["2025-06-20"]


def test_kospo_runs_at_half_past_nine_for_yesterday() -> None:
    tick = next_tick("nambu_daily_schedule", dt.datetime(2025, 6, 21, 9, 5, tzinfo=KST))
    assert tick == dt.datetime(2025, 6, 21, 9, 30, tzinfo=KST)
    assert requested("nambu_daily_schedule", tick) == ["2025-06-20"]


def test_koen_runs_on_the_tenth_at_ten_for_the_previous_month() -> None:
    tick = next_tick("namdong_monthly_schedule", dt.datetime(2025, 7, 1, tzinfo=KST))
    assert tick == dt.datetime(2025, 7, 10, 10, 0, tzinfo=KST)
    assert requested("namdong_monthly_schedule", tick) == ["2025-06-01"]


def test_schedules_start_stopped_locally_and_running_in_prod() -> None:
    prod = build_schedules(PlatformSettings(platform_env="prod"))
    local = build_schedules(PlatformSettings(platform_env="local"))
    assert {s.default_status for s in local} == {dg.DefaultScheduleStatus.STOPPED}
    assert {s.default_status for s in prod} == {dg.DefaultScheduleStatus.RUNNING}


def slack(httpserver: HTTPServer) -> tuple[AlertsResource, list[str]]:
    texts: list[str] = []

    def keep(request):  # type: ignore[no-untyped-def]
        texts.append(json.loads(request.data)["text"])
        from werkzeug import Response

        return Response("ok")

    httpserver.expect_request("/hook").respond_with_handler(keep)
    return AlertsResource(webhook_url=httpserver.url_for("/hook")), texts


def test_success_messages_name_period_rows_and_files(
    warehouse: WarehouseResource, tmp_path: Path, httpserver: HTTPServer
) -> None:
    alerts, texts = slack(httpserver)
    (success,) = build_sensors(PlatformSettings())
    with dg.instance_for_test() as instance:
        resources = sample_resources(warehouse, tmp_path, as_of=dt.date(2025, 7, 1))
        for assets, key in (
            ([nambu_generation], "2025-06-20"),
            ([namdong_generation], "2025-05-01"),
        ):
            result = dg.materialize(
                assets, partition_key=key, resources=resources, instance=instance
            )
            context = dg.build_run_status_sensor_context(
                sensor_name=success.name,
                dagster_instance=instance,
                dagster_run=result.dagster_run,
                dagster_event=result.get_run_success_event(),
            )
            success(context, alerts=alerts)
    rows = warehouse.read_frame("SELECT count(*) AS n FROM nambu_generation").at[0, "n"]
    assert texts[0].startswith("[Nambu PV 완료]\n- 수집/백필 실행 완료")
    assert "- 기간: 2025-06-20" in texts[0] and f"- 적재 행수: {rows}" in texts[0]
    assert texts[1].startswith("[Namdong PV 완료]\n- 기간: 2025-05-01..2025-05-31")
    assert "- 저장 파일 수: 1" in texts[1] and str(tmp_path / "koen") in texts[1]


def failure_sensor() -> dg.SensorDefinition:
    """The energy location's one run-failure sensor (the platform's, worded for the team)."""
    import energy_assets.definitions as location

    sensors = {s.name: s for s in location.defs.sensors or []}
    # one failure announcement: the platform's sensor; the team's own is the success one
    assert set(sensors) == {"energy_run_failure_alert_sensor", "energy_run_success_sensor"}
    return sensors["energy_run_failure_alert_sensor"]


def test_failure_message_has_the_error_and_no_secret(
    warehouse: WarehouseResource, tmp_path: Path, httpserver: HTTPServer
) -> None:
    alerts, texts = slack(httpserver)
    httpserver.expect_request("/nfdt21/main.do").respond_with_data("ok")
    httpserver.expect_request("/nfdt21/csvDown.do").respond_with_data(
        "<!DOCTYPE html><html>세션 만료</html>", content_type="text/html"
    )
    koen = KoenResource(
        base_url=httpserver.url_for("/nfdt21"), backoff_seconds=0, raw_dir=str(tmp_path / "raw")
    )
    failure = failure_sensor()
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [namdong_generation],
            partition_key="2025-05-01",
            resources=sample_resources(warehouse, tmp_path, koen=koen),
            instance=instance,
            raise_on_error=False,
        )
        assert not result.success
        # an HTML page is permanent: one attempt, no step retry, the download asked once
        assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
        assert [r.method for r, _ in httpserver.log if r.path.endswith("csvDown.do")] == ["POST"]
        (failed,) = result.get_step_failure_events()
        description = failed.step_failure_data.user_failure_data.description
        assert description.startswith("koen (partition 2025-05-01..2025-05-31): 2025-05-01")
        assert "HTML page instead of CSV" in description
        context = dg.build_run_status_sensor_context(
            sensor_name=failure.name,
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            dagster_event=result.get_run_failure_event(),
        ).for_run_failure()
        failure(context, alerts=alerts)
    (text,) = texts
    assert text.startswith(
        "[Namdong PV 실패]\n- 에러: SourceError: koen (partition 2025-05-01..2025-05-31)"
    )
    assert "HTML page instead of CSV" in text and "- 기간: 2025-05-01" in text


def test_a_run_that_will_be_retried_is_not_announced(
    warehouse: WarehouseResource, tmp_path: Path, httpserver: HTTPServer
) -> None:
    alerts, texts = slack(httpserver)
    httpserver.expect_request("/nfdt21/main.do").respond_with_data("ok")
    httpserver.expect_request("/nfdt21/csvDown.do").respond_with_data(
        "<html>점검 중</html>", content_type="text/html"
    )
    koen = KoenResource(
        base_url=httpserver.url_for("/nfdt21"), backoff_seconds=0, raw_dir=str(tmp_path / "raw")
    )
    failure = failure_sensor()
    with dg.instance_for_test() as instance:
        # the instance's run retries tag a failed run that it will launch again
        result = dg.materialize(
            [namdong_generation],
            partition_key="2025-05-01",
            resources=sample_resources(warehouse, tmp_path, koen=koen),
            instance=instance,
            raise_on_error=False,
            tags={"dagster/will_retry": "true"},
        )
        context = dg.build_run_status_sensor_context(
            sensor_name=failure.name,
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            dagster_event=result.get_run_failure_event(),
        ).for_run_failure()
        failure(context, alerts=alerts)
    assert not result.success and texts == []


def test_location_loads() -> None:
    import energy_assets.definitions as location

    dg.Definitions.validate_loadable(location.defs)
    names = {j.name for j in location.defs.jobs or []}
    assert {"full_etl_job", "nambu_daily_job", "namdong_monthly_job"} <= names


PROD_VARIABLES = (
    "WAREHOUSE_URL",
    "DAGSTER_WEBSERVER_URL",
    "SLACK_WEBHOOK_URL",
    "SLACK_BOT_TOKEN",
    "KMA_API_KEY",
    "KOSPO_API_KEY",
)


def test_in_prod_missing_energy_keys_stop_the_location_with_one_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLATFORM_ENV", "prod")
    for name in PROD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(MissingSettingsError) as err:
        runpy.run_module("energy_assets.definitions")
    text = str(err.value)
    assert "code location 'energy' cannot load" in text
    for name in PROD_VARIABLES:
        assert name in text
    # with the platform's variables set, the message names the two energy keys and nothing else
    monkeypatch.setenv("WAREHOUSE_URL", "postgresql://u@db.internal:5432/pv")
    monkeypatch.setenv("DAGSTER_WEBSERVER_URL", "https://dagster.internal")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.invalid/x")
    with pytest.raises(MissingSettingsError) as err:
        runpy.run_module("energy_assets.definitions")
    assert str(err.value).endswith("set these environment variables: KMA_API_KEY, KOSPO_API_KEY")
    monkeypatch.setenv("KMA_API_KEY", "kma")
    monkeypatch.setenv("KOSPO_API_KEY", "kospo")
    loaded = runpy.run_module("energy_assets.definitions")
    dg.Definitions.validate_loadable(loaded["defs"])
