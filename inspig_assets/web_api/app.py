"""The Starlette application: health, run-farm (through Dagster) and status (from the view)."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from inspig_assets import schema as t
from inspig_assets.periods import ReportWeek, parse_ins_date
from inspig_assets.run_retention import REPORT_TYPE_TAG, WEEK
from inspig_assets.web_api.launcher import (
    FARM_TAG,
    FINISHED,
    WEEK_TAG,
    DagsterApiError,
    FarmReportLauncher,
    RunOutcome,
)
from inspig_assets.web_api.models import API_VERSION, DayGb, RunFarmRequest, run_farm_answer
from resources.kst import now_kst, today_kst

log = logging.getLogger("inspig.web_api")
POLL_SECONDS = 1.0


def _week_key(ins_date: str) -> str:
    """The report week an ins_date asks for (2026-W46), or the date itself when it is no day."""
    try:
        week = ReportWeek.before(parse_ins_date(ins_date))
        return f"{week.year}-W{week.week_no:02d}"
    except ValueError:
        return ins_date


class FarmRuns:
    """Farm report runs of the web system: one run per farm and week at a time."""

    def __init__(self, launcher: FarmReportLauncher, timeout_s: float) -> None:
        """Runs on `launcher`'s webserver, each awaited up to `timeout_s` seconds."""
        self.launcher = launcher
        self.timeout_s = timeout_s
        self._locks: dict[tuple[int, str], asyncio.Lock] = {}

    async def start(self, farm_no: int, ins_date: str) -> str:
        """Id of the farm's unfinished run for that week, or of a run launched now.

        Calls for the same farm and week are serialized here, and each looks for an unfinished
        run with the same tags before launching: two calls at once give one run.
        """
        week = _week_key(ins_date)
        tags = {FARM_TAG: str(farm_no), WEEK_TAG: week}
        key = (farm_no, week)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            run_id = await run_in_threadpool(self.launcher.in_progress_run, tags)
            if run_id is None:
                tags[REPORT_TYPE_TAG] = WEEK
                run_id = await run_in_threadpool(self.launcher.submit, farm_no, ins_date, tags)
                log.info(f"farm {farm_no} week {week}: launched run {run_id}")
            else:
                log.info(f"farm {farm_no} week {week}: joining run {run_id}")
        if not lock.locked():
            self._locks.pop(key, None)
        return run_id

    async def wait(self, run_id: str) -> RunOutcome | None:
        """The finished run's outcome, or None when it is still going after the timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        while True:
            status = await run_in_threadpool(self.launcher.status, run_id)
            if status in FINISHED:
                return await run_in_threadpool(self.launcher.outcome, run_id)
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            await asyncio.sleep(min(POLL_SECONDS, remaining))


def _unprocessable(errors: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse({"detail": errors}, status_code=422)


async def _run_farm_request(request: Request) -> RunFarmRequest | JSONResponse:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return _unprocessable([{"type": "json_invalid", "loc": ["body"], "msg": str(exc)}])
    try:
        return RunFarmRequest.model_validate(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False)
        for error in errors:
            error["loc"] = ["body", *error["loc"]]
        return _unprocessable(errors)


async def run_farm(request: Request) -> JSONResponse:
    """POST /api/etl/run-farm: rebuild one farm's report of the week before insDate."""
    body = await _run_farm_request(request)
    if isinstance(body, JSONResponse):
        return body
    ins_date = body.insDate or today_kst().strftime("%Y%m%d")
    if body.dayGb != DayGb.WEEK:
        message = f"{body.dayGb.value} reports are not implemented; only WEEK is built"
        answer = run_farm_answer(body, ins_date, "error", message=message, error=message)
        return JSONResponse(answer)
    runs: FarmRuns = request.app.state.runs
    run_id = None
    try:
        run_id = await runs.start(body.farmNo, ins_date)
        outcome = await runs.wait(run_id)
    except DagsterApiError as exc:
        log.error(f"farm {body.farmNo} insDate {ins_date}: {exc}")
        answer = run_farm_answer(body, ins_date, "error", runId=run_id, error=str(exc))
        answer["message"] = "the report run could not be launched or followed"
        return JSONResponse(answer, status_code=500)
    if outcome is None:
        message = (
            f"run {run_id} is still running after {runs.timeout_s:g} s; "
            f"GET /api/etl/status/{body.farmNo} shows the report when it is done"
        )
        return JSONResponse(
            run_farm_answer(body, ins_date, "running", runId=run_id, message=message),
            status_code=202,
        )
    if outcome.status != "SUCCESS":
        error = outcome.error or f"run ended {outcome.status}"
        answer = run_farm_answer(
            body, ins_date, "error", runId=run_id, error=error, message=f"run {run_id} failed"
        )
        return JSONResponse(answer, status_code=500)
    md = outcome.metadata
    answer = run_farm_answer(
        body,
        md.get("ins_date", ins_date),
        "success",
        runId=run_id,
        masterSeq=md.get("master_seq"),
        shareToken=md.get("share_token") or None,
        year=md.get("year"),
        weekNo=md.get("week_no"),
        dtFrom=md.get("dt_from"),
        dtTo=md.get("dt_to"),
        message=f"farm {body.farmNo} report {md.get('week')} built by run {run_id}",
    )
    return JSONResponse(answer)


def _latest_complete(engine: sa.Engine, farm_no: int, day_gb: str) -> dict[str, Any] | None:
    view = t.vw_ins_week_status
    with engine.connect() as conn:
        row = (
            conn.execute(sa.select(view).where(view.c.farm_no == farm_no, view.c.day_gb == day_gb))
            .mappings()
            .first()
        )
    return dict(row) if row else None


async def status(request: Request) -> JSONResponse:
    """GET /api/etl/status/{farm_no}?day_gb=WEEK: the farm's latest COMPLETE report."""
    raw = request.path_params["farm_no"]
    try:
        farm_no = int(raw)
    except ValueError:
        error = {"type": "int_parsing", "loc": ["path", "farm_no"], "msg": "not an integer"}
        return _unprocessable([{**error, "input": raw}])
    day_gb = request.query_params.get("day_gb", DayGb.WEEK.value)
    if day_gb not in DayGb.__members__:
        detail = f"day_gb {day_gb!r}: expected one of {', '.join(DayGb.__members__)}"
        return JSONResponse({"detail": detail}, status_code=400)
    base = {"farmNo": farm_no, "dayGb": day_gb}
    if day_gb != DayGb.WEEK:
        return JSONResponse({"exists": False, **base, "message": f"{day_gb} reports are not built"})
    row = await run_in_threadpool(_latest_complete, request.app.state.engine(), farm_no, day_gb)
    if row is None:
        message = f"farm {farm_no} has no COMPLETE {day_gb} report"
        return JSONResponse({"exists": False, **base, "message": message})
    return JSONResponse(
        {
            "exists": True,
            **base,
            "shareToken": row["share_token"],
            "year": row["report_year"],
            "weekNo": row["report_week_no"],
            "dtFrom": row["dt_from"],
            "dtTo": row["dt_to"],
            "statusCd": row["status_cd"],
        }
    )


async def health(_request: Request) -> JSONResponse:
    """GET /health."""
    return JSONResponse(
        {"status": "ok", "timestamp": now_kst().isoformat(), "version": API_VERSION}
    )


def create_app(
    launcher: FarmReportLauncher,
    engine: Callable[[], sa.Engine],
    *,
    run_timeout_s: float,
    prepare: Callable[[], None] | None = None,
) -> Starlette:
    """The API on `launcher`'s Dagster webserver and the farm database `engine()`.

    `prepare` runs once at startup (locally: create the tables and the view when missing).
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if prepare is not None:
            await run_in_threadpool(prepare)
        log.info(f"inspig web API on Dagster {launcher.url}, run timeout {run_timeout_s:g} s")
        yield

    app = Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/api/etl/run-farm", run_farm, methods=["POST"]),
            Route("/api/etl/status/{farm_no}", status, methods=["GET"]),
        ],
        middleware=[
            Middleware(
                CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"]
            )
        ],
        lifespan=lifespan,
    )
    app.state.runs = FarmRuns(launcher, run_timeout_s)
    app.state.engine = engine
    return app
