"""Productivity: the API client against recorded payloads, and the local computation."""

import base64
import datetime as dt
import json
import re
from pathlib import Path
from urllib.parse import quote

import dagster as dg
import pytest
import sqlalchemy as sa
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from inspig_assets import schema as t
from inspig_assets.assets import ts_productivity, ts_productivity_monthly
from inspig_assets.productivity import StatPeriod, compute_local
from inspig_assets.sources import ProductivityApiResource, ProductivitySourceError
from resources.farm_db import FarmDbResource
from resources.policies import STANDARD_RETRY

from .conftest import inspig_resources
from .tiny_farm import FARM, WEEK, build

PAYLOAD = json.loads((Path(__file__).parent / "payloads" / "productivity_week.json").read_text())
PERIOD = StatPeriod.week(dt.date(2026, 11, 9))
PATH = "/statistics/productivity/period/1387"


def test_api_request_and_payload(httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        PATH,
        query_string={
            "statDate": "2026-11-15",
            "memberId": "null",
            "period": "W",
            "numOfPeriod": "1",
            "lang": "ko",
            "serviceId": "01051",
            "sizeOfPeriod": "1",
            "pumjongCd": "- 전체 -",
            "reportType": "1",
        },
        headers={"X-API-KEY": "k-123"},
    ).respond_with_json(PAYLOAD)
    api = ProductivityApiResource(base_url=httpserver.url_for("/"), api_key="k-123")
    rows = {r["pcode"]: r for r in api.fetch_farm(1387, PERIOD)}
    assert set(rows) == {"031", "034", "035"}  # 036 is not a report code
    assert rows["035"]["c001"] == 554.55 and rows["035"]["c002"] == 601
    assert rows["034"]["c023"] == 24.1 and rows["034"]["c029"] is None  # "-" is not a number
    assert rows["031"]["c029"] == 1204
    assert (rows["035"]["stat_year"], rows["035"]["period"], rows["035"]["period_no"]) == (
        2026, "W", 46,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (500, {"error": "internal", "message": "DB timeout"}, "HTTP 500"),
        (200, {"result": "FAIL", "message": "no farm"}, "no 'data' list"),
        (401, {"error": "unauthorized"}, "HTTP 401"),
    ],
)
def test_api_errors_name_source_farm_and_period(
    httpserver: HTTPServer, status: int, body: dict, message: str
) -> None:
    httpserver.expect_request(PATH).respond_with_json(body, status=status)
    api = ProductivityApiResource(base_url=httpserver.url_for("/"))
    with pytest.raises(ProductivitySourceError) as info:
        api.fetch_farm(1387, PERIOD)
    assert "productivity API, farm 1387, period 2026-W46" in str(info.value)
    assert message in str(info.value)


def test_asset_keeps_good_farms_and_fails_its_check(
    sample_db: FarmDbResource, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(PATH).respond_with_json({"error": "boom"}, status=500)
    for farm in (2807, 4223, 1013, 10001, 10002, 10003, 10004, 10005, 10006, 10007, 848):
        payload = json.loads(json.dumps(PAYLOAD).replace("554.55", str(farm)))
        httpserver.expect_request(f"/statistics/productivity/period/{farm}").respond_with_json(
            payload
        )
    api = ProductivityApiResource(base_url=httpserver.url_for("/"))
    result = dg.materialize(
        [ts_productivity],
        partition_key="2026-11-09",
        resources=inspig_resources(sample_db, api),
    )
    assert result.success
    (check,) = result.get_asset_check_evaluations()
    assert not check.passed and "2026-W46/1387" in check.metadata["failed"].value
    with sample_db.begin() as conn:
        saved = dict(
            conn.execute(
                sa.select(t.ts_productivity.c.farm_no, t.ts_productivity.c.c001).where(
                    t.ts_productivity.c.pcode == "035"
                )
            ).fetchall()
        )
    assert 1387 not in saved and float(saved[2807]) == 2807


def test_asset_fails_when_the_api_is_unusable(
    sample_db: FarmDbResource, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(re.compile(r"/statistics/productivity/period/\d+")).respond_with_data(
        "<html>"
    )
    api = ProductivityApiResource(base_url=httpserver.url_for("/"), workers=1)
    result = dg.materialize(
        [ts_productivity],
        partition_key="2026-11-09",
        resources=inspig_resources(sample_db, api),
        raise_on_error=False,
    )
    assert not result.success
    errors = [
        event.event_specific_data.error.to_string()  # type: ignore[union-attr]
        for event in result.all_events
        if event.event_type_value in ("STEP_UP_FOR_RETRY", "STEP_FAILURE")
    ]
    # the standard policy's retries with backoff, then the failure
    assert len(errors) == STANDARD_RETRY.max_retries + 1
    assert "productivity 2026-W46: every farm failed" in errors[0]
    assert "productivity API, farm" in errors[0] and "not JSON" in errors[0]


def test_local_statistics_of_the_tiny_farm(farm_db: FarmDbResource) -> None:
    with farm_db.begin() as conn:
        build(conn)
        rows = {r["pcode"]: r for r in compute_local(conn, [FARM], StatPeriod.week(WEEK.dt_from))}
    # matings of the week: sow 3 (re-mated 5 days after weaning) and gilt 4 (first mating)
    assert (rows["031"]["c001"], rows["031"]["c002"], rows["031"]["c004"]) == (2, 1, 5.0)
    assert rows["031"]["c031"] == 1  # the 5-day bucket of C029..C036
    # one litter: 11 live + 2 stillborn; one weaning: 13 piglets after 21 days
    assert (rows["032"]["c001"], rows["032"]["c002"], rows["032"]["c003"]) == (1, 13, 11)
    assert (rows["033"]["c002"], rows["033"]["c004"]) == (13, 21.0)
    # productive sow-days Mon..Sun: sows 2, 3, 5, 6, 7, 8, 11 and 12 (entered mated) all 7 days,
    # gilt 4 from her first mating on Wed (5), sow 9 until her cull on Wed (2): 63 / 7 = 9.0
    inventory = rows["035"]["c001"]
    assert inventory == 9.0 and rows["035"]["c002"] == 10
    assert rows["034"]["c023"] == 75.3  # PSY: 13 weaned × 365 / 7 / 9
    assert rows["034"]["c029"] == 17.4  # MSY: 3 graded × 365 / 7 / 9
    assert (rows["035"]["stat_year"], rows["035"]["period_no"]) == (2025, 11)


def test_monthly_collects_farms_with_an_approved_member_only(sample_db: FarmDbResource) -> None:
    m, f = t.ta_member, t.ta_farm
    with sample_db.begin() as conn:
        conn.execute(m.update().where(m.c.farm_no == 848).values(user_ok_cd="991001"))  # pending
        conn.execute(m.delete().where(m.c.farm_no == 10003))  # no member at all
        conn.execute(f.update().where(f.c.farm_no == 10001).values(test_yn="Y"))
    result = dg.materialize(
        [ts_productivity_monthly],
        partition_key="2026-10-01",
        resources=inspig_resources(sample_db),
    )
    assert result.success
    meta = result.asset_materializations_for_node("ts_productivity_monthly")[0].metadata
    with sample_db.begin() as conn:
        farms = {
            r[0]
            for r in conn.execute(
                sa.select(t.ts_productivity.c.farm_no).where(t.ts_productivity.c.period == "M")
            )
        }
    assert meta["farms"].value == 9
    assert farms == {1013, 1387, 2807, 4223, 10002, 10004, 10005, 10006, 10007}


def test_sample_made_before_ta_member_gets_approved_members(sample_db: FarmDbResource) -> None:
    from inspig_assets.productivity import all_farms
    from inspig_assets.sample import SampleSpec, ensure_sample

    with sample_db.begin() as conn:
        conn.execute(t.ta_member.delete())
        assert all_farms(conn) == []
    spec = SampleSpec(farms=12)
    assert not ensure_sample(sample_db.get_engine(), spec, sample_db.insert_rows)
    with sample_db.begin() as conn:
        assert len(all_farms(conn)) == 12


# -- secrets ---------------------------------------------------------------------------------
API_KEY = "pk-Zq81xVw0-secret-7731"
PASSWORD = "s3cr3t-pw!"


def _echo(request: Request) -> Response:
    """An API that copies the request (key headers first, the others, the URL) into its error."""
    headers = dict(request.headers)
    keys = {name: headers.pop(name, None) for name in ("X-Api-Key", "Authorization")}
    echo = {"error": "bad request", "received": {**keys, **headers, "url": request.url}}
    return Response(json.dumps(echo), status=400, content_type="application/json")


def _fragments(secret: str, size: int = 6) -> list[str]:
    return [secret[i : i + size] for i in range(len(secret) - size + 1)]


def _leaks(text: str) -> list[str]:
    basic = base64.b64encode(f"etl:{PASSWORD}".encode()).decode()
    secrets = (*_fragments(API_KEY), *_fragments(PASSWORD), basic, quote(PASSWORD))
    return [s for s in secrets if s in text]


def _echo_api(httpserver: HTTPServer) -> ProductivityApiResource:
    base = httpserver.url_for("/").replace("://", f"://etl:{quote(PASSWORD, safe='')}@")
    return ProductivityApiResource(base_url=base, api_key=API_KEY, workers=1)


def test_api_error_redacts_the_credentials_the_request_carried(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_handler(_echo)
    with pytest.raises(ProductivitySourceError) as info:
        _echo_api(httpserver).fetch_farm(1387, PERIOD)
    message = str(info.value)
    # the echo reached the message (status, headers) but no piece of the key or the password did
    assert "HTTP 400" in message and "bad request" in message and "X-Api-Key" in message
    assert "productivity API, farm 1387, period 2026-W46" in message
    assert _leaks(message) == [], message
    assert "***" in message


def test_no_event_log_line_or_check_metadata_holds_the_key(
    sample_db: FarmDbResource, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(PATH).respond_with_handler(_echo)
    httpserver.expect_request(re.compile(r"/statistics/productivity/period/\d+")).respond_with_json(
        PAYLOAD
    )
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [ts_productivity],
        partition_key="2026-11-09",
        resources=inspig_resources(sample_db, _echo_api(httpserver)),
        instance=instance,
    )
    (check,) = result.get_asset_check_evaluations()
    failed = check.metadata["failed"].value
    assert not check.passed and "HTTP 400" in failed["2026-W46/1387"]
    records = instance.all_logs(result.run_id)
    assert records and all(_leaks(str(record)) == [] for record in records)
