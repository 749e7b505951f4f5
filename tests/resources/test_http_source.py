"""The shared data.go.kr client quotes an answer only after the request's key is out of it."""

import datetime as dt

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from resources.http_source import SourceError, http_get, retrying_session
from resources.kma import KmaResource

KEY = "Zx81Qw7mPq0LrT5vBn3c"


def _pieces(secret: str, size: int = 6) -> list[str]:
    return [secret[i : i + size] for i in range(len(secret) - size + 1)]


def _echo_key_at(offset: int, body: str):
    """An answer that quotes the request's key, bare, `offset` characters into `body`."""

    def handler(request: Request) -> Response:
        key = request.args.get("serviceKey", "")
        return Response(body[:offset] + key + body[offset:], status=200)

    return handler


@pytest.mark.parametrize("offset", [100, 110, 115])
def test_an_unreadable_gateway_envelope_never_quotes_part_of_the_key(
    httpserver: HTTPServer, offset: int
) -> None:
    # Broken XML (no closing tags) that still names the gateway header: its excerpt is clipped.
    body = "<OpenAPI_ServiceResponse><cmmMsgHeader><errMsg>" + "x" * 200
    httpserver.expect_request("/op").respond_with_handler(_echo_key_at(offset, body))
    with pytest.raises(SourceError) as failure:
        http_get(retrying_session(retries=0), "test", httpserver.url_for("/op"), KEY, {}, 5)
    message = str(failure.value)
    assert "unreadable gateway envelope" in message
    assert not [piece for piece in _pieces(KEY) if piece in message], message


def test_a_kma_answer_that_is_not_json_never_quotes_part_of_the_key(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/AsosDalyInfoService/getWthrDataList").respond_with_handler(
        _echo_key_at(110, "upstream said: " + "y" * 200)
    )
    kma = KmaResource(service_key=KEY, base_url=httpserver.url_for("/"))
    day = dt.date(2026, 3, 1)
    with pytest.raises(SourceError) as failure:
        kma.asos_daily(KEY, 108, day, day, session=retrying_session(retries=0))
    message = str(failure.value)
    assert "not JSON" in message
    assert not [piece for piece in _pieces(KEY) if piece in message], message
