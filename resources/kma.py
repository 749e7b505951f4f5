"""KMA (기상청) client on the data.go.kr gateway, with a deterministic sample counterpart.

Shared by every domain that needs weather: energy reads ASOS hourly observations, inspig the
short-term forecast, the nowcast, the mid-term forecast and ASOS daily observations. The gateway's
rules (encoded keys, error envelopes, retries, redaction) are those of `resources.http_source`.

Besides the operations (methods of `KmaResource`), this module holds the rules every KMA client
needs: the lat/lon → forecast grid conversion (`latlon_to_grid`), the haversine distance, when
each operation's data is available (`forecast_base`, `nowcast_base`, `midterm_tmfc`,
`last_asos_day`), and a pool of service keys that moves to the next key when one is refused
(`KeyPool`).
"""

import datetime as dt
import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import dagster as dg
import requests
from pydantic import Field

from resources.http_source import (
    GATEWAY_CODES,
    SourceError,
    gateway_error,
    http_get,
    redact,
    retrying_session,
)
from resources.kst import as_kst, today_kst

T = TypeVar("T")

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
        key: str | None = None,
        page_size: int = 999,
    ) -> list[dict[str, Any]]:
        """Every item of a paged JSON operation (`<service>/<operation>`), all pages.

        `key` (a key of a `KeyPool`) replaces the resource's own service key.
        """
        key = key or self.service_key or ""
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            text = http_get(
                session,
                "kma",
                f"{self.base_url.rstrip('/')}/{operation}",
                key,
                {**params, "pageNo": page, "numOfRows": page_size, "dataType": "JSON"},
                self.timeout_seconds,
                partition=partition,
                plant=plant,
            )
            page_items, total = parse_kma_page(
                text, partition=partition, plant=plant, secrets=[key]
            )
            items.extend(page_items)
            if not page_items or page * page_size >= total:
                return items
            page += 1

    def vilage_fcst(
        self, key: str, nx: int, ny: int, base: tuple[str, str], session: requests.Session
    ) -> list[dict[str, Any]]:
        """Short-term forecast items (`getVilageFcst`) of grid (nx, ny) issued at (date, HHMM)."""
        return self._call(
            session,
            "VilageFcstInfoService_2.0/getVilageFcst",
            {"base_date": base[0], "base_time": base[1], "nx": nx, "ny": ny},
            plant=f"grid {nx},{ny}",
            key=key,
            page_size=1000,
        )

    def ultra_srt_ncst(
        self, key: str, nx: int, ny: int, base: tuple[str, str], session: requests.Session
    ) -> list[dict[str, Any]]:
        """Nowcast items (`getUltraSrtNcst`) of grid (nx, ny) observed at base (date, HH00)."""
        return self._call(
            session,
            "VilageFcstInfoService_2.0/getUltraSrtNcst",
            {"base_date": base[0], "base_time": base[1], "nx": nx, "ny": ny},
            plant=f"grid {nx},{ny}",
            key=key,
        )

    def mid_ta(
        self, key: str, reg_id: str, tm_fc: str, session: requests.Session
    ) -> list[dict[str, Any]]:
        """Mid-term temperature items (`getMidTa`: taMin3…taMax10) of a city region."""
        return self._call(
            session,
            "MidFcstInfoService/getMidTa",
            {"regId": reg_id, "tmFc": tm_fc},
            plant=f"region {reg_id}",
            key=key,
        )

    def mid_land_fcst(
        self, key: str, reg_id: str, tm_fc: str, session: requests.Session
    ) -> list[dict[str, Any]]:
        """Mid-term land items (`getMidLandFcst`: rnSt3Am…rnSt10, wf3Am…wf10) of a land region."""
        return self._call(
            session,
            "MidFcstInfoService/getMidLandFcst",
            {"regId": reg_id, "tmFc": tm_fc},
            plant=f"region {reg_id}",
            key=key,
        )

    def asos_daily(
        self,
        key: str,
        station: int,
        first: dt.date,
        last: dt.date,
        session: requests.Session,
    ) -> list[dict[str, Any]]:
        """Daily ASOS items of `station` (`AsosDalyInfoService`), `last` clamped to yesterday."""
        last = min(last, last_asos_day(today_kst()))
        if last < first:
            return []
        return self._call(
            session,
            "AsosDalyInfoService/getWthrDataList",
            {
                "dataCd": "ASOS",
                "dateCd": "DAY",
                "startDt": first.strftime("%Y%m%d"),
                "endDt": last.strftime("%Y%m%d"),
                "stnIds": station,
            },
            plant=f"station {station}",
            key=key,
        )

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
    text: str,
    *,
    partition: str | None = None,
    plant: str | None = None,
    secrets: Sequence[str | None] = (),
) -> tuple[list[dict[str, Any]], int]:
    """(items, totalCount) of one JSON page; resultCode 03 (NO_DATA) is an empty page.

    Any other code than 00, an XML answer where JSON was asked for, or malformed JSON raises,
    quoting the answer only after the request's `secrets` are redacted from it.
    """
    envelope = gateway_error(text, secrets)
    if envelope:
        raise KmaResultError("kma", envelope, partition=partition, plant=plant, secrets=secrets)
    try:
        payload = json.loads(text)
    except ValueError:
        raise SourceError(
            "kma",
            f"not JSON: {redact(text.strip(), secrets)[:120]}",
            partition=partition,
            plant=plant,
        ) from None
    response = payload.get("response", payload) if isinstance(payload, dict) else {}
    header = response.get("header") or {}
    code = str(header.get("resultCode", "")).strip()
    if code == "03":
        return [], 0
    if code != "00":
        raise KmaResultError(
            "kma",
            f"resultCode {code or '(none)'}: {header.get('resultMsg', '')}",
            partition=partition,
            plant=plant,
            secrets=secrets,
            transient=code in TRANSIENT_KMA_CODES,
            code=code,
        )
    body = response.get("body") or {}
    items = (body.get("items") or {}) if isinstance(body, dict) else {}
    rows = items.get("item", []) if isinstance(items, dict) else items
    if isinstance(rows, dict):
        rows = [rows]
    return list(rows or []), int(body.get("totalCount") or 0)


class KmaResultError(SourceError):
    """A KMA answer that is a failure.

    A service resultCode other than 00 and 03 (`code`), or a gateway envelope inside a page.
    """

    def __init__(self, *args: Any, code: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.code = code


# -- the key pool ---------------------------------------------------------------------------------
# A key is spent for the day (or refused) when the gateway answers 401/403/429, or the answer's
# code is 22 (request limit exceeded) or 99.
KEY_REFUSED_STATUSES = (401, 403, 429)
KEY_REFUSED_CODES = ("22", "99")


def refuses_key(exc: SourceError) -> bool:
    """Whether `exc` says the key used is exhausted or refused (another key may succeed)."""
    if exc.status in KEY_REFUSED_STATUSES:
        return True
    if isinstance(exc, KmaResultError) and exc.code in KEY_REFUSED_CODES:
        return True
    # a gateway envelope: its reason code is the number or the name itself, the name is always there
    return any(GATEWAY_CODES[code] in exc.cause for code in KEY_REFUSED_CODES)


class KeysExhausted(SourceError):
    """Every key of the pool was refused."""


@dataclass
class PoolKey:
    """A service key of the pool: the key, who it belongs to (shown instead of the key), uses."""

    key: str
    label: str
    used: int = 0
    exhausted: str | None = None  # why it was set aside, once it was


class KeyPool:
    """Service keys used least-used first; a refused key is set aside and the call moves on.

    `on_success(key)` runs after each successful call (the caller persists the count there).
    """

    def __init__(
        self, keys: list[PoolKey], on_success: Callable[[PoolKey], None] | None = None
    ) -> None:
        self.keys = keys
        self.on_success = on_success
        self.calls = 0

    @property
    def usable(self) -> list[PoolKey]:
        """Keys not set aside."""
        return [k for k in self.keys if k.exhausted is None]

    def call(self, fn: Callable[[str], T], what: str = "") -> T:
        """`fn(key)` with the least-used usable key, the next one whenever a key is refused."""
        while True:
            usable = self.usable
            if not usable:
                raise KeysExhausted(
                    "kma",
                    f"every API key is exhausted ({len(self.keys)} key(s): "
                    + ", ".join(f"{k.label}: {k.exhausted}" for k in self.keys)
                    + ")"
                    if self.keys
                    else "no API key configured",
                    plant=what or None,
                    secrets=[k.key for k in self.keys],
                )
            key = min(usable, key=lambda k: k.used)  # stable: the first of equals
            try:
                result = fn(key.key)
            except SourceError as exc:
                if not refuses_key(exc):
                    raise
                key.exhausted = exc.cause
                continue
            key.used += 1
            self.calls += 1
            if self.on_success:
                self.on_success(key)
            return result


# -- grids, stations and availability ---------------------------------------------------------
# KMA's Lambert conformal conic projection of the 5 km forecast grid.
_RE_KM, _GRID_KM, _SLAT1, _SLAT2, _OLON, _OLAT, _XO, _YO = 6371.00877, 5.0, 30, 60, 126, 38, 43, 136


def latlon_to_grid(lat: float, lon: float) -> tuple[int, int]:
    """The forecast grid (nx, ny) of a point (degrees), by KMA's Lambert projection."""
    rad = math.pi / 180.0
    re = _RE_KM / _GRID_KM
    slat1, slat2, olon, olat = _SLAT1 * rad, _SLAT2 * rad, _OLON * rad, _OLAT * rad
    sn = math.log(math.cos(slat1) / math.cos(slat2)) / math.log(
        math.tan(math.pi / 4 + slat2 / 2) / math.tan(math.pi / 4 + slat1 / 2)
    )
    sf = math.tan(math.pi / 4 + slat1 / 2) ** sn * math.cos(slat1) / sn
    ro = re * sf / math.tan(math.pi / 4 + olat / 2) ** sn
    ra = re * sf / math.tan(math.pi / 4 + lat * rad / 2) ** sn
    theta = lon * rad - olon
    if theta > math.pi:
        theta -= 2 * math.pi
    if theta < -math.pi:
        theta += 2 * math.pi
    theta *= sn
    return (
        math.floor(ra * math.sin(theta) + _XO + 0.5),
        math.floor(ro - ra * math.cos(theta) + _YO + 0.5),
    )


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km (R = 6371 km)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


FORECAST_BASE_HOURS = (2, 5, 8, 11, 14, 17, 20, 23)


def forecast_base(now: dt.datetime) -> tuple[str, str]:
    """The latest short-term issuance (date, HHMM) available at `now`.

    An issuance at HH00 is served from HH:10: the latest of 02, 05, …, 23 at or before now − 10
    minutes; before 02:10 it is the previous day's 2300.
    """
    at = as_kst(now) - dt.timedelta(minutes=10)
    hours = [h for h in FORECAST_BASE_HOURS if h <= at.hour]
    if not hours:
        return (at.date() - dt.timedelta(days=1)).strftime("%Y%m%d"), "2300"
    return at.strftime("%Y%m%d"), f"{hours[-1]:02d}00"


def nowcast_base(now: dt.datetime) -> tuple[str, str]:
    """The latest nowcast (date, HH00) safely available at `now` (40 minutes after the hour)."""
    at = as_kst(now) - dt.timedelta(minutes=40)
    return at.strftime("%Y%m%d"), f"{at.hour:02d}00"


def midterm_tmfc(now: dt.datetime) -> str:
    """The latest mid-term issuance (YYYYMMDDHHMM) at `now`: 0600 from 06:30, 1800 from 18:30."""
    at = as_kst(now)
    minutes = at.hour * 60 + at.minute
    if minutes >= 18 * 60 + 30:
        return at.strftime("%Y%m%d") + "1800"
    if minutes >= 6 * 60 + 30:
        return at.strftime("%Y%m%d") + "0600"
    return (at.date() - dt.timedelta(days=1)).strftime("%Y%m%d") + "1800"


def last_asos_day(today: dt.date) -> dt.date:
    """The last day ASOS daily data is served for: yesterday."""
    return today - dt.timedelta(days=1)
