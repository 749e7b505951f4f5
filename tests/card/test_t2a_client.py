"""The T2A client against a local HTTP server replaying recorded-shape payloads."""

import datetime as dt
import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from card_assets import window
from card_assets.sources import T2A_PATH, T2AError, T2AResource
from card_assets.t2a import COLUMNS
from resources.kst import KST

PAYLOADS = Path(__file__).parent / "payloads"
SECRET = "t2a-secret-4711"
# The window 2026-12-01 00:00 KST is 2026-11-30 15:00 UTC: at GMT-5 it is still November.
START = dt.datetime(2026, 12, 1, 0, tzinfo=KST)
PARTITION = "2026-12-01-00:00"


def payload(name: str) -> str:
    return (PAYLOADS / name).read_text(encoding="utf-8")


def client(server: HTTPServer, **overrides: object) -> T2AResource:
    config = {"url": server.url_for(""), "api_key": SECRET, "backoff_seconds": 0.0}
    config.update(overrides)
    return T2AResource(**config, jitter_seconds=0.0)


def fetch(resource: T2AResource, kind: str = "material", offset: str = "-5"):
    return resource.fetch(kind, "SO001", "USD", window.local_time(START, offset), PARTITION)


def test_good_payload_is_filtered_sorted_and_the_request_uses_the_orgs_local_month(
    httpserver: HTTPServer,
) -> None:
    seen: list[Request] = []

    def answer(request: Request) -> Response:
        seen.append(request)
        return Response(payload("material_good.json"), content_type="application/json")

    httpserver.expect_request(T2A_PATH, method="POST").respond_with_handler(answer)
    frame, attempts = fetch(client(httpserver))
    assert attempts == 1
    assert list(frame.columns) == COLUMNS["material"]  # "GSCM\xa0Account" read as "GSCM Account"
    # kept: target != 0 and achievement < 100 -> REF1-M01 (90), REF1-M02 (60), WM1-M01 (60);
    # dropped: TV2-M01 (120 %) and TV2-M03 (no target). Worst first, ties by larger target.
    assert frame["Material"].tolist() == ["WM1-M01", "REF1-M02", "REF1-M01"]
    assert set(frame["SALES_ORG_CD"]) == {"SO001"} and frame["SoldTo"].tolist()[0] == "40003"
    query = json.loads(seen[0].get_data())
    assert query["query"] == "SALES_ORG" and query["filters"]["Sales Org"] == ["SO001"]
    # 2026-11-30 15:00 UTC at GMT-5 is 10:00 on 30 November: the month is November
    assert query["filters"]["Period"] == "202611" and query["filters"]["Month"] == "2026.11"
    assert query["filters"]["Currency"] == "USD"
    assert seen[0].headers["Authorization"] == f"Bearer {SECRET}"


def test_the_same_window_in_korea_asks_for_december(httpserver: HTTPServer) -> None:
    seen: list[dict] = []

    def answer(request: Request) -> Response:
        seen.append(json.loads(request.get_data()))
        return Response(payload("gscm_good.json"))

    httpserver.expect_request(T2A_PATH).respond_with_handler(answer)
    frame, _ = fetch(client(httpserver), kind="gscm", offset="+9")
    assert seen[0]["filters"]["Period"] == "202612"
    # accounts under 100 %: 40003 (60 %), then 40001 (70 %); 40002 (120 %) dropped
    assert frame["GSCM Account"].tolist() == ["40003", "40001"]


def test_empty_content_means_no_rows(httpserver: HTTPServer) -> None:
    httpserver.expect_request(T2A_PATH).respond_with_data(payload("empty_content.json"))
    frame, attempts = fetch(client(httpserver))
    assert frame.empty and list(frame.columns) == COLUMNS["material"] and attempts == 1


def test_a_bom_before_the_body_and_the_content_is_stripped(httpserver: HTTPServer) -> None:
    httpserver.expect_request(T2A_PATH).respond_with_data(
        payload("bom_content.json").encode("utf-8")
    )
    frame, _ = fetch(client(httpserver))
    assert frame["Material"].tolist() == ["WM1-M01", "REF1-M02", "REF1-M01"]


def test_malformed_json_is_an_error_naming_org_partition_and_cause(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request(T2A_PATH).respond_with_data(payload("malformed.json"))
    with pytest.raises(T2AError) as error:
        fetch(client(httpserver))
    text = str(error.value)
    assert "SALES_ORG.json sales org SO001" in text and PARTITION in text
    assert "malformed answer" in text and "not JSON" in text
    assert error.value.transient is False


def test_http_500_twice_then_success_is_retried_by_the_client(httpserver: HTTPServer) -> None:
    calls: list[int] = []

    def flaky(request: Request) -> Response:
        calls.append(1)
        if len(calls) <= 2:
            return Response("upstream busy", status=500)
        return Response(payload("material_good.json"))

    httpserver.expect_request(T2A_PATH).respond_with_handler(flaky)
    frame, attempts = fetch(client(httpserver))
    assert len(calls) == 3 and attempts == 3 and len(frame) == 3


def test_http_500_always_fails_after_three_retries(httpserver: HTTPServer) -> None:
    httpserver.expect_request(T2A_PATH).respond_with_data("down", status=500)
    with pytest.raises(T2AError) as error:
        fetch(client(httpserver))
    assert error.value.attempts == 4 and error.value.transient  # 1 call + 3 retries
    assert len(httpserver.log) == 4
    assert "HTTP 500 after 4 attempt(s)" in str(error.value)


def test_the_api_key_never_shows_in_an_error_even_when_the_server_echoes_it(
    httpserver: HTTPServer,
) -> None:
    def echo(request: Request) -> Response:
        token = request.headers["Authorization"].split()[-1]
        echoed = {"headers": dict(request.headers), "invalid token": token, "url": request.url}
        return Response(json.dumps(echoed), status=401)

    httpserver.expect_request(T2A_PATH).respond_with_handler(echo)
    with pytest.raises(T2AError) as error:
        fetch(client(httpserver))
    text = str(error.value)
    assert "HTTP 401" in text and "Authorization" in text  # the echo is in the message...
    assert SECRET not in text and "***" in text  # ...without the key
    assert len(httpserver.log) == 1  # a refusal is not retried
