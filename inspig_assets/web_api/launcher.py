"""Launching and following `inspig_farm_report_job` runs through the Dagster GraphQL API."""

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

JOB_NAME = "inspig_farm_report_job"
OP_NAME = "build_farm_report"
LOCATION = "inspig"
REPOSITORY = "__repository__"
FARM_TAG = "inspig/farm_no"
WEEK_TAG = "inspig/report_week"

FINISHED = frozenset({"SUCCESS", "FAILURE", "CANCELED"})
IN_PROGRESS = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING")

_RUNS_QUERY = """
query InProgressFarmRuns($filter: RunsFilter!) {
  runsOrError(filter: $filter, limit: 1) {
    __typename
    ... on Runs { results { runId status } }
    ... on PythonError { message }
  }
}
"""

_RUN_QUERY = """
query FarmReportRun($runId: ID!, $cursor: String) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { runId status }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
  logsForRun(runId: $runId, afterCursor: $cursor, limit: 1000) {
    __typename
    ... on EventConnection {
      cursor
      hasMore
      events {
        __typename
        ... on ExecutionStepOutputEvent {
          stepKey
          metadataEntries {
            __typename
            label
            ... on TextMetadataEntry { text }
            ... on IntMetadataEntry { intValue intRepr }
            ... on FloatMetadataEntry { floatValue }
            ... on BoolMetadataEntry { boolValue }
          }
        }
        ... on ExecutionStepFailureEvent {
          stepKey
          error { message errorChain { error { message } } }
        }
        ... on RunFailureEvent { message }
      }
    }
    ... on PythonError { message }
  }
}
"""


class DagsterApiError(RuntimeError):
    """The Dagster webserver could not be asked, or answered with an error."""


@dataclass
class RunOutcome:
    """A finished run: its status, the report step's output metadata, or its error."""

    run_id: str
    status: str
    metadata: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def _entry_value(entry: Mapping[str, Any]) -> Any:
    kind = entry["__typename"]
    if kind == "IntMetadataEntry":
        return entry["intValue"] if entry["intValue"] is not None else int(entry["intRepr"])
    if kind == "FloatMetadataEntry":
        return entry["floatValue"]
    if kind == "BoolMetadataEntry":
        return entry["boolValue"]
    return entry.get("text")


def _error_text(error: Mapping[str, Any]) -> str:
    """The error and its causes, innermost last ("wrapper: …; caused by: …")."""
    messages = [error["message"].strip()]
    messages += [link["error"]["message"].strip() for link in error.get("errorChain") or []]
    return "; caused by: ".join(m for m in messages if m)


class FarmReportLauncher:
    """Launches farm report runs on a Dagster webserver and reads what they produced."""

    def __init__(self, webserver_url: str, *, request_timeout: int = 60) -> None:
        """Client of the webserver at `webserver_url` (scheme, host, port, optional path)."""
        parts = urlsplit(webserver_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"Dagster webserver URL {webserver_url!r}: expected http(s)://host")
        self.url = webserver_url
        self._parts = parts
        self._request_timeout = request_timeout
        self._local = threading.local()

    @property
    def _client(self) -> DagsterGraphQLClient:
        # One client per thread: a gql client's transport serves one request at a time.
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = DagsterGraphQLClient(
                self._parts.hostname or "",
                port_number=self._parts.port,
                use_https=self._parts.scheme == "https",
                path_prefix=self._parts.path.rstrip("/"),
                timeout=self._request_timeout,
            )
        return client

    def _error(self, exc: DagsterGraphQLClientError) -> DagsterApiError:
        """The client's error, worded by its cause (the client's own text repeats the query)."""
        cause = exc.__cause__
        detail = f"{type(cause).__name__}: {cause}" if cause is not None else str(exc)
        return DagsterApiError(f"Dagster webserver {self.url}: {detail}")

    def _query(self, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return self._client._execute(query, dict(variables))
        except DagsterGraphQLClientError as exc:
            raise self._error(exc) from exc

    def in_progress_run(self, tags: Mapping[str, str]) -> str | None:
        """Id of an unfinished farm report run carrying `tags`, if there is one."""
        run_filter = {
            "pipelineName": JOB_NAME,
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
            "statuses": list(IN_PROGRESS),
        }
        answer = self._query(_RUNS_QUERY, {"filter": run_filter})["runsOrError"]
        if answer["__typename"] != "Runs":
            raise DagsterApiError(f"Dagster webserver {self.url}: {answer.get('message')}")
        results = answer["results"]
        return results[0]["runId"] if results else None

    def submit(self, farm_no: int, ins_date: str, tags: Mapping[str, str]) -> str:
        """Launch (queue) one farm report run; its id."""
        config = {"ops": {OP_NAME: {"config": {"farm_no": farm_no, "ins_date": ins_date}}}}
        try:
            return self._client.submit_job_execution(
                JOB_NAME,
                repository_location_name=LOCATION,
                repository_name=REPOSITORY,
                run_config=config,
                tags=dict(tags),
            )
        except DagsterGraphQLClientError as exc:
            raise self._error(exc) from exc

    def status(self, run_id: str) -> str:
        """The run's status name (QUEUED … SUCCESS, FAILURE, CANCELED)."""
        try:
            return self._client.get_run_status(run_id).value
        except DagsterGraphQLClientError as exc:
            raise self._error(exc) from exc

    def outcome(self, run_id: str) -> RunOutcome:
        """Status, output metadata of the report step and first error of run `run_id`."""
        metadata: dict[str, Any] = {}
        errors: list[str] = []
        cursor = None
        while True:
            answer = self._query(_RUN_QUERY, {"runId": run_id, "cursor": cursor})
            run, logs = answer["runOrError"], answer["logsForRun"]
            if run["__typename"] != "Run" or logs["__typename"] != "EventConnection":
                message = run.get("message") or logs.get("message")
                raise DagsterApiError(f"run {run_id}: {message}")
            for event in logs["events"]:
                kind = event["__typename"]
                if kind == "ExecutionStepOutputEvent" and event["stepKey"] == OP_NAME:
                    metadata.update({e["label"]: _entry_value(e) for e in event["metadataEntries"]})
                elif kind == "ExecutionStepFailureEvent" and event.get("error"):
                    errors.append(_error_text(event["error"]))
                elif kind == "RunFailureEvent" and event.get("message"):
                    errors.append(event["message"].strip())
            if not logs["hasMore"]:
                break
            cursor = logs["cursor"]
        return RunOutcome(run_id, run["status"], metadata, errors[0] if errors else None)
