import json
import logging

import dagster as dg
import pytest
from pytest_httpserver import HTTPServer

from resources.alerts import AlertDeliveryError, AlertsResource, make_run_failure_alert_sensor

WEBHOOK_PATH = "/services/T000/B000/very-secret-token"

daily = dg.DailyPartitionsDefinition(start_date="2024-01-01", timezone="Asia/Seoul")


@dg.asset(partitions_def=daily)
def exploding_table() -> None:
    raise ValueError("source returned HTTP 500 " + "x" * 600)


def _failed_run_context(instance: dg.DagsterInstance, alerts: AlertsResource, tags: dict) -> object:
    result = dg.materialize(
        [exploding_table],
        instance=instance,
        partition_key="2024-03-05",
        raise_on_error=False,
        tags=tags,
    )
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    return dg.build_run_status_sensor_context(
        sensor_name="pothole_run_failure_alert_sensor",
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=run,
        resources={"alerts": alerts},
    ).for_run_failure()


def test_failed_run_posts_location_job_step_partition_error_and_link(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_request(WEBHOOK_PATH, method="POST").respond_with_data("ok")
    alerts = AlertsResource(
        webhook_url=httpserver.url_for(WEBHOOK_PATH), webserver_url="http://dagster.example:3000"
    )
    sensor = make_run_failure_alert_sensor("pothole")
    caplog.set_level(logging.INFO)
    with dg.instance_for_test() as instance:
        context = _failed_run_context(instance, alerts, {})
        sensor(context)
        run_id = context.dagster_run.run_id
    ((request, _),) = httpserver.log
    text = json.loads(request.data)["text"]
    assert "location *pothole*" in text
    assert "job: __ephemeral_asset_job__" in text
    assert "failed step: exploding_table" in text
    assert "partition: 2024-03-05" in text
    assert f"run: http://dagster.example:3000/runs/{run_id}" in text
    error_line = next(line for line in text.splitlines() if line.startswith("error: "))
    assert error_line.startswith("error: ValueError: source returned HTTP 500 xxx")
    assert len(error_line) == len("error: ") + 300
    ours = [r for r in caplog.records if r.name != "werkzeug"]  # werkzeug = the fake Slack
    assert ours and all("very-secret-token" not in r.getMessage() for r in ours)


def test_run_that_will_be_retried_is_not_alerted(httpserver: HTTPServer) -> None:
    alerts = AlertsResource(webhook_url=httpserver.url_for(WEBHOOK_PATH))
    sensor = make_run_failure_alert_sensor("energy")
    with dg.instance_for_test() as instance:
        sensor(_failed_run_context(instance, alerts, {"dagster/will_retry": "true"}))
    assert httpserver.log == []


def test_a_domain_formatter_words_the_one_failure_alert(httpserver: HTTPServer) -> None:
    httpserver.expect_request(WEBHOOK_PATH, method="POST").respond_with_data("ok")
    alerts = AlertsResource(webhook_url=httpserver.url_for(WEBHOOK_PATH))

    def team_text(context: dg.RunFailureSensorContext, alerts: AlertsResource) -> str:
        return f"[Team 실패] {context.dagster_run.tags.get('dagster/partition')}"

    sensor = make_run_failure_alert_sensor("energy", formatter=team_text)
    with dg.instance_for_test() as instance:
        sensor(_failed_run_context(instance, alerts, {}))
        sensor(_failed_run_context(instance, alerts, {"dagster/will_retry": "true"}))
    # One message, the team's own text; the retried run is still not alerted.
    assert [json.loads(request.data)["text"] for request, _ in httpserver.log] == [
        "[Team 실패] 2024-03-05"
    ]


def test_webhook_errors_never_reveal_the_url(httpserver: HTTPServer) -> None:
    httpserver.expect_request(WEBHOOK_PATH).respond_with_data("invalid_token", status=403)
    alerts = AlertsResource(webhook_url=httpserver.url_for(WEBHOOK_PATH))
    with pytest.raises(AlertDeliveryError) as refused:
        alerts.post("hello")
    assert "403" in str(refused.value) and "very-secret-token" not in str(refused.value)

    unreachable = AlertsResource(webhook_url="http://127.0.0.1:9/services/very-secret-token")
    with pytest.raises(AlertDeliveryError) as failed:
        unreachable.post("hello")
    assert "very-secret-token" not in str(failed.value)
    assert failed.value.__cause__ is None and failed.value.__context__ is not None
    assert "very-secret-token" not in repr(failed.value)


def test_bot_token_posts_to_the_channel(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/chat.postMessage", method="POST").respond_with_json(
        {"ok": True, "channel": "C1", "ts": "1.0"}
    )
    alerts = AlertsResource(
        bot_token="xoxb-test", channel="#ops", slack_api_url=httpserver.url_for("/api/")
    )
    assert alerts.post("deploy done") == ["bot"]
    ((request, _),) = httpserver.log
    assert request.headers["Authorization"] == "Bearer xoxb-test"
    body = request.get_json() if request.is_json else dict(request.form)
    assert body["channel"] == "#ops" and body["text"] == "deploy done"


def test_without_slack_settings_alerts_are_logged_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    assert AlertsResource().post("nothing configured") == []
    assert "nothing configured" in caplog.text
