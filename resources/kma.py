"""KMA (기상청) client on the data.go.kr gateway, with a deterministic sample counterpart.

Shared by every domain that needs weather (energy today, inspig's weather later). It also holds
the data.go.kr gateway rules that every client of that gateway follows:

- `serviceKey`: a key containing `%` is the "Encoding" form and goes into a query string built by
  hand (never encoded twice); any other key is passed through the HTTP library's params.
- gateway errors arrive as an XML `OpenAPI_ServiceResponse/cmmMsgHeader` envelope, often even when
  JSON was asked for and sometimes with HTTP 403/429: detected before any JSON parsing.
- credentials are redacted from every error text (`redact`).
- transient failures (connection errors, HTTP 5xx) are retried per call by urllib3's `Retry` with
  exponential backoff and jitter; an error that stays raises `SourceError`, never empty data.
  `SourceError.transient` says whether another try later may succeed (the connection, a 5xx, the
  gateway's APPLICATION/UNKNOWN errors) or not (auth, unregistered key or IP, quota, bad request,
  a malformed payload): callers fail fast on the latter instead of retrying the step.

ASOS hourly observations (`AsosHourlyInfoService`) are served now; `asos_daily` and further KMA
services are added as methods on `KmaResource` calling `_call`.
"""

import datetime as dt
import hashlib
import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

import dagster as dg
import requests
from pydantic import Field
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from resources.kst import today_kst

GATEWAY_CODES = {
    "1": "APPLICATION_ERROR",
    "10": "INVALID_REQUEST_PARAMETER_ERROR",
    "12": "NO_OPENAPI_SERVICE_ERROR",
    "20": "SERVICE_ACCESS_DENIED_ERROR",
    "22": "LIMITED_NUMBER_OF_SERVICE_REQUESTS_EXCEEDS_ERROR",
    "30": "SERVICE_KEY_IS_NOT_REGISTERED_ERROR",
    "31": "DEADLINE_HAS_EXPIRED_ERROR",
    "32": "UNREGISTERED_IP_ERROR",
    "99": "UNKNOWN_ERROR",
}
# HTTP answers worth another try: the server or a proxy failed for a moment. A quota error (HTTP
# 429 or the gateway's code 22) is a daily limit and is not retried.
RETRY_STATUSES = (500, 502, 503, 504)
# Gateway envelopes that a later try may not repeat (the gateway's own failure); every other
# code (key, IP, quota, parameters, service) stays until a person acts.
TRANSIENT_GATEWAY_ERRORS = ("APPLICATION_ERROR", "UNKNOWN_ERROR")
# KMA service resultCodes of a failure on the service side: 01 APPLICATION_ERROR, 02 DB_ERROR,
# 04 HTTP_ERROR, 05 SERVICETIME_OUT. Others (10 parameters, 99 "data up to yesterday" …) stay.
TRANSIENT_KMA_CODES = ("01", "02", "04", "05")

# The 43 ASOS stations of the energy collection (station_list.csv kept failing to read).
ASOS_STATIONS = (
    90, 93, 95, 98, 99, 100, 101, 104, 105, 106, 108, 112, 114, 119, 121, 127, 129, 130, 131,
    133, 135, 136, 137, 138, 140, 143, 146, 152, 155, 156, 159, 162, 165, 168, 170, 172, 174,
    177, 192, 201, 202, 203, 211,
)  # fmt: skip
STATION_NAMES = {
    90: "속초", 93: "북춘천", 95: "철원", 98: "동두천", 99: "파주", 100: "대관령", 101: "춘천",
    104: "북강릉", 105: "강릉", 106: "동해", 108: "서울", 112: "인천", 114: "원주", 119: "수원",
    121: "영월", 127: "충주", 129: "서산", 130: "울진", 131: "청주", 133: "대전", 135: "추풍령",
    136: "안동", 137: "상주", 138: "포항", 140: "군산", 143: "대구", 146: "전주", 152: "울산",
    155: "창원", 156: "광주", 159: "부산", 162: "통영", 165: "목포", 168: "여수", 170: "완도",
    172: "고창", 174: "순천", 177: "홍성", 192: "진주", 201: "강화", 202: "양평", 203: "이천",
    211: "인제",
}  # fmt: skip


class SourceError(RuntimeError):
    """An external source is unusable; the message names source, partition, plant and cause.

    `transient` is True when a later try may succeed (connection errors, 5xx that outlived the
    per-call retries); a permanent error (auth, quota, malformed payload…) is False.
    """

    def __init__(
        self,
        source: str,
        cause: str,
        *,
        partition: str | None = None,
        plant: str | None = None,
        secrets: Iterable[str | None] = (),
        transient: bool = False,
    ) -> None:
        self.source = source
        self.transient = transient
        self.partition = partition
        self.plant = plant
        self.cause = redact(cause, secrets)
        where = ", ".join(
            part
            for part in (
                f"partition {partition}" if partition else "",
                f"plant {plant}" if plant else "",
            )
            if part
        )
        super().__init__(f"{source}{f' ({where})' if where else ''}: {self.cause}")


_KEY_IN_QUERY = re.compile(r"(?i)(service_?key|api_?key|authkey|password|passwd)=([^&\s'\"]+)")
_PASSWORD_IN_URL = re.compile(r"(?i)([a-z][a-z0-9+.-]*://[^:/@\s]+):([^@/\s]+)@")
_AUTH_HEADER = re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(\w+\s+)?[^'\",}\s]+")


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` without credentials: key parameters, URL passwords, auth headers, known secrets."""
    out = _KEY_IN_QUERY.sub(lambda m: f"{m.group(1)}=***", text)
    out = _PASSWORD_IN_URL.sub(lambda m: f"{m.group(1)}:***@", out)
    out = _AUTH_HEADER.sub(lambda m: f"{m.group(1)}{m.group(2) or ''}***", out)
    for secret in secrets:
        if secret and len(secret) >= 4:
            for form in {secret, quote(secret, safe=""), quote(secret)}:
                out = out.replace(form, "***")
    return out


def retrying_session(
    retries: int = 4, backoff: float = 0.5, jitter: float = 0.5, user_agent: str | None = None
) -> requests.Session:
    """A requests session whose every call retries transient failures (urllib3 `Retry`).

    Waits grow exponentially from `backoff` seconds, each with up to `jitter` seconds added at
    random; POST is retried too (the sources' POSTs are downloads without side effects).
    """
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff,
        backoff_jitter=jitter,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=None,
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_maxsize=16)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if user_agent:
        session.headers["User-Agent"] = user_agent
    return session


def keyed_url(url: str, key: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """(URL, params) for a data.go.kr call; an encoded key (with `%`) is never encoded again."""
    if "%" in key:
        return f"{url}?serviceKey={key}&{urlencode(params)}", None
    return url, {"serviceKey": key, **params}


def gateway_error(text: str) -> str | None:
    """The gateway's error (code, name, messages) when `text` is its XML envelope, else None."""
    stripped = text.lstrip().lstrip("\ufeff")
    if not stripped.startswith("<") or "cmmMsgHeader" not in stripped[:2000]:
        return None
    try:
        root = ET.fromstring(stripped)
    except ET.ParseError:
        return f"unreadable gateway envelope: {stripped[:120]}"
    header = root.find(".//cmmMsgHeader")
    if header is None:  # pragma: no cover - guarded by the substring test above
        return None
    code = (header.findtext("returnReasonCode") or "").strip()
    messages = [(header.findtext(tag) or "").strip() for tag in ("errMsg", "returnAuthMsg")]
    name = GATEWAY_CODES.get(code, code)
    for known in GATEWAY_CODES.values():  # the code may be the name itself, or only in the texts
        if any(known in m for m in (*messages, code)):
            name = known
            break
    detail = " / ".join(m for m in messages if m)
    return f"gateway error {code} {name}" + (f": {detail}" if detail else "")


def transient_status(status: int) -> bool:
    """Whether an HTTP error may pass by itself (5xx, 408), not a refusal (401, 403, 429…)."""
    return status >= 500 or status == 408


def http_get(
    session: requests.Session,
    source: str,
    url: str,
    key: str,
    params: Mapping[str, Any],
    timeout: float,
    *,
    partition: str | None = None,
    plant: str | None = None,
) -> str:
    """GET a data.go.kr operation; the body text, or `SourceError` (gateway envelope, HTTP)."""
    full_url, query = keyed_url(url, key, params)
    try:
        response = session.get(full_url, params=query, timeout=timeout)
    except requests.RequestException as exc:
        raise SourceError(
            source,
            f"unreachable: {exc}",
            partition=partition,
            plant=plant,
            secrets=[key],
            transient=True,
        ) from None
    text = response.text
    envelope = gateway_error(text)
    if envelope:
        raise SourceError(
            source,
            f"HTTP {response.status_code}, {envelope}",
            partition=partition,
            plant=plant,
            secrets=[key],
            transient=any(name in envelope for name in TRANSIENT_GATEWAY_ERRORS),
        )
    if response.status_code >= 400:
        raise SourceError(
            source,
            f"HTTP {response.status_code}: {text[:200]}",
            partition=partition,
            plant=plant,
            secrets=[key],
            transient=transient_status(response.status_code),
        )
    return text


# -- sample weather -----------------------------------------------------------------------------
def _unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from `parts` (a seeded draw that needs no RNG state)."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def sky_clearness(day: dt.date) -> float:
    """The sample weather's clearness of `day` over Korea (0.25 overcast … 1.0 clear).

    The KOSPO/KOEN sample sources use the same value, so sample generation follows sample weather.
    """
    draw = _unit("sky", day.isoformat())
    return 0.25 + 0.75 * draw**0.6


def day_length_hours(day: dt.date) -> float:
    """Hours of daylight around latitude 36°N (9.6 h in December, 14.6 h in June)."""
    doy = day.timetuple().tm_yday
    return 12.1 + 2.5 * math.sin(2 * math.pi * (doy - 80) / 365.25)


def sample_asos_rows(station: int, day: dt.date) -> list[dict[str, str]]:
    """A day of hourly ASOS items for `station` as the API returns them (every value a string).

    Temperature follows season and time of day, radiation is zero at night and scales with the
    day's clearness, and a few items are blank (`""`) or absent, as in the real feed.
    """
    doy = day.timetuple().tm_yday
    clear = sky_clearness(day)
    base = 13.0 - 14.0 * math.cos(2 * math.pi * (doy - 15) / 365.25) - (station % 7) * 0.3
    length = day_length_hours(day)
    rise = 12.0 - length / 2
    peak_mj = (1.6 + 1.6 * math.sin(2 * math.pi * (doy - 80) / 365.25) + 1.2) * clear
    has_pyranometer = station % 3 != 0
    gap = _unit("gap", station, day.isoformat())
    gap_start, gap_len = int(_unit("gapat", station, day.isoformat()) * 20), 1 + int(gap * 40) % 5
    absent_hour = int(_unit("absent", station, day.isoformat()) * 24)
    rows = []
    for hour in range(24):
        if gap > 0.97 and hour == absent_hour:
            continue  # a missing row, not only a blank cell
        ta = (
            base
            + 4.5 * math.sin(2 * math.pi * (hour - 9) / 24)
            + 2 * (_unit(station, day, hour) - 0.5)
        )
        hm = (
            70
            - 20 * clear * math.sin(math.pi * max(0.0, hour - rise) / length)
            + 5 * _unit("hm", station, day, hour)
        )
        # icsr at tm=H is the radiation of the hour ending at H.
        mid = hour - 0.5
        elevation = math.sin(math.pi * (mid - rise) / length) if rise < mid < rise + length else 0.0
        icsr = peak_mj * elevation**1.3 * (0.85 + 0.3 * _unit("cloud", station, day, hour))
        blank = gap > 0.85 and gap_start <= hour < gap_start + gap_len
        rows.append(
            {
                "tm": f"{day.isoformat()} {hour:02d}:00",
                "stnId": str(station),
                "stnNm": STATION_NAMES.get(station, str(station)),
                "ta": "" if blank else f"{ta:.1f}",
                "hm": "" if blank else f"{min(100.0, max(5.0, hm)):.0f}",
                "icsr": f"{icsr:.2f}" if has_pyranometer and icsr > 0.005 and not blank else "",
            }
        )
    return rows


# -- the resource -------------------------------------------------------------------------------
class KmaResource(dg.ConfigurableResource):
    """KMA observations on data.go.kr; without a key, the deterministic sample (local) or off."""

    service_key: str | None = Field(default=None, description="data.go.kr service key (secret)")
    base_url: str = "https://apis.data.go.kr/1360000"
    use_sample: bool = Field(default=False, description="Without a key, serve sample weather")
    timeout_seconds: float = 30.0
    retries: int = 4
    backoff_seconds: float = 0.5

    @property
    def source(self) -> str:
        """'kma', 'sample' or 'off'."""
        if self.service_key:
            return "kma"
        return "sample" if self.use_sample else "off"

    def session(self) -> requests.Session:
        """A retrying session for a batch of calls."""
        return retrying_session(self.retries, self.backoff_seconds)

    def _call(
        self,
        session: requests.Session,
        operation: str,
        params: Mapping[str, Any],
        *,
        partition: str | None = None,
        plant: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every item of a paged JSON operation (`<service>/<operation>`), all pages."""
        key = self.service_key or ""
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            text = http_get(
                session,
                "kma",
                f"{self.base_url.rstrip('/')}/{operation}",
                key,
                {**params, "pageNo": page, "numOfRows": 999, "dataType": "JSON"},
                self.timeout_seconds,
                partition=partition,
                plant=plant,
            )
            page_items, total = parse_kma_page(text, partition=partition, plant=plant)
            items.extend(page_items)
            if not page_items or page * 999 >= total:
                return items
            page += 1

    def asos_hourly(
        self,
        station: int,
        first: dt.date,
        last: dt.date,
        session: requests.Session | None = None,
        partition: str | None = None,
    ) -> list[dict[str, Any]]:
        """Hourly ASOS items of `station` from `first` 00:00 to `last` 23:00 (clamped to yesterday).

        KMA serves data up to yesterday only: a later end date would answer resultCode 99.
        """
        last = min(last, today_kst() - dt.timedelta(days=1))
        if last < first:
            return []
        if self.source == "sample":
            return [row for day in _days(first, last) for row in sample_asos_rows(station, day)]
        if self.source == "off":
            raise SourceError("kma", "no service key configured", partition=partition)
        return self._call(
            session or self.session(),
            "AsosHourlyInfoService/getWthrDataList",
            {
                "dataCd": "ASOS",
                "dateCd": "HR",
                "startDt": first.strftime("%Y%m%d"),
                "startHh": "00",
                "endDt": last.strftime("%Y%m%d"),
                "endHh": "23",
                "stnIds": station,
            },
            partition=partition,
            plant=f"station {station}",
        )


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def parse_kma_page(
    text: str, *, partition: str | None = None, plant: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    """(items, totalCount) of one JSON page; resultCode 03 (NO_DATA) is an empty page.

    Any other code than 00, an XML answer where JSON was asked for, or malformed JSON raises.
    """
    envelope = gateway_error(text)
    if envelope:
        raise SourceError("kma", envelope, partition=partition, plant=plant)
    try:
        payload = json.loads(text)
    except ValueError:
        raise SourceError(
            "kma", f"not JSON: {text.strip()[:120]}", partition=partition, plant=plant
        ) from None
    response = payload.get("response", payload) if isinstance(payload, dict) else {}
    header = response.get("header") or {}
    code = str(header.get("resultCode", "")).strip()
    if code == "03":
        return [], 0
    if code != "00":
        raise SourceError(
            "kma",
            f"resultCode {code or '(none)'}: {header.get('resultMsg', '')}",
            partition=partition,
            plant=plant,
            transient=code in TRANSIENT_KMA_CODES,
        )
    body = response.get("body") or {}
    items = (body.get("items") or {}) if isinstance(body, dict) else {}
    rows = items.get("item", []) if isinstance(items, dict) else items
    if isinstance(rows, dict):
        rows = [rows]
    return list(rows or []), int(body.get("totalCount") or 0)
