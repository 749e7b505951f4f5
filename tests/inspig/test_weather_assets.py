"""materialize() of the weather assets: PostgreSQL, and a local KMA replaying recorded payloads."""

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from pytest_httpserver import HTTPServer
from sqlalchemy.dialects import oracle
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from werkzeug import Request, Response

from inspig_assets import schema as t
from inspig_assets.sources import InspigSampleResource
from inspig_assets.weather_assets import (
    tm_weather,
    tm_weather_asos,
    tm_weather_hourly,
    weather_schedules,
)
from inspig_assets.weather_store import Mode, upsert
from resources.farm_db import FarmDbResource
from resources.kma import KmaResource, midterm_tmfc
from resources.kst import KST, now_kst, today_kst

from .test_oracle_sql import executed

KMA = Path(__file__).parent / "payloads" / "kma"
ENERGY = Path(__file__).parents[1] / "energy" / "payloads"
ALL = [tm_weather_asos, tm_weather_hourly, tm_weather]
SEOUL, BUSAN = (60, 127), (98, 76)


class Kma:
    """A local KMA: recorded payloads re-dated to the request; keys and grids can be refused."""

    def __init__(self) -> None:
        self.refuse: dict[str, tuple[str, int]] = {}  # key → (payload, HTTP status)
        self.bad_grids: set[str] = set()  # "nx,ny" answered with resultCode 10
        self.served: Counter[str] = Counter()  # successful answers per key

    def __call__(self, request: Request) -> Response:
        key, args = request.args.get("serviceKey", ""), request.args
        if key in self.refuse:
            name, status = self.refuse[key]
            folder = ENERGY if name.endswith(".xml") else KMA
            return Response((folder / name).read_text(encoding="utf-8"), status=status)
        if f"{args.get('nx')},{args.get('ny')}" in self.bad_grids:
            return Response((KMA / "result10.json").read_text(encoding="utf-8"))
        self.served[key] += 1
        return Response(json.dumps(self.answer(request.path, args), ensure_ascii=False))

    def answer(self, path: str, args: dict) -> dict:
        operation = path.rsplit("/", 1)[-1]
        if "AsosDalyInfoService" in path:
            payload = json.loads((KMA / "asos_daily.json").read_text(encoding="utf-8"))
            first = dt.datetime.strptime(args["startDt"], "%Y%m%d").date()
            last = dt.datetime.strptime(args["endDt"], "%Y%m%d").date()
            days = (last - first).days + 1
            recorded = payload["response"]["body"]["items"]["item"][:days]
            for n, item in enumerate(recorded):
                item["tm"] = (first + dt.timedelta(days=n)).isoformat()
                item["stnId"] = args["stnIds"]
            payload["response"]["body"]["items"]["item"] = recorded
            return payload
        name = {
            "getVilageFcst": "vilage_fcst.json",
            "getUltraSrtNcst": "ultra_srt_ncst.json",
            "getMidTa": "mid_ta.json",
            "getMidLandFcst": "mid_land_fcst.json",
        }[operation]
        text = (KMA / name).read_text(encoding="utf-8")
        if "base_date" in args:
            base = dt.datetime.strptime(args["base_date"], "%Y%m%d").date()
            text = text.replace("20251202", f"{base + dt.timedelta(days=1):%Y%m%d}")
            text = text.replace("20251201", args["base_date"])
            text = re.sub(r'"baseTime": "\d{4}"', f'"baseTime": "{args["base_time"]}"', text)
            if operation == "getUltraSrtNcst":
                text = text.replace('"1000"', f'"{args["base_time"]}"')
        payload = json.loads(text)
        for item in payload["response"]["body"]["items"]["item"]:
            for field in ("nx", "ny", "regId"):
                if field in item:
                    item[field] = args.get(field, args.get("regId"))
        return payload


@pytest.fixture
def kma_server(httpserver: HTTPServer) -> Iterator[Kma]:
    kma = Kma()
    httpserver.expect_request(re.compile("/1360000/.*")).respond_with_handler(kma)
    yield kma


@pytest.fixture
def farms(farm_db: FarmDbResource) -> FarmDbResource:
    """Four farms: Seoul and Busan without a grid, one with its grid, one not in use (Jeju)."""
    columns = ("farm_no", "sigun_cd", "use_yn", "map_y_n", "map_x_n")
    columns += ("weather_nx_n", "weather_ny_n")
    values = [
        (1, "11140", "Y", 37.5665, 126.9780, None, None),
        (2, "26110", "Y", 35.1796, 129.0756, None, None),
        (3, "11110", "Y", 37.58, 126.97, 60, 127),
        (4, "50110", "N", 33.4996, 126.5312, None, None),
    ]
    with farm_db.begin() as conn:
        conn.execute(t.ta_farm.insert(), [dict(zip(columns, v, strict=True)) for v in values])
    return farm_db


def keys(db: FarmDbResource, *rows: tuple[str, str, int]) -> None:
    with db.begin() as conn:
        conn.execute(
            t.ts_api_key_info.insert(),
            [{"api_key": k, "create_user": u, "req_cnt": n} for k, u, n in rows],
        )


def req_counts(db: FarmDbResource) -> dict[str, int]:
    with db.get_engine().connect() as conn:
        k = t.ts_api_key_info
        return {r.create_user: r.req_cnt for r in conn.execute(sa.select(k))}


def run(
    db: FarmDbResource, httpserver: HTTPServer, assets: list, config: dict | None = None
) -> dg.ExecuteInProcessResult:
    kma = KmaResource(base_url=httpserver.url_for("/1360000"), retries=0, backoff_seconds=0)
    return dg.materialize(
        assets,
        resources={"farm_db": db, "kma": kma, "inspig_sample": InspigSampleResource()},
        run_config={"ops": {"tm_weather": {"config": config}}} if config is not None else None,
        raise_on_error=False,
    )


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    (event,) = [e for e in result.all_events if e.is_step_failure]
    return event.step_failure_data.error.message


def rows(db: FarmDbResource, table: sa.Table) -> list[dict]:
    with db.get_engine().connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(table))]


# -- the key pool ---------------------------------------------------------------------------------
def test_least_used_key_first_refused_keys_set_aside_successes_counted(
    farms: FarmDbResource, httpserver: HTTPServer, kma_server: Kma
) -> None:
    # stored URL-encoded, used decoded: the server sees 'key+A'
    keys(farms, ("key%2BA", "A", 5), ("key%2BB", "B", 0), ("key%2BC", "C", 1))
    kma_server.refuse = {"key+B": ("gateway_quota.xml", 429), "key+C": ("result22.json", 200)}
    result = run(farms, httpserver, ALL)
    assert result.success
    asked = [request.args["serviceKey"] for request, _ in httpserver.log]
    # each step starts with the least-used key B, then C, then A
    assert asked[:3] == ["key+B", "key+C", "key+A"]
    # hourly: 2 grids x (forecast + nowcast); daily: 2 regions x 2 mid-term + 2 stations
    assert kma_server.served == {"key+A": 10}
    assert req_counts(farms) == {"A": 15, "B": 0, "C": 1}


def test_every_key_exhausted_fails_the_step_saying_so(
    farms: FarmDbResource, httpserver: HTTPServer, kma_server: Kma
) -> None:
    keys(farms, ("a", "A", 0), ("b", "B", 0))
    kma_server.refuse = {
        "a": ("gateway_quota.xml", 429),
        "b": ("gateway_unregistered.xml", 401),
    }
    result = run(farms, httpserver, [tm_weather_hourly])
    assert not result.success
    message = failure_message(result)
    assert "every API key of TS_API_KEY_INFO is exhausted" in message
    assert "A: HTTP 429" in message and "B: HTTP 401" in message
    assert "grid 60,127" in message and "grid 98,76" in message
    assert len(httpserver.log) == 2  # no retries and no further grid once every key is spent
    assert rows(farms, t.tm_weather_hourly) == []
    assert req_counts(farms) == {"A": 0, "B": 0}


# -- partial failure ------------------------------------------------------------------------------
def test_failed_grids_are_named_after_the_good_ones_are_saved(
    farms: FarmDbResource, httpserver: HTTPServer, kma_server: Kma
) -> None:
    keys(farms, ("good", "G", 0))
    kma_server.bad_grids = {"98,76"}
    result = run(farms, httpserver, [tm_weather_hourly])
    assert not result.success
    message = failure_message(result)
    assert "tm_weather_hourly: 1 of 2 failed and were not saved (the 1 others" in message
    assert "grid 98,76: kma (plant grid 98,76): resultCode 10" in message
    saved = {(r["nx"], r["ny"]) for r in rows(farms, t.tm_weather_hourly)}
    assert saved == {SEOUL}  # the batch was not dropped: Seoul's grid is kept
    assert kma_server.served["good"] == 2 and req_counts(farms) == {"G": 2}


# -- grids, stations and the daily rows -----------------------------------------------------------
def test_grids_and_stations_stored_on_the_farms(
    farms: FarmDbResource, httpserver: HTTPServer, kma_server: Kma
) -> None:
    keys(farms, ("k", "K", 0))
    result = run(farms, httpserver, [tm_weather_asos])
    assert result.success
    with farms.get_engine().connect() as conn:
        f = t.ta_farm
        got = {
            r.farm_no: (r.weather_nx_n, r.weather_ny_n, r.asos_stn_id, r.asos_stn_nm)
            for r in conn.execute(sa.select(f))
        }
    # the farm not in use is left alone
    assert got == {
        1: (60, 127, 108, "서울"), 2: (98, 76, 159, "부산"), 3: (60, 127, 108, "서울"),
        4: (None, None, None, None),
    }  # fmt: skip
    metadata = result.asset_materializations_for_node("tm_weather_asos")[0].metadata
    assert metadata["grids_assigned"].value == 2 and metadata["stations_assigned"].value == 3


def test_forecast_replaced_by_observation_and_midterm_only_fills_gaps(
    farms: FarmDbResource, httpserver: HTTPServer, kma_server: Kma
) -> None:
    keys(farms, ("k", "K", 0))
    yesterday = today_kst() - dt.timedelta(days=1)
    issued = dt.datetime.strptime(midterm_tmfc(now_kst())[:8], "%Y%m%d").date()
    plus3 = f"{issued + dt.timedelta(days=3):%Y%m%d}"
    with farms.begin() as conn:  # forecasts written earlier: yesterday and day +3 of Seoul
        upsert(
            conn, t.tm_weather,
            [{"wk_date": f"{d}", "nx": 60, "ny": 127, "temp_avg": v, "is_forecast": "Y"}
             for d, v in ((f"{yesterday:%Y%m%d}", 10.0), (plus3, 12.3))],
            Mode.FORECAST,
        )  # fmt: skip
    assert run(farms, httpserver, [tm_weather_asos, tm_weather_hourly, tm_weather]).success

    def day(d: str, grid: tuple[int, int] = SEOUL) -> dict:
        (row,) = [r for r in rows(farms, t.tm_weather) if (r["nx"], r["ny"], r["wk_date"]) ==
                  (*grid, d)]  # fmt: skip
        return row

    observed = day(f"{yesterday:%Y%m%d}")  # the recorded first day: 2.1 / 7.4 / -3.5, dry
    assert observed["is_forecast"] == "N"
    assert (float(observed["temp_avg"]), float(observed["temp_high"])) == (2.1, 7.4)
    assert float(observed["temp_low"]) == -3.5 and observed["weather_cd"] == "sunny"
    assert float(day(plus3)["temp_avg"]) == 12.3  # mid-term never replaces a row
    plus4 = day(f"{issued + dt.timedelta(days=4):%Y%m%d}", BUSAN)  # taMin4 -3, taMax4 6
    assert float(plus4["temp_avg"]) == 1.5 and plus4["fcst_dt"] == midterm_tmfc(now_kst())
    # a later forecast of yesterday does not undo the observation
    with farms.begin() as conn:
        upsert(
            conn, t.tm_weather,
            [{"wk_date": f"{yesterday:%Y%m%d}", "nx": 60, "ny": 127, "temp_avg": 9.9,
              "is_forecast": "Y"}],
            Mode.FORECAST,
        )  # fmt: skip
    assert float(day(f"{yesterday:%Y%m%d}")["temp_avg"]) == 2.1


def test_nowcast_overwrites_the_forecast_hour(
    farms: FarmDbResource, httpserver: HTTPServer, kma_server: Kma
) -> None:
    keys(farms, ("k", "K", 0))
    assert run(farms, httpserver, [tm_weather_hourly]).success
    observed = [r for r in rows(farms, t.tm_weather_hourly) if r["is_forecast"] == "N"]
    assert {(r["nx"], r["ny"]) for r in observed} == {SEOUL, BUSAN}
    assert {float(r["temp"]) for r in observed} == {3.4}  # T1H of the recorded nowcast
    assert run(farms, httpserver, [tm_weather_hourly]).success  # the same hour again
    again = [r for r in rows(farms, t.tm_weather_hourly) if r["is_forecast"] == "N"]
    assert len(again) == 2


# -- local mode -----------------------------------------------------------------------------------
def test_sample_source_without_keys_and_oracle_sql(sample_db: FarmDbResource) -> None:
    engine = sample_db.get_engine()
    kma = KmaResource(use_sample=True)
    resources = {"farm_db": sample_db, "kma": kma, "inspig_sample": InspigSampleResource()}
    with executed(engine) as statements:
        result = dg.materialize(ALL, resources=resources)
    assert result.success
    for node in ("tm_weather_hourly", "tm_weather"):
        metadata = result.asset_materializations_for_node(node)[0].metadata
        assert metadata["source"].value == "sample"
    with engine.connect() as conn:
        f = t.ta_farm
        farms = conn.execute(sa.select(f).where(f.c.use_yn == "Y")).all()
    grids = {(r.weather_nx_n, r.weather_ny_n) for r in farms}
    assert all(r.weather_nx_n and r.asos_stn_id for r in farms)  # every sample farm placed
    hourly = {(r["nx"], r["ny"]) for r in rows(sample_db, t.tm_weather_hourly)}
    daily = rows(sample_db, t.tm_weather)
    yesterday = f"{today_kst() - dt.timedelta(days=1):%Y%m%d}"
    assert hourly == grids
    assert {(r["nx"], r["ny"]) for r in daily if r["wk_date"] == yesterday} == grids
    assert {r["is_forecast"] for r in daily if r["wk_date"] == yesterday} == {"N"}
    assert {r["is_forecast"] for r in daily if r["wk_date"] > yesterday} == {"Y"}
    # every other statement compiles for Oracle (the upserts are MERGE there, tested apart; the
    # catalog lookups are those of creating the local tables)
    others = [s for s in statements if not isinstance(s, PgInsert) and "pg_catalog" not in str(s)]
    assert len(others) > 10
    for statement in others:
        assert "search_path" not in str(statement.compile(dialect=oracle.dialect())).lower()


def test_schedules_in_seoul_time() -> None:
    by_name = {s.name: s for s in weather_schedules(dg.DefaultScheduleStatus.STOPPED)}
    hourly = by_name["inspig_weather_schedule"]
    observed = by_name["inspig_weather_observed_schedule"]
    assert (hourly.cron_schedule, hourly.execution_timezone) == ("0 * * * *", "Asia/Seoul")
    assert (observed.cron_schedule, observed.execution_timezone) == ("30 0 * * *", "Asia/Seoul")
    assert observed.job_name == "inspig_weather_observed_job"
    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2026, 12, 2, 0, 30, tzinfo=KST)
    )
    (request,) = observed.evaluate_tick(context).run_requests
    assert request.job_name in (None, "inspig_weather_observed_job")


def test_weather_jobs_carry_the_oracle_tag() -> None:
    from inspig_assets.definitions import defs

    for name in ("inspig_weather_job", "inspig_weather_observed_job"):
        assert defs.resolve_job_def(name).tags.get("platform/oracle") == "inspig", name


def test_a_bad_observed_range_is_refused_naming_it(
    farms: FarmDbResource, httpserver: HTTPServer, kma_server: Kma
) -> None:
    keys(farms, ("k", "K", 0))
    config = {"forecast": False, "midterm": False, "asos_start": "2025-12-01"}
    result = run(farms, httpserver, [tm_weather], config)
    assert not result.success
    assert "asos_start/asos_end must be YYYYMMDD, got '2025-12-01'/None" in failure_message(result)
    result = run(farms, httpserver, [tm_weather], {**config, "asos_start": "20251205",
                                                    "asos_end": "20251201"})  # fmt: skip
    assert "asos_start 20251205 is after asos_end 20251201" in failure_message(result)
    assert len(httpserver.log) == 0 and rows(farms, t.tm_weather) == []


def test_a_range_of_observed_days_is_reloaded(
    farms: FarmDbResource, httpserver: HTTPServer, kma_server: Kma
) -> None:
    keys(farms, ("k", "K", 0))
    config = {"forecast": False, "midterm": False, "asos_start": "20251130", "asos_end": "20251201"}
    alone = run(farms, httpserver, [tm_weather], config)  # no station list yet: said, not silent
    assert "TM_WEATHER_ASOS holds no station in use" in failure_message(alone)
    assert run(farms, httpserver, [tm_weather_asos, tm_weather], config).success
    got = {
        (r["nx"], r["ny"], r["wk_date"]): float(r["temp_avg"]) for r in rows(farms, t.tm_weather)
    }
    # both recorded days for both grids (Seoul from station 108, Busan from 159)
    assert got == {
        (60, 127, "20251130"): 2.1, (60, 127, "20251201"): 4.0,
        (98, 76, "20251130"): 2.1, (98, 76, "20251201"): 4.0,
    }  # fmt: skip
    stations = sorted(r.args["stnIds"] for r, _ in httpserver.log)
    assert stations == ["108", "159"]


def test_demo_builds_the_weather_assets() -> None:
    from resources.demo import location_defs, plan_stages

    stages = plan_stages(location_defs("inspig_assets.definitions"))
    weather = [s for s in stages if any("weather" in k.to_user_string() for k in s.keys)]
    (stage,) = weather  # one unpartitioned run, upstreams first
    assert stage.partitions_def is None
    assert [k.to_user_string() for k in stage.keys][-1] == "tm_weather"
    assert {k.to_user_string() for k in stage.keys} == {
        "tm_weather_asos", "tm_weather_hourly", "tm_weather",
    }  # fmt: skip


def test_a_malformed_answer_fails_its_grid_only(
    farms: FarmDbResource, httpserver: HTTPServer, kma_server: Kma
) -> None:
    keys(farms, ("k", "K", 0))
    original = kma_server.answer

    def without_dates(path: str, args: dict) -> dict:
        payload = original(path, args)
        if args.get("nx") == "98" and path.endswith("getVilageFcst"):
            for item in payload["response"]["body"]["items"]["item"]:
                item.pop("fcstDate")
        return payload

    kma_server.answer = without_dates  # type: ignore[method-assign]
    result = run(farms, httpserver, [tm_weather_hourly])
    assert "grid 98,76: kma (grid 98,76): malformed answer: KeyError 'fcstDate'" in (
        failure_message(result)
    )
    assert {(r["nx"], r["ny"]) for r in rows(farms, t.tm_weather_hourly)} == {SEOUL}
