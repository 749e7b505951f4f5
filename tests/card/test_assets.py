"""The card assets materialized against real PostgreSQL, a local lake and a local T2A server."""

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa
from pytest_httpserver import HTTPServer
from sqlalchemy.dialects import oracle
from werkzeug import Request, Response

from card_assets import checks, extract, sample
from card_assets.assets.cards import user_scenario_result
from card_assets.assets.extracts import sales_org_extracts
from card_assets.assets.merge import window_data
from card_assets.jobs import JOBS, card_dead_letter_replay_job
from card_assets.schedules import build_schedules
from card_assets.sources import T2A_PATH, ErpDbResource, T2AResource
from card_assets.window import window_bounds
from resources.settings import PlatformSettings
from resources.warehouse import WarehouseResource

ASSETS = [sales_org_extracts, window_data, user_scenario_result]
WINDOW = "2026-12-02-14:00"
START, _ = window_bounds(WINDOW)


def run(resources: dict[str, Any], key: str = WINDOW, **kwargs: Any) -> dg.ExecuteInProcessResult:
    return dg.materialize(ASSETS, partition_key=key, resources=resources, **kwargs)


def scalar(warehouse: WarehouseResource, query: str, **params: Any) -> Any:
    return warehouse.read_frame(query, params).iat[0, 0]


def checks_of(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], bool]:
    return {
        (c.asset_key.to_user_string(), c.check_name): c.passed
        for c in result.get_asset_check_evaluations()
    }


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key.path == [asset]]
    return {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}


class FakeT2A:
    """A T2A server answering the sample's data; chosen orgs fail with HTTP 500."""

    def __init__(self) -> None:
        self.failures: dict[str, int | None] = {}  # org -> failures left (None: always)
        self.calls: Counter[str] = Counter()

    def __call__(self, request: Request) -> Response:
        query = json.loads(request.get_data())
        org = query["filters"]["Sales Org"][0]
        self.calls[org] += 1
        left = self.failures.get(org, 0)
        if left is None or left > 0:
            if left:
                self.failures[org] = left - 1
            return Response("internal error", status=500)
        return Response(sample.t2a_body_for_query(query), content_type="application/json")


@pytest.fixture
def fake_t2a(httpserver: HTTPServer) -> FakeT2A:
    fake = FakeT2A()
    httpserver.expect_request(T2A_PATH, method="POST").respond_with_handler(fake)
    return fake


@pytest.fixture
def http_resources(
    resources: dict[str, Any], httpserver: HTTPServer, fake_t2a: FakeT2A
) -> dict[str, Any]:
    t2a = T2AResource(url=httpserver.url_for(""), backoff_seconds=0.0, jitter_seconds=0.0)
    return {**resources, "t2a": t2a}


def test_a_window_builds_every_users_pages_and_every_check_passes(
    resources: dict[str, Any], warehouse: WarehouseResource
) -> None:
    result = run(resources)
    assert result.success
    assert all(checks_of(result).values()) and len(checks_of(result)) == 4
    users = resources["erp_db"].users()
    # 24 sample users in 4 orgs; every 17th has notifications off: 23 AI users
    assert len(users) == 23
    rows = warehouse.read_frame("SELECT * FROM user_scenario_result ORDER BY user_id")
    assert rows["user_id"].tolist() == users["user_id"].tolist()
    assert set(rows["window_start"]) == {pd.Timestamp(START)}
    lapa = rows.iloc[0]["lapa00"]
    assert lapa["sender_name"] == "Sales Rep 1" and lapa["top5_accounts"]
    assert scalar(warehouse, "SELECT count(*) FROM user_scenario_latest") == 23
    indexes = set(
        warehouse.read_frame(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'user_scenario_result'"
        )["indexname"]
    )
    assert {"idx_user_scenario_result_user_id", "idx_user_scenario_result_created_at"} <= indexes
    status = metadata(result, "sales_org_material")
    assert status["orgs_ok"] == 4 and "| SO001 | ok |" in status["org_status"]
    assert metadata(result, "material_data")["missing_orgs"] == "none"


def test_rematerializing_a_window_replaces_its_rows(
    resources: dict[str, Any], warehouse: WarehouseResource
) -> None:
    assert run(resources).success
    first = warehouse.read_frame("SELECT user_id, created_at FROM user_scenario_result")
    # a row the ERP no longer knows, in the same window: a rerun must not keep it
    warehouse.execute(
        "INSERT INTO user_scenario_result SELECT 'GONE', window_start, lapa00, sose00, sode00, "
        "pgse00, pgde00, mode00, optr00, created_at FROM user_scenario_result LIMIT 1"
    )
    assert run(resources).success
    second = warehouse.read_frame("SELECT user_id, created_at FROM user_scenario_result")
    assert sorted(second["user_id"]) == sorted(first["user_id"])  # same users, once each
    assert second["created_at"].min() > first["created_at"].max()  # all rewritten


def test_an_org_failing_always_is_dead_lettered_and_the_window_completes(
    http_resources: dict[str, Any], warehouse: WarehouseResource, fake_t2a: FakeT2A
) -> None:
    previous = "2026-12-02-12:00"
    assert run(http_resources, key=previous).success  # SO002 had data in the window before
    fake_t2a.failures["SO002"] = None
    result = run(http_resources)
    assert result.success
    letters = warehouse.read_frame("SELECT * FROM card_dead_letters ORDER BY stage, item")
    orgs = letters[letters["stage"] != "scenario"]
    assert orgs[["stage", "item", "attempts"]].values.tolist() == [
        ["gscm", "SO002", 4],  # 1 call + 3 retries each
        ["material", "SO002", 4],
    ]
    assert all("HTTP 500 after 4 attempt(s)" in e and WINDOW in e for e in orgs["error"])
    assert (orgs["first_failed_at"] == orgs["last_failed_at"]).all()
    assert (letters["window_start"] == pd.Timestamp(START)).all()
    # the users of SO002 (U00002, U00006, ...) are dead-lettered with the cause; the rest saved
    users = http_resources["erp_db"].users()
    so002 = set(users[users["sales_org_cd"] == "SO002"]["user_id"])
    scenario = letters[letters["stage"] == "scenario"]
    assert set(scenario["item"]) == so002 and len(so002) == 6
    assert scenario["error"].str.contains("sales org SO002 has no T2A data").all()
    saved = set(warehouse.read_frame("SELECT user_id FROM user_scenario_result WHERE "
                                     "window_start = :w", {"w": START})["user_id"])  # fmt: skip
    assert saved == set(users["user_id"]) - so002
    # the old window's SO002 extract is not merged into this window
    merged = http_resources["lake"].read_parquet(extract.merged_key("material", START))
    assert "SO002" not in set(merged["SALES_ORG_CD"]) and len(merged) > 0
    assert metadata(result, "material_data")["missing_orgs"] == "SO002"
    assert "| SO002 | dead-lettered | 0 | 4 |" in metadata(result, "sales_org_gscm")["org_status"]
    assert all(checks_of(result).values())  # the missing org has its dead letter


def test_http_500_twice_then_success_is_retried_and_not_dead_lettered(
    http_resources: dict[str, Any], warehouse: WarehouseResource, fake_t2a: FakeT2A
) -> None:
    fake_t2a.failures["SO003"] = 2
    assert run(http_resources).success
    assert scalar(warehouse, "SELECT count(*) FROM card_dead_letters") == 0
    assert fake_t2a.calls["SO003"] == 2 + 2  # two failures, then one call per kind
    assert scalar(warehouse, "SELECT count(*) FROM user_scenario_result") == 23


def test_replay_fetches_only_the_dead_lettered_orgs_and_clears_them(
    http_resources: dict[str, Any], warehouse: WarehouseResource, fake_t2a: FakeT2A
) -> None:
    fake_t2a.failures["SO004"] = None
    assert run(http_resources).success
    assert scalar(warehouse, "SELECT count(*) FROM card_dead_letters WHERE stage <> 'scenario'")
    fake_t2a.failures["SO004"] = 0  # the source is back
    fake_t2a.calls.clear()
    defs = dg.Definitions(
        assets=ASSETS, jobs=[card_dead_letter_replay_job], resources=http_resources
    )
    replay = defs.resolve_job_def(card_dead_letter_replay_job.name).execute_in_process(
        partition_key=WINDOW
    )
    assert replay.success
    assert dict(fake_t2a.calls) == {"SO004": 2}  # one call per kind, no other org fetched
    assert scalar(warehouse, "SELECT count(*) FROM card_dead_letters") == 0
    assert scalar(warehouse, "SELECT count(*) FROM user_scenario_result") == 23
    merged = http_resources["lake"].read_parquet(extract.merged_key("gscm", START))
    assert set(merged["SALES_ORG_CD"]) == {"SO001", "SO002", "SO003", "SO004"}


def test_a_failed_replay_keeps_the_dead_letter_and_adds_its_attempts(
    http_resources: dict[str, Any], warehouse: WarehouseResource, fake_t2a: FakeT2A
) -> None:
    fake_t2a.failures["SO001"] = None
    assert run(http_resources).success
    defs = dg.Definitions(
        assets=ASSETS, jobs=[card_dead_letter_replay_job], resources=http_resources
    )
    job = defs.resolve_job_def(card_dead_letter_replay_job.name)
    assert job.execute_in_process(partition_key=WINDOW).success
    letters = warehouse.read_frame("SELECT * FROM card_dead_letters WHERE stage = 'material'").iloc[
        0
    ]
    assert letters["attempts"] == 8 and letters["last_failed_at"] > letters["first_failed_at"]


def test_rows_older_than_the_retention_are_deleted_by_the_asset(
    resources: dict[str, Any], warehouse: WarehouseResource
) -> None:
    assert run(resources).success
    for user, days in (("OLD", 15), ("RECENT", 13)):
        warehouse.execute(
            "INSERT INTO user_scenario_result SELECT :u, window_start - interval '1 day' * :d, "
            "lapa00, sose00, sode00, pgse00, pgde00, mode00, optr00, "
            "now() - interval '1 day' * :d FROM user_scenario_result LIMIT 1",
            {"u": user, "d": days},
        )
    result = run(resources)
    kept = set(warehouse.read_frame("SELECT user_id FROM user_scenario_result")["user_id"])
    assert "OLD" not in kept and "RECENT" in kept  # retention 14 days
    assert metadata(result, "user_scenario_result")["rows_expired"] == 1


def test_the_schedule_asks_for_the_window_starting_at_the_tick_in_kst() -> None:
    from card_assets.definitions import defs

    schedule = defs.get_repository_def().get_schedule_def("card_window_schedule")
    assert schedule.cron_schedule == "0 */2 * * *" and schedule.execution_timezone == "Asia/Seoul"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    # the midnight tick of 3 December KST is 15:00 UTC on 2 December
    tick = dt.datetime(2026, 12, 2, 15, 0, tzinfo=dt.UTC)
    context = dg.build_schedule_context(
        scheduled_execution_time=tick, repository_def=defs.get_repository_def()
    )
    (request,) = schedule.evaluate_tick(context).run_requests
    assert request.partition_key == "2026-12-03-00:00"
    (prod,) = build_schedules(PlatformSettings(platform_env="prod"))
    assert prod.default_status == dg.DefaultScheduleStatus.RUNNING


def test_the_erp_queries_compile_for_oracle() -> None:
    captured: list[sa.Executable] = []

    class Capture(ErpDbResource):
        def read(self, statement: sa.Executable) -> pd.DataFrame:
            captured.append(statement)
            return pd.DataFrame()

    erp = Capture(warehouse=WarehouseResource())
    erp.ai_sales_orgs(), erp.users(), erp.user_accounts(), erp.user_product_groups()
    erp.orders(dt.date(2026, 11, 1), dt.date(2027, 1, 1)), erp.issues(dt.date(2026, 12, 1))
    for statement in captured:
        text = str(statement.compile(dialect=oracle.dialect()))
        assert "SELECT" in text and "LIMIT" not in text


def test_the_location_loads_with_its_jobs_schedule_and_checks() -> None:
    from card_assets.definitions import defs

    dg.Definitions.validate_loadable(defs)
    names = {job.name for job in JOBS}
    assert names == {"card_window_job", "card_dead_letter_replay_job"}
    assert defs.get_schedule_def("card_window_schedule")
    specs = {spec.name for a in ASSETS for spec in a.check_specs}
    assert specs == {
        checks.CHECK_ORGS_ACCOUNTED,
        checks.CHECK_USERS_COVERED,
        checks.CHECK_PAGE_KEYS,
    }
    assert isinstance(defs.resources["t2a"], T2AResource) and defs.resources["t2a"].is_sample


def test_prod_needs_t2a_and_the_erp_and_keeps_their_secrets_as_env_vars(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from card_assets.sources import domain_resources
    from resources.settings import MissingSettingsError

    env = {
        "PLATFORM_ENV": "prod",
        "PLATFORM_HOME": str(tmp_path),
        "WAREHOUSE_URL": "postgresql://u:pw@db/warehouse",
        "DAGSTER_WEBSERVER_URL": "https://dagster.internal",
        "SLACK_WEBHOOK_URL": "https://hooks/x",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(MissingSettingsError) as error:
        PlatformSettings().require("card")
    for name in ("T2A_API_URL", "T2A_API_KEY", "CARD_ERP_URL"):
        assert name in str(error.value)
    monkeypatch.setenv("T2A_API_URL", "https://t2a.internal/api")
    monkeypatch.setenv("T2A_API_KEY", "k-123456")
    monkeypatch.setenv("CARD_ERP_URL", "oracle+oracledb://u:pw@erp:1521/?service_name=ERP")
    settings = PlatformSettings()
    settings.require("card")
    resources = domain_resources(settings)
    assert isinstance(resources["t2a"].api_key, dg.EnvVar) and not resources["t2a"].use_sample
    assert isinstance(resources["erp_db"].oracle_url, dg.EnvVar)
    assert resources["t2a"].url == "https://t2a.internal/api"
