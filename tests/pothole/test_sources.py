"""Kakao and the complaints API against a local HTTP server replaying their payload shapes."""

import datetime as dt
import json
from xml.sax.saxutils import escape

import dagster as dg
import pandas as pd
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pothole_assets import schema, serving
from pothole_assets.assets import segment_address
from pothole_assets.sources import ComplaintsResource, KakaoResource, SourceError
from resources import LakeResource, WarehouseResource

ROAD = {
    "documents": [
        {
            "road_address": {"road_name": "여수산단로", "region_2depth_name": "여수시"},
            "address": {"region_3depth_name": "삼일동", "region_2depth_name": "여수시"},
        }
    ]
}
LOT_ONLY = {
    "documents": [
        {
            "road_address": None,
            "address": {"region_3depth_name": "율촌면", "region_2depth_name": "여수시"},
        }
    ]
}
GATEWAY_QUOTA = (
    "<OpenAPI_ServiceResponse><cmmMsgHeader><errMsg>SERVICE ERROR</errMsg>"
    "<returnAuthMsg>LIMITED_NUMBER_OF_SERVICE_REQUESTS_EXCEEDS_ERROR</returnAuthMsg>"
    "<returnReasonCode>22</returnReasonCode></cmmMsgHeader></OpenAPI_ServiceResponse>"
)


def _kakao(httpserver: HTTPServer) -> KakaoResource:
    return KakaoResource(api_key="test-key", base_url=httpserver.url_for("/"))


def test_kakao_road_address_then_lot_address_fallback(httpserver: HTTPServer) -> None:
    path = "/v2/local/geo/coord2address.json"
    httpserver.expect_ordered_request(
        path,
        query_string={"x": "127.600000", "y": "34.700000"},
        headers={"Authorization": "KakaoAK test-key"},
    ).respond_with_json(ROAD)
    httpserver.expect_ordered_request(path).respond_with_json(LOT_ONLY)
    httpserver.expect_ordered_request(path).respond_with_json({"documents": []})
    kakao = _kakao(httpserver)
    assert kakao.reverse_geocode(127.6, 34.7) == ("여수산단로", "여수시")
    assert kakao.reverse_geocode(127.6, 34.8) == ("율촌면", "여수시")
    assert kakao.reverse_geocode(127.6, 34.9) is None


def test_kakao_auth_error_names_the_source(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v2/local/geo/coord2address.json").respond_with_json(
        {"errorType": "AccessDeniedError", "message": "wrong appKey"}, status=401
    )
    answered = r"kakao coord2address: at \(127.600000, 34.700000\) answered HTTP 401"
    with pytest.raises(SourceError, match=answered):
        _kakao(httpserver).reverse_geocode(127.6, 34.7)


def _seed_segments(warehouse: WarehouseResource) -> None:
    warehouse.create_tables(schema.metadata)
    with warehouse.begin() as conn:
        serving.ensure_month_partitions(conn, [dt.date(2026, 2, 10)])
    frame = pd.DataFrame(
        {
            "s_id": ["L1_0000", "L1_0001"],
            "date": [dt.date(2026, 2, 10)] * 2,
            "centroid_lon": [127.6, 127.61],
            "centroid_lat": [34.7, 34.71],
            "impact_count": [3, 0],
            "total_count": [20, 20],
        }
    )
    warehouse.copy_frame(frame, "pothole_segments")


def test_segment_address_geocodes_only_new_segments(
    httpserver: HTTPServer, warehouse: WarehouseResource
) -> None:
    _seed_segments(warehouse)
    warehouse.upsert(
        pd.DataFrame({"s_id": ["L1_0001"], "road_name": ["기존로"], "district": ["순천시"]}),
        "segment_address",
        ["s_id"],
    )
    httpserver.expect_oneshot_request("/v2/local/geo/coord2address.json").respond_with_json(ROAD)
    result = dg.materialize(
        [segment_address],
        partition_key="2026-02-10",
        resources={"warehouse": warehouse, "kakao": _kakao(httpserver)},
    )
    assert result.success
    rows = warehouse.read_frame("SELECT s_id, road_name, district FROM segment_address ORDER BY 1")
    assert rows.values.tolist() == [
        ["L1_0000", "여수산단로", "여수시"],
        ["L1_0001", "기존로", "순천시"],
    ]
    httpserver.check_assertions()


def test_segment_address_is_skipped_cleanly_without_a_key(warehouse: WarehouseResource) -> None:
    _seed_segments(warehouse)
    result = dg.materialize(
        [segment_address],
        partition_key="2026-02-10",
        resources={"warehouse": warehouse, "kakao": KakaoResource()},
    )
    assert result.success
    (event,) = result.get_asset_materialization_events()
    assert event.materialization.metadata["skipped"].value is True
    assert warehouse.read_frame("SELECT COUNT(*) AS n FROM segment_address")["n"][0] == 0


def _page(items: list[dict], total: int, wrapped: bool = True) -> dict:
    body = {"items": {"item": items} if wrapped else items, "totalCount": total}
    return {
        "response": {"header": {"resultCode": "00", "resultMsg": "NORMAL SERVICE"}, "body": body}
    }


def test_complaints_page_through_15_day_chunks(httpserver: HTTPServer) -> None:
    path = "/minPotholeLatLonInfo"
    item = {"create_dt": "2026-01-03 10:00:00", "event_lat": "34.70", "event_lon": "127.60"}
    # chunk 1 (Jan 1-15): two pages of 2 rows; chunk 2 (Jan 16-20): no data; shapes vary
    httpserver.expect_ordered_request(
        path,
        query_string={
            "serviceKey": "plain-key",
            "dateFrom": "20260101",
            "dateTo": "20260115",
            "pageNo": "1",
            "numOfRows": "2",
            "type": "json",
        },
    ).respond_with_json(_page([item, {**item, "event_lat": "34.71"}], 3))
    httpserver.expect_ordered_request(path).respond_with_json(
        {
            "header": {"resultCode": "00"},
            "body": {"items": [{"item": {**item, "create_dt": "20260105"}}], "totalCount": 3},
        }
    )
    httpserver.expect_ordered_request(
        path,
        query_string={
            "serviceKey": "plain-key",
            "dateFrom": "20260116",
            "dateTo": "20260120",
            "pageNo": "1",
            "numOfRows": "2",
            "type": "json",
        },
    ).respond_with_json({"response": {"header": {"resultCode": "03", "resultMsg": "NO_DATA"}}})
    source = ComplaintsResource(service_key="plain-key", url=httpserver.url_for(path), page_size=2)
    frame = source.fetch(dt.date(2026, 1, 1), dt.date(2026, 1, 20))
    httpserver.check_assertions()
    assert len(frame) == 3
    assert frame["create_dt"].tolist() == [dt.date(2026, 1, 3)] * 2 + [dt.date(2026, 1, 5)]
    assert frame["event_lat"].tolist() == [34.70, 34.71, 34.70]


def test_complaints_gateway_quota_error_fails_with_its_name(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/minPotholeLatLonInfo").respond_with_data(
        GATEWAY_QUOTA, status=429, content_type="text/xml"
    )
    source = ComplaintsResource(service_key="k", url=httpserver.url_for("/minPotholeLatLonInfo"))
    with pytest.raises(SourceError) as error:
        source.fetch(dt.date(2026, 1, 1), dt.date(2026, 1, 2))
    message = str(error.value)
    assert "2026-01-01..2026-01-02" in message and "HTTP 429" in message
    assert "LIMITED_NUMBER_OF_SERVICE_REQUESTS_EXCEEDS_ERROR" in message


def test_encoded_service_key_is_not_encoded_twice(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/c").respond_with_json(_page([], 0))
    source = ComplaintsResource(service_key="abc%2Bdef%3D%3D", url=httpserver.url_for("/c"))
    source.fetch(dt.date(2026, 1, 1), dt.date(2026, 1, 1))
    ((request, _),) = httpserver.log
    assert "serviceKey=abc%2Bdef%3D%3D&" in request.url


def _store_one_segment(lake: LakeResource) -> None:
    """The road network: one 46 m segment L1_0000 running east from (127.6, 34.7)."""
    from pothole_assets import reference

    segments = pd.DataFrame(
        [
            {
                "s_id": "L1_0000",
                "link_id": "L1",
                "start_lon": 127.6,
                "start_lat": 34.7,
                "end_lon": 127.6005,
                "end_lat": 34.7,
            }
        ]
    )
    lake.put_bytes(reference.ROAD_SEGMENTS_KEY, segments.to_csv(index=False).encode())


def test_complaints_are_stored_once_with_the_nearest_segment_within_500_m(
    httpserver: HTTPServer, local_lake: LakeResource, warehouse: WarehouseResource
) -> None:
    from pothole_assets.assets import pothole_complaints
    from pothole_assets.sources import PotholeResource

    _store_one_segment(local_lake)
    near = {"create_dt": "2026-01-03 10:00:00", "event_lat": "34.7009", "event_lon": "127.6002"}
    far = {**near, "event_lat": "34.7060"}  # ~670 m north of the road
    httpserver.expect_request("/c").respond_with_json(_page([near, far, near], 3))
    resources = {
        "lake": local_lake,
        "warehouse": warehouse,
        "complaints": ComplaintsResource(service_key="k", url=httpserver.url_for("/c")),
        "pothole": PotholeResource(),
    }
    config = {
        "ops": {
            "pothole_complaints": {"config": {"date_from": "2026-01-01", "date_to": "2026-01-05"}}
        }
    }
    for _ in range(2):  # a second run leaves the same single row
        result = dg.materialize([pothole_complaints], resources=resources, run_config=config)
        assert result.success
    rows = warehouse.read_frame("SELECT nearest_s_id, distance_m FROM pothole_complaints")
    assert rows["nearest_s_id"].tolist() == ["L1_0000"]
    assert 95 < rows["distance_m"][0] < 105
    (event,) = result.get_asset_materialization_events()
    assert event.materialization.metadata["farther_than_max"].value == 1
    (check,) = result.get_asset_check_evaluations()
    assert check.passed


# -- credentials never leave a client: servers that echo the request back ------------------------
KAKAO_KEY = "kakao-7f3a9c1e5b2d4f6a8c0e"
SERVICE_KEY = "Dg7pQ2rX9vLm4KzW8sYt3HbN6cJf"


def _echo(status: int, pad: int = 0):
    """A handler answering `status` with the request's headers and query in its body.

    `pad` characters come first, so that an echoed key can straddle a client's cut-off.
    """

    def handler(request: Request) -> Response:
        body = "x" * pad + json.dumps(
            {"headers": dict(request.headers), "query": request.query_string.decode()}
        )
        return Response(body, status=status, content_type="application/json")

    return handler


def _leaks(text: str, secret: str) -> list[str]:
    """Every 6-character piece of `secret` found in `text` (none means nothing of it leaked)."""
    return [secret[i : i + 6] for i in range(len(secret) - 5) if secret[i : i + 6] in text]


def _run_text(instance: dg.DagsterInstance, run_id: str) -> str:
    """Everything a run recorded: log messages, step errors and metadata."""
    parts = []
    for record in instance.all_logs(run_id):
        parts.append(record.user_message)
        if record.dagster_event is not None:
            parts.append(repr(record.dagster_event.event_specific_data))
    return "\n".join(parts)


@pytest.mark.parametrize("pad", [0, 150])
def test_kakao_key_is_redacted_from_errors_logs_and_metadata(
    httpserver: HTTPServer, warehouse: WarehouseResource, pad: int
) -> None:
    httpserver.expect_request("/v2/local/geo/coord2address.json").respond_with_handler(
        _echo(401, pad)
    )
    kakao = KakaoResource(api_key=KAKAO_KEY, base_url=httpserver.url_for("/"))
    with pytest.raises(SourceError) as error:
        kakao.reverse_geocode(127.6, 34.7)
    assert _leaks(str(error.value), KAKAO_KEY) == []
    assert "answered HTTP 401" in str(error.value)
    if not pad:  # the echoed header is within the 200 characters kept, its key replaced
        assert "KakaoAK ***" in str(error.value)
    ((request, _),) = httpserver.log
    assert request.headers["Authorization"] == f"KakaoAK {KAKAO_KEY}"  # the echo did carry it

    _seed_segments(warehouse)
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [segment_address],
            partition_key="2026-02-10",
            resources={"warehouse": warehouse, "kakao": kakao},
            instance=instance,
            raise_on_error=False,
        )
        assert not result.success
        recorded = _run_text(instance, result.run_id)
    assert "segment_address 2026-02-10..2026-02-10: kakao coord2address" in recorded
    assert _leaks(recorded, KAKAO_KEY) == []
    # a refused key is not tried again: one call by the client above, one by the asset
    assert len(httpserver.log) == 2


@pytest.mark.parametrize(
    "answer",
    ["http_403", "gateway_envelope", "result_message"],
)
def test_complaints_service_key_is_redacted_from_errors_logs_and_metadata(
    httpserver: HTTPServer, local_lake: LakeResource, warehouse: WarehouseResource, answer: str
) -> None:
    from pothole_assets.assets import pothole_complaints
    from pothole_assets.sources import PotholeResource

    def echo_in_envelope(request: Request) -> Response:
        echoed = f"{request.query_string.decode()} {json.dumps(dict(request.args))}"
        if answer == "gateway_envelope":
            body = (
                "<OpenAPI_ServiceResponse><cmmMsgHeader><errMsg>SERVICE ERROR for "
                f"{escape(echoed)}</errMsg><returnAuthMsg>SERVICE_KEY_IS_NOT_REGISTERED_ERROR"
                "</returnAuthMsg><returnReasonCode>30</returnReasonCode></cmmMsgHeader>"
                "</OpenAPI_ServiceResponse>"
            )
            return Response(body, status=200, content_type="text/xml")
        header = {"resultCode": "99", "resultMsg": f"bad request {echoed}"}
        return Response(json.dumps({"response": {"header": header}}), status=200)

    path = "/minPotholeLatLonInfo"
    handler = _echo(403, pad=180) if answer == "http_403" else echo_in_envelope
    httpserver.expect_request(path).respond_with_handler(handler)
    _store_one_segment(local_lake)
    source = ComplaintsResource(service_key=SERVICE_KEY, url=httpserver.url_for(path))
    with pytest.raises(SourceError) as error:
        source.fetch(dt.date(2026, 1, 1), dt.date(2026, 1, 2))
    assert _leaks(str(error.value), SERVICE_KEY) == []
    assert "complaints API (partition 2026-01-01..2026-01-02 page 1)" in str(error.value)
    ((request, _),) = httpserver.log
    assert request.args["serviceKey"] == SERVICE_KEY  # the echo did carry it

    config = {
        "ops": {
            "pothole_complaints": {"config": {"date_from": "2026-01-01", "date_to": "2026-01-02"}}
        }
    }
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [pothole_complaints],
            resources={
                "lake": local_lake,
                "warehouse": warehouse,
                "complaints": source,
                "pothole": PotholeResource(),
            },
            run_config=config,
            instance=instance,
            raise_on_error=False,
        )
        assert not result.success
        recorded = _run_text(instance, result.run_id)
    assert "pothole_complaints 2026-01-01..2026-01-02: complaints API" in recorded
    assert _leaks(recorded, SERVICE_KEY) == []
