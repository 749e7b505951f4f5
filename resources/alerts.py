"""Slack alerts (incoming webhook and/or bot token) and the run-failure sensor of every location."""

import logging
from collections.abc import Callable
from typing import Any

import dagster as dg
import requests
from dagster_slack import SlackResource
from pydantic import Field

logger = logging.getLogger(__name__)

ERROR_PREVIEW_CHARS = 300
WILL_RETRY_TAG = "dagster/will_retry"


class AlertDeliveryError(RuntimeError):
    """Slack refused or could not receive a message (the message never contains the webhook URL)."""


class AlertsResource(dg.ConfigurableResource):
    """Post messages to Slack; with neither a webhook nor a bot token, messages are only logged."""

    webhook_url: str | None = Field(default=None, description="Slack incoming webhook (secret)")
    bot_token: str | None = Field(default=None, description="Slack bot token (secret)")
    channel: str = "#data-alerts"
    slack_api_url: str = Field(default="https://slack.com/api/", description="Slack Web API base")
    webserver_url: str = Field(
        default="http://127.0.0.1:3000", description="Dagster UI base URL used in links"
    )
    timeout_seconds: float = 10.0

    @property
    def destinations(self) -> list[str]:
        """Where messages go: 'webhook', 'bot' or nothing (log only)."""
        return [name for name, on in (("webhook", self.webhook_url), ("bot", self.bot_token)) if on]

    def run_url(self, run_id: str) -> str:
        """Link to a run in the Dagster UI."""
        return f"{self.webserver_url.rstrip('/')}/runs/{run_id}"

    def post(self, text: str, blocks: list[dict[str, Any]] | None = None) -> list[str]:
        """Send `text` (and optional Block Kit `blocks`); returns the destinations that took it."""
        if not self.destinations:
            logger.info("alert (Slack not configured, logged only): %s", text)
            return []
        delivered = []
        if self.webhook_url:
            self._post_webhook(text, blocks)
            delivered.append("webhook")
        if self.bot_token:
            client = SlackResource(token=self.bot_token).get_client()
            client.base_url = self.slack_api_url
            try:
                client.chat_postMessage(channel=self.channel, text=text, blocks=blocks)
            except Exception as exc:  # slack_sdk errors carry the response, never the token
                raise AlertDeliveryError(
                    f"Slack bot message to {self.channel} failed: {exc}"
                ) from None
            delivered.append("bot")
        return delivered

    def _post_webhook(self, text: str, blocks: list[dict[str, Any]] | None) -> None:
        payload: dict[str, Any] = {"text": text}
        if blocks:
            payload["blocks"] = blocks
        assert self.webhook_url is not None
        try:
            response = requests.post(self.webhook_url, json=payload, timeout=self.timeout_seconds)
        except requests.RequestException as exc:
            # requests' messages contain the URL, which is the secret: report the kind only.
            raise AlertDeliveryError(f"Slack webhook unreachable ({type(exc).__name__})") from None
        if response.status_code >= 300:
            raise AlertDeliveryError(
                f"Slack webhook answered HTTP {response.status_code}: {response.text[:200]}"
            )


def _root_cause(error: Any) -> str:
    """The innermost error message: Dagster wraps the user's exception in its own step error."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return error.message.strip()


def failure_message(
    context: dg.RunFailureSensorContext, location: str, alerts: AlertsResource
) -> str:
    """The alert text for a failed run: location, job, step, partition, error preview, link."""
    run = context.dagster_run
    step_failures = context.get_step_failure_events()
    if step_failures:
        first = step_failures[0]
        step = first.step_key or "?"
        error = first.event_specific_data.error  # type: ignore[union-attr]
        error_text = _root_cause(error) if error else first.message or ""
    else:
        step = "(run)"
        error_text = context.failure_event.message or ""
    error_text = " ".join(error_text.split())[:ERROR_PREVIEW_CHARS]
    partition = run.tags.get("dagster/partition") or "-"
    lines = [
        f":red_circle: Run failed in location *{location}*",
        f"job: {run.job_name}",
        f"failed step: {step}",
        f"partition: {partition}",
        f"error: {error_text}",
        f"run: {alerts.run_url(run.run_id)}",
    ]
    return "\n".join(lines)


# Builds a failed run's alert text; the default is `failure_message` for the location.
FailureFormatter = Callable[[dg.RunFailureSensorContext, AlertsResource], str]


def make_run_failure_alert_sensor(
    location: str, formatter: FailureFormatter | None = None
) -> dg.SensorDefinition:
    """A run-failure sensor for one code location; retried runs are not alerted twice.

    A domain whose team expects its own wording passes `formatter`; it replaces the default text,
    so a failed run is still announced exactly once.
    """

    @dg.run_failure_sensor(
        name=f"{location}_run_failure_alert_sensor",
        description=f"Posts failed runs of the {location} location to Slack.",
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
    )
    def _sensor(context: dg.RunFailureSensorContext, alerts: AlertsResource) -> None:
        if context.dagster_run.tags.get(WILL_RETRY_TAG) == "true":
            context.log.info(f"run {context.dagster_run.run_id} will be retried; no alert")
            return
        if formatter is not None:
            alerts.post(formatter(context, alerts))
        else:
            alerts.post(failure_message(context, location, alerts))

    return _sensor
