"""The source clients against a local HTTP server replaying recorded-shape payloads."""

import datetime as dt
from pathlib import Path

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from energy_assets.parsing import decode_csv, nambu_hourly, parse_koen_csv
from energy_assets.sources import KoenResource, KospoResource
from resources.http_source import SourceError, redact
from resources.kma import KmaResource
from resources.kst import KST, today_kst

PAYLOADS = Path(__file__).parent / "payloads"
KOSPO_PATH = "/B552520/PwrSunLightInfo/getDataService"
ENCODED_KEY = "abc%2Bdef%3D%3D"  # the "Encoding" form of the key "abc+def=="


def payload(name: str) -> str:
    return (PAYLOADS / name).read_text(encoding="utf-8")


def kospo(httpserver: HTTPServer, key: str = "plainkey") -> KospoResource:
    return KospoResource(
        service_key=key, url=httpserver.url_for(KOSPO_PATH), pause_seconds=0, backoff_seconds=0
    )


def test_kospo_item_shape_gives_interval_start_hours_and_keeps_daily_figures(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request(KOSPO_PATH).respond_with_data(
        payload("kospo_items.xml"), content_type="application/xml"
    )
    items, calls = kospo(httpserver).fetch_unit(
        "997S", 1, dt.date(2025, 6, 20), dt.date(2025, 6, 21)
    )
    assert calls == 1  # one call for the range, never one per day
    frame = nambu_hourly(items)
    day1 = frame[frame["datetime"].dt.date == dt.date(2025, 6, 20)]
    # 24 labels; label 1 is 00:00 and label 24 is 23:00 of the same day (interval start)
    assert len(day1) == 24
    assert day1["datetime"].min() == dt.datetime(2025, 6, 20, 0, tzinfo=KST)
    assert day1["datetime"].max() == dt.datetime(2025, 6, 20, 23, tzinfo=KST)
    # qhorgen12 = 512.7 covers [11:00, 12:00)
    peak = day1.loc[day1["generation"].idxmax()]
    assert peak["generation"] == 512.7 and peak["datetime"].hour == 11
    assert set(day1["daily_total"]) == {3811.5} and set(day1["daily_max"]) == {512.7}
    # day 2: qhorgen23 ([22:00, 23:00)) is empty -> that hour is absent (23 rows), not a 0
    day2 = frame[frame["datetime"].dt.date == dt.date(2025, 6, 21)]
    assert len(day2) == 23 and 22 not in set(day2["datetime"].dt.hour)
    # the missing ipptnm takes the registry name of 997S/1
    assert set(day2["plant_name"]) == {"신인천북측부지태양광"}


def test_kospo_flat_shape(httpserver: HTTPServer) -> None:
    httpserver.expect_request(KOSPO_PATH).respond_with_data(payload("kospo_flat.xml"))
    items, _ = kospo(httpserver).fetch_unit("9987", 1, dt.date(2025, 12, 31), dt.date(2025, 12, 31))
    frame = nambu_hourly(items)
    assert len(frame) == 24 and frame["generation"].sum() == 825


def test_kospo_result_code_other_than_800_raises_with_plant_and_partition(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request(KOSPO_PATH).respond_with_data(payload("kospo_error.xml"))
    with pytest.raises(SourceError) as err:
        kospo(httpserver).fetch_unit(
            "997S", 1, dt.date(2025, 6, 20), dt.date(2025, 6, 20), partition="2025-06-20"
        )
    text = str(err.value)
    assert "kospo" in text and "2025-06-20" in text and "997S/1" in text
    assert "resultCode 300" in text


@pytest.mark.parametrize(
    ("name", "status", "expected"),
    [
        ("gateway_quota.xml", 429, "LIMITED_NUMBER_OF_SERVICE_REQUESTS_EXCEEDS_ERROR"),
        ("gateway_unregistered.xml", 200, "SERVICE_KEY_IS_NOT_REGISTERED_ERROR"),
    ],
)
def test_gateway_envelopes_raise_and_never_show_the_key(
    httpserver: HTTPServer, name: str, status: int, expected: str
) -> None:
    httpserver.expect_request(KOSPO_PATH).respond_with_data(payload(name), status=status)
    with pytest.raises(SourceError) as err:
        kospo(httpserver, key="secret-key-123").fetch_unit(
            "997S", 1, dt.date(2025, 6, 20), dt.date(2025, 6, 20)
        )
    assert expected in str(err.value)
    assert "secret-key-123" not in str(err.value)
    assert len(httpserver.log) == 1  # a quota error is not retried
    assert not err.value.transient  # and the step is not retried either


def test_encoded_key_is_sent_once_encoded_and_a_plain_key_is_encoded_once(
    httpserver: HTTPServer,
) -> None:
    seen: list[bytes] = []

    def record(request: Request) -> Response:
        seen.append(request.query_string)
        return Response(payload("kospo_flat.xml"))

    httpserver.expect_request(KOSPO_PATH).respond_with_handler(record)
    day = dt.date(2025, 12, 31)
    kospo(httpserver, key=ENCODED_KEY).fetch_unit("9987", 1, day, day)
    kospo(httpserver, key="abc+def==").fetch_unit("9987", 1, day, day)
    # both reach the server as the same single encoding; never %252B (encoded twice)
    assert all(b"serviceKey=abc%2Bdef%3D%3D" in q for q in seen), seen
    assert not any(b"%25" in q for q in seen)


def test_a_500_is_retried_and_then_succeeds(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request(KOSPO_PATH).respond_with_data("busy", status=500)
    httpserver.expect_ordered_request(KOSPO_PATH).respond_with_data(payload("kospo_flat.xml"))
    items, _ = kospo(httpserver).fetch_unit("9987", 1, dt.date(2025, 12, 31), dt.date(2025, 12, 31))
    assert len(items) == 1 and len(httpserver.log) == 2


def test_an_error_that_stays_raises_never_empty_data(httpserver: HTTPServer) -> None:
    httpserver.expect_request(KOSPO_PATH).respond_with_data("down", status=503)
    client = kospo(httpserver).model_copy(update={"retries": 2})
    with pytest.raises(SourceError, match="HTTP 503") as err:
        client.fetch_unit("9987", 1, dt.date(2025, 12, 31), dt.date(2025, 12, 31))
    assert len(httpserver.log) == 3  # the call and two retries
    assert err.value.transient  # worth a step retry later


def test_an_unreachable_source_is_transient() -> None:
    client = KospoResource(
        service_key="k", url="http://127.0.0.1:9/kospo", retries=0, pause_seconds=0
    )
    with pytest.raises(SourceError, match="unreachable") as err:
        client.fetch_unit("9987", 1, dt.date(2025, 12, 31), dt.date(2025, 12, 31))
    assert err.value.transient


def test_a_day_that_answers_only_with_next_day_end_date(httpserver: HTTPServer) -> None:
    def answer(request: Request) -> Response:
        # the server knows 2025-12-31 only when asked up to 2026-01-01
        if request.args["strEdate"] == "20260101":
            return Response(payload("kospo_flat.xml"))
        return Response(payload("kospo_empty.xml"))

    httpserver.expect_request(KOSPO_PATH).respond_with_handler(answer)
    items, calls = kospo(httpserver).fetch_unit(
        "9987", 1, dt.date(2025, 12, 31), dt.date(2025, 12, 31)
    )
    assert [i["ymd"] for i in items] == ["2025-12-31"] and calls == 2


def test_kospo_pages_by_total_count(httpserver: HTTPServer) -> None:
    day = dt.date(2025, 6, 20)

    def page(request: Request) -> Response:
        n = int(request.args["pageNo"])
        text = payload("kospo_flat.xml").replace(
            "2025-12-31", (day + dt.timedelta(n - 1)).isoformat()
        )
        return Response(text.replace("<totalCnt>1</totalCnt>", "<totalCnt>3</totalCnt>"))

    httpserver.expect_request(KOSPO_PATH).respond_with_handler(page)
    client = kospo(httpserver).model_copy(update={"page_size": 1})
    items, calls = client.fetch_unit("9987", 1, day, day + dt.timedelta(days=2))
    assert calls == 3 and len(items) == 3


# -- KMA --------------------------------------------------------------------------------------
def kma(httpserver: HTTPServer, key: str = "kmakey") -> KmaResource:
    return KmaResource(service_key=key, base_url=httpserver.url_for("/1360000"), backoff_seconds=0)


def test_kma_asos_rows_and_blank_values(httpserver: HTTPServer) -> None:
    path = "/1360000/AsosHourlyInfoService/getWthrDataList"
    httpserver.expect_request(path).respond_with_data(payload("asos_hourly.json"))
    rows = kma(httpserver).asos_hourly(108, dt.date(2025, 11, 1), dt.date(2025, 11, 1))
    assert [r["tm"] for r in rows] == ["2025-11-01 00:00", "2025-11-01 01:00", "2025-11-01 12:00"]
    assert rows[1]["ta"] == "" and rows[2]["icsr"] == "1.85"
    args = httpserver.log[0][0].args
    assert (args["dataType"], args["dateCd"], args["stnIds"]) == ("JSON", "HR", "108")


def test_kma_xml_error_where_json_was_asked(httpserver: HTTPServer) -> None:
    path = "/1360000/AsosHourlyInfoService/getWthrDataList"
    httpserver.expect_request(path).respond_with_data(payload("gateway_quota.xml"))
    with pytest.raises(SourceError, match="LIMITED_NUMBER"):
        kma(httpserver).asos_hourly(108, dt.date(2025, 11, 1), dt.date(2025, 11, 1), partition="p")


def test_kma_result_code_other_than_00_raises(httpserver: HTTPServer) -> None:
    path = "/1360000/AsosHourlyInfoService/getWthrDataList"
    httpserver.expect_request(path).respond_with_data(payload("asos_result99.json"))
    with pytest.raises(SourceError, match="resultCode 99"):
        kma(httpserver).asos_hourly(108, dt.date(2025, 11, 1), dt.date(2025, 11, 1))


def test_kma_end_date_is_clamped_to_yesterday(httpserver: HTTPServer) -> None:
    path = "/1360000/AsosHourlyInfoService/getWthrDataList"
    httpserver.expect_request(path).respond_with_data(payload("asos_hourly.json"))
    kma(httpserver).asos_hourly(108, today_kst() - dt.timedelta(days=3), today_kst())
    yesterday = today_kst() - dt.timedelta(days=1)
    assert httpserver.log[0][0].args["endDt"] == yesterday.strftime("%Y%m%d")


def test_redact_removes_keys_passwords_and_auth_headers() -> None:
    text = (
        "GET https://x/api?serviceKey=abc%2Bdef&pageNo=1 failed; db postgresql://u:pw@h/db; "
        "headers {'Authorization': 'KakaoAK 1234567890'}"
    )
    out = redact(text, ["abc+def"])
    assert "abc%2Bdef" not in out and ":pw@" not in out and "1234567890" not in out
    assert "pageNo=1" in out


# -- KOEN -------------------------------------------------------------------------------------
def koen(httpserver: HTTPServer) -> KoenResource:
    return KoenResource(base_url=httpserver.url_for("/nfdt21"), sleep_seconds=0, backoff_seconds=0)


def test_koen_gets_a_cookie_then_posts_the_form_a_month_at_a_time(httpserver: HTTPServer) -> None:
    csv = (PAYLOADS / "koen_cp949.csv").read_bytes()

    def main(request: Request) -> Response:
        response = Response("<html>main</html>", content_type="text/html")
        response.set_cookie("JSESSIONID", "s1")
        return response

    def download(request: Request) -> Response:
        assert request.cookies.get("JSESSIONID") == "s1"
        assert request.form["ptSignature"] == "" and request.form["menuCd"] == "FN0912020217"
        assert request.headers["Referer"].endswith("/nfdt21/main.do")
        return Response(csv, content_type="application/csv")

    httpserver.expect_request("/nfdt21/main.do").respond_with_handler(main)
    httpserver.expect_request("/nfdt21/csvDown.do", method="POST").respond_with_handler(download)
    pauses: list[float] = []
    files = (
        koen(httpserver)
        .model_copy(update={"sleep_seconds": 5.0})
        .download(dt.date(2025, 5, 20), dt.date(2025, 6, 10), sleep=pauses.append)
    )
    posts = [r for r, _ in httpserver.log if r.method == "POST"]
    assert [(p.form["strDateS"], p.form["strDateE"]) for p in posts] == [
        ("20250520", "20250531"),
        ("20250601", "20250610"),
    ]
    assert pauses == [5.0]  # one pause between the two months
    assert [name for name, _ in files] == [
        "south_pv_전체_20250520-20250531.csv",
        "south_pv_전체_20250601-20250610.csv",
    ]


def test_koen_html_error_page_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/nfdt21/main.do").respond_with_data("ok")
    httpserver.expect_request("/nfdt21/csvDown.do").respond_with_data(
        payload("koen_error.html"), content_type="text/html;charset=UTF-8"
    )
    with pytest.raises(SourceError, match="HTML page instead of CSV") as err:
        koen(httpserver).download(dt.date(2025, 6, 1), dt.date(2025, 6, 30), partition="2025-06-01")
    assert not err.value.transient


def test_cp949_file_is_read_with_korean_names() -> None:
    wide, encoding = parse_koen_csv((PAYLOADS / "koen_cp949.csv").read_bytes())
    assert encoding == "cp949"
    assert "영흥태양광 #3" in set(wide["plant"]) and "탑선태양광" in set(wide["plant"])
    assert set(wide["day"]) == {dt.date(2025, 6, 1), dt.date(2025, 6, 2)}


def test_mojibake_file_is_refused() -> None:
    with pytest.raises(ValueError, match="U\\+FFFD"):
        decode_csv((PAYLOADS / "koen_mojibake.csv").read_bytes())


def _ca(name: str, issuer: tuple | None = None, ca: bool = True) -> tuple:
    """(certificate, key) named `name`, signed by `issuer` (itself when None)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    signer_cert, signer_key = issuer if issuer else (None, key)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(signer_cert.subject if signer_cert else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        import ipaddress

        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(signer_key, hashes.SHA256()), key


def test_koen_completes_the_chain_the_site_omits(httpserver: HTTPServer, tmp_path: Path) -> None:
    # koenergy.kr sends its certificate without the intermediate: this server does the same.
    import ssl

    from cryptography.hazmat.primitives import serialization

    root = _ca("test root")
    intermediate = _ca("test intermediate", issuer=root)
    leaf = _ca("127.0.0.1", issuer=intermediate, ca=False)
    pem = serialization.Encoding.PEM
    (tmp_path / "root.pem").write_bytes(root[0].public_bytes(pem))
    (tmp_path / "leaf.pem").write_bytes(leaf[0].public_bytes(pem))
    (tmp_path / "leaf.key").write_bytes(
        leaf[1].private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(tmp_path / "leaf.pem", tmp_path / "leaf.key")
    site = HTTPServer(host="127.0.0.1", port=0, ssl_context=tls)
    site.start()
    try:
        site.expect_request("/nfdt21/main.do").respond_with_data("ok")
        site.expect_request("/nfdt21/csvDown.do").respond_with_data(
            (PAYLOADS / "koen_cp949.csv").read_bytes(),
            content_type="application/octet-stream",
        )
        # the AIA URL serves the intermediate as DER over plain HTTP, as the real one does
        httpserver.expect_request("/crt/intermediate.cer").respond_with_data(
            intermediate[0].public_bytes(serialization.Encoding.DER)
        )
        common = {
            "base_url": site.url_for("/nfdt21"),
            "ca_file": str(tmp_path / "root.pem"),
            "sleep_seconds": 0,
            "retries": 0,
        }
        day = dt.date(2025, 5, 1)
        without = KoenResource(
            **common, intermediate_cert_url=None, raw_dir=str(tmp_path / "a/raw")
        )
        with pytest.raises(SourceError) as refused:
            without.download_month(requests.Session(), day, day, "2025-05-01")
        assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value)

        koen = KoenResource(
            **common,
            intermediate_cert_url=httpserver.url_for("/crt/intermediate.cer"),
            raw_dir=str(tmp_path / "b/raw"),
        )
        body = koen.download_month(requests.Session(), day, day, "2025-05-01")
        assert body == (PAYLOADS / "koen_cp949.csv").read_bytes()
        assert (tmp_path / "b" / "koen-ca-bundle.pem").exists()  # built once, then reused
    finally:
        site.stop()
