"""The web system's API end to end: dagster-webserver, dagster-daemon and the service, each a
process on a loopback port with a DAGSTER_HOME of their own, over a database with sample farms."""

import concurrent.futures
import contextlib
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import requests
import sqlalchemy as sa
import uvicorn
import yaml
from starlette.applications import Starlette

from inspig_assets import schema as t
from inspig_assets.sample import SampleSpec, load_sample
from inspig_assets.web_api.app import create_app
from inspig_assets.web_api.launcher import FARM_TAG, FarmReportLauncher
from resources.farm_db import FarmDbResource
from resources.kst import today_kst
from resources.warehouse import WarehouseResource, dispose_engines
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STARTUP_S = 600  # loading the location on a busy 2-core machine
# Sample farms (sample_farm_numbers(4) is 1387, 2807, 848, 4223), one per test that launches runs.
FARM_REPORT, FARM_TWICE, FARM_SLOW = 1387, 2807, 4223


@dataclass
class Stack:
    """The running processes' addresses and the farm database."""

    webserver: str
    api: str
    home: Path
    engine: sa.Engine
    logs: Path

    def post(self, body: Any, **kwargs: Any) -> requests.Response:
        return requests.post(f"{self.api}/api/etl/run-farm", json=body, timeout=900, **kwargs)

    def runs(self, **tags: str) -> list[dg.DagsterRun]:
        with dg.DagsterInstance.from_config(str(self.home)) as instance:
            return list(instance.get_runs(filters=dg.RunsFilter(tags=tags or None)))


def _last_week(today: dt.date) -> tuple[dt.date, dt.date]:
    """Monday and Sunday of the ISO week before `today`'s (the report week of insDate=today)."""
    monday = today - dt.timedelta(days=today.weekday() + 7)
    return monday, monday + dt.timedelta(days=6)


def _wait_until(what: str, ready: Any, procs: list[subprocess.Popen], logs: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                tails = {p.name: p.read_text()[-3000:] for p in logs.glob("*.log")}
                pytest.fail(f"{proc.args[0]} exited ({proc.returncode}) before {what}: {tails}")
        try:
            if ready():
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    pytest.fail(f"{what}: not ready after {STARTUP_S} s")


def _location_loaded(webserver: str) -> bool:
    query = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
    query += "locationOrLoadError { __typename ... on PythonError { message } } } } } }"
    answer = requests.post(f"{webserver}/graphql", json={"query": query}, timeout=30).json()
    for entry in answer["data"]["workspaceOrError"]["locationEntries"]:
        if entry["name"] == "inspig" and entry["loadStatus"] == "LOADED":
            loaded = entry["locationOrLoadError"]
            if loaded["__typename"] == "PythonError":
                pytest.fail(f"location inspig failed to load: {loaded['message']}")
            return True
    return False


@pytest.fixture(scope="module")
def farm_database(pg_url: str) -> Iterator[str]:
    """A database of its own (the location's farm db is its schema pigplan), with 4 sample farms."""
    name = f"t_webapi_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    farm_db = FarmDbResource(warehouse=WarehouseResource(url=url))
    spec = SampleSpec(farms=4, sows_per_farm=40, history_days=400, until=today_kst())
    with farm_db.begin() as conn:
        t.create_all(conn)
        load_sample(conn, spec, farm_db.insert_rows)
    try:
        yield url
    finally:
        dispose_engines()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def stack(farm_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """dagster-webserver, dagster-daemon (inspig only) and the web API, started and stopped."""
    base = tmp_path_factory.mktemp("web_api")
    home, logs = base / "dagster_home", base / "logs"
    home.mkdir()
    logs.mkdir()
    # The local instance settings (queued runs, launched by the daemon); a failed op is not
    # retried as a new run, as in deploy/dagster.yaml.
    instance = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    instance["run_retries"]["retry_on_asset_or_op_failure"] = False
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance))
    # Create the instance's SQLite storage once, here: the webserver and the daemon would both
    # create it as they start, and race on its migration table ("alembic_version already exists").
    with dg.DagsterInstance.from_config(str(home)):
        pass
    workspace = base / "workspace.yaml"
    location = {
        "module_name": "inspig_assets.definitions",
        "location_name": "inspig",
        "working_directory": str(ROOT),
    }
    workspace.write_text(yaml.safe_dump({"load_from": [{"python_module": location}]}))
    web_port, api_port = free_port(), free_port()
    webserver = f"http://127.0.0.1:{web_port}"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("INSPIG_", "PRODUCTIVITY_", "DAGSTER_", "WAREHOUSE_"))
    }
    env.update(
        PLATFORM_ENV="local",
        PLATFORM_HOME=str(base / "platform"),
        DAGSTER_HOME=str(home),
        WAREHOUSE_URL=farm_database,
        DAGSTER_WEBSERVER_URL=webserver,
        INSPIG_WEB_API_RUN_TIMEOUT="900",
        PYTHONPATH=str(ROOT),
    )
    commands = {
        "webserver": [
            BIN / "dagster-webserver",
            "-w",
            workspace,
            "-h",
            "127.0.0.1",
            "-p",
            web_port,
        ],
        "daemon": [BIN / "dagster-daemon", "run", "-w", workspace],
        "api": [sys.executable, "-m", "inspig_assets.web_api", "--port", api_port],
    }
    procs: list[subprocess.Popen] = []
    try:
        for name, command in commands.items():
            with (logs / f"{name}.log").open("wb") as out:
                procs.append(
                    subprocess.Popen(
                        [str(part) for part in command],
                        cwd=ROOT,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,  # its own group: its run workers stop with it
                    )
                )
        api = f"http://127.0.0.1:{api_port}"
        _wait_until("the inspig location loads", lambda: _location_loaded(webserver), procs, logs)
        _wait_until(
            "the web API answers",
            lambda: requests.get(f"{api}/health", timeout=10).ok,
            procs,
            logs,
        )
        engine = FarmDbResource(warehouse=WarehouseResource(url=farm_database)).get_engine()
        yield Stack(webserver, api, home, engine, logs)
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        shutil.rmtree(base, ignore_errors=True)


def _week_row(stack: Stack, farm_no: int, master_seq: int) -> dict[str, Any]:
    wk, ms = t.ts_ins_week, t.ts_ins_master
    with stack.engine.connect() as conn:
        row = conn.execute(
            sa.select(wk.c.status_cd, wk.c.share_token, ms.c.report_year, ms.c.report_week_no)
            .join(ms, ms.c.seq == wk.c.master_seq)
            .where(wk.c.farm_no == farm_no, wk.c.master_seq == master_seq)
        ).one()
    return dict(row._mapping)


def test_run_farm_answers_the_farms_complete_report_and_status_returns_it(stack: Stack) -> None:
    today = today_kst()
    answer = stack.post({"farmNo": FARM_REPORT, "insDate": f"{today:%Y%m%d}"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "success", body
    row = _week_row(stack, FARM_REPORT, body["masterSeq"])
    assert row["status_cd"] == "COMPLETE"
    assert body["shareToken"] == row["share_token"] and len(row["share_token"]) == 64
    # the week before today: Monday..Sunday, ISO year and week of that Monday
    monday, sunday = _last_week(today)
    year, week_no, _ = monday.isocalendar()
    assert (row["report_year"], row["report_week_no"]) == (year, week_no)
    assert (body["year"], body["weekNo"]) == (year, week_no)
    assert (body["dtFrom"], body["dtTo"]) == (f"{monday:%Y%m%d}", f"{sunday:%Y%m%d}")
    assert body["farmNo"] == FARM_REPORT and body["dayGb"] == "WEEK" and body["error"] is None
    (run,) = stack.runs(**{FARM_TAG: str(FARM_REPORT)})
    assert run.run_id == body["runId"] and run.tags["inspig/report_type"] == "WEEK"

    status = requests.get(f"{stack.api}/api/etl/status/{FARM_REPORT}", timeout=30)
    assert status.status_code == 200
    assert status.json() == {
        "exists": True,
        "farmNo": FARM_REPORT,
        "dayGb": "WEEK",
        "shareToken": row["share_token"],
        "year": year,
        "weekNo": week_no,
        "dtFrom": f"{monday:%Y%m%d}",
        "dtTo": f"{sunday:%Y%m%d}",
        "statusCd": "COMPLETE",
    }


def test_two_calls_at_once_for_one_farm_and_week_give_one_run(stack: Stack) -> None:
    # two different days of the same report week (this week's Monday and today) ask for last week
    today = today_kst()
    days = [today - dt.timedelta(days=today.weekday()), today]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = list(
            pool.map(
                lambda day: stack.post({"farmNo": FARM_TWICE, "insDate": f"{day:%Y%m%d}"}), days
            )
        )
    bodies = [a.json() for a in answers]
    assert [a.status_code for a in answers] == [200, 200], [b["error"] for b in bodies]
    assert bodies[0]["runId"] == bodies[1]["runId"]
    assert bodies[0]["shareToken"] == bodies[1]["shareToken"] is not None
    assert len(stack.runs(**{FARM_TAG: str(FARM_TWICE)})) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"farmNo": FARM_REPORT, "insDate": "2026-11-17"}, "insDate"),
        ({"farmNo": FARM_REPORT, "insDate": "2026111"}, "insDate"),
        ({"farmNo": 0}, "farmNo"),
        ({"insDate": "20261117"}, "farmNo"),
        ({"farmNo": FARM_REPORT, "dayGb": "DAY"}, "dayGb"),
    ],
)
def test_invalid_requests_answer_422_and_launch_nothing(
    stack: Stack, body: dict[str, Any], field: str
) -> None:
    before = len(stack.runs())
    answer = stack.post(body)
    assert answer.status_code == 422
    assert [error["loc"] for error in answer.json()["detail"]] == [["body", field]]
    assert len(stack.runs()) == before


def test_month_and_quarter_answer_200_with_status_error(stack: Stack) -> None:
    before = len(stack.runs())
    for day_gb in ("MONTH", "QUARTER"):
        answer = stack.post({"farmNo": FARM_REPORT, "dayGb": day_gb})
        assert answer.status_code == 200
        assert answer.json()["status"] == "error" and day_gb in answer.json()["message"]
    assert len(stack.runs()) == before


def test_a_failed_run_answers_500_with_its_id_and_error(stack: Stack) -> None:
    # eight digits, but no calendar day: the job refuses it
    answer = stack.post({"farmNo": FARM_REPORT, "insDate": "20261340"})
    assert answer.status_code == 500
    body = answer.json()
    assert body["status"] == "error" and "20261340" in body["error"]
    run = next(r for r in stack.runs() if r.run_id == body["runId"])
    assert run.status == dg.DagsterRunStatus.FAILURE


@contextlib.contextmanager
def _serve(app: Starlette) -> Iterator[str]:
    """`app` under uvicorn in a thread of this process, on a free loopback port; its URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join()


def test_a_run_still_going_after_the_timeout_is_answered_with_its_id(stack: Stack) -> None:
    # a second service on the same webserver, that waits 0 s
    app = create_app(FarmReportLauncher(stack.webserver), lambda: stack.engine, run_timeout_s=0)
    ins_date = f"{today_kst():%Y%m%d}"
    with _serve(app) as url:
        answer = requests.post(
            f"{url}/api/etl/run-farm", json={"farmNo": FARM_SLOW, "insDate": ins_date}, timeout=60
        )
    assert answer.status_code == 202
    body = answer.json()
    assert body["status"] == "running" and body["runId"] in body["message"]
    # the patient service joins that unfinished run instead of launching another
    joined = stack.post({"farmNo": FARM_SLOW, "insDate": ins_date})
    assert joined.status_code == 200, joined.text
    assert joined.json()["runId"] == body["runId"]
    assert len(stack.runs(**{FARM_TAG: str(FARM_SLOW)})) == 1


def test_status_of_a_farm_without_report_and_bad_day_gb(stack: Stack) -> None:
    missing = requests.get(f"{stack.api}/api/etl/status/999999", timeout=30)
    assert missing.status_code == 200
    assert missing.json()["exists"] is False and missing.json()["farmNo"] == 999999
    bad = requests.get(f"{stack.api}/api/etl/status/{FARM_REPORT}?day_gb=DAY", timeout=30)
    assert bad.status_code == 400 and "DAY" in bad.json()["detail"]
    assert requests.get(f"{stack.api}/api/etl/status/abc", timeout=30).status_code == 422
    health = requests.get(f"{stack.api}/health", timeout=30).json()
    assert health["status"] == "ok" and health["version"] == "1.0.0"
    assert health["timestamp"].endswith("+09:00")


def test_an_unreachable_webserver_answers_500_naming_it() -> None:
    webserver = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    app = create_app(FarmReportLauncher(webserver), lambda: None, run_timeout_s=5)
    with _serve(app) as url:
        answer = requests.post(f"{url}/api/etl/run-farm", json={"farmNo": 1387}, timeout=60)
    assert answer.status_code == 500
    body = answer.json()
    assert body["status"] == "error" and body["runId"] is None
    assert body["error"].startswith(f"Dagster webserver {webserver}: ")
    assert "Connection refused" in body["error"] and "query" not in body["error"]
