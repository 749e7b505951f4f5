"""KMA (기상청) client on the data.go.kr gateway, with a deterministic sample counterpart.

Shared by every domain that needs weather (energy today, inspig's weather later). The gateway's
rules (encoded keys, error envelopes, retries, redaction) are those of `resources.http_source`.

ASOS hourly observations (`AsosHourlyInfoService`) are served now; `asos_daily` and further KMA
services are added as methods on `KmaResource` calling `_call`.
"""

import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

import dagster as dg
import requests
from pydantic import Field

from resources.http_source import SourceError, gateway_error, http_get, retrying_session
from resources.kst import today_kst

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
