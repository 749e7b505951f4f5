"""Clients of the pothole domain's external systems, with their sample counterparts.

- `KakaoResource`: reverse geocoding (road name, district) of a segment's centroid.
- `ComplaintsResource`: the data.go.kr citizen pothole complaints API (create_dt, lat, lon).
"""

from datetime import date, timedelta
from typing import Any

import dagster as dg
import pandas as pd
import requests
from pydantic import Field

from pothole_assets import sample_data
from resources.http_source import gateway_error, keyed_url
from resources.settings import PlatformSettings


class SourceError(RuntimeError):
    """An external source is unusable (HTTP, auth, quota or malformed payload)."""


# -- Kakao reverse geocoding -------------------------------------------------------------------
class KakaoResource(dg.ConfigurableResource):
    """Kakao Local `coord2address`; without a key, a sample geocoder (local) or nothing (prod)."""

    api_key: str | None = Field(default=None, description="Kakao REST API key (secret)")
    base_url: str = "https://dapi.kakao.com"
    use_sample: bool = Field(
        default=False, description="Without a key, answer from the sample geocoder"
    )
    timeout_seconds: float = 5.0

    @property
    def mode(self) -> str:
        """'kakao' with a key, 'sample' for the local sample geocoder, 'off' otherwise."""
        if self.api_key:
            return "kakao"
        return "sample" if self.use_sample else "off"

    def reverse_geocode(
        self, lon: float, lat: float, session: requests.Session | None = None
    ) -> tuple[str | None, str | None] | None:
        """(road_name, district) at a point; None when Kakao knows no address there.

        Auth, quota and server errors raise `SourceError`: they would fail every segment alike.
        """
        if self.mode == "sample":
            return "국도863호선" if lat < 35.2 else "지방도863호선", sample_data.district_for(lat)
        if self.mode == "off":
            raise SourceError("kakao: no API key configured")
        http = session or requests.Session()
        url = f"{self.base_url.rstrip('/')}/v2/local/geo/coord2address.json"
        try:
            response = http.get(
                url,
                params={"x": f"{lon:.6f}", "y": f"{lat:.6f}"},
                headers={"Authorization": f"KakaoAK {self.api_key}"},
                timeout=self.timeout_seconds,
            )
        except requests.RequestException as exc:
            raise SourceError(f"kakao coord2address unreachable: {type(exc).__name__}") from None
        if response.status_code in (401, 403, 429) or response.status_code >= 500:
            raise SourceError(
                f"kakao coord2address at ({lon:.6f}, {lat:.6f}) answered HTTP "
                f"{response.status_code}: {response.text[:200]}"
            )
        if response.status_code >= 400:
            return None  # this coordinate only (e.g. outside Korea)
        try:
            documents = response.json().get("documents") or []
        except ValueError as exc:
            raise SourceError(f"kakao coord2address: malformed JSON ({exc})") from None
        if not documents:
            return None
        first = documents[0]
        road = first.get("road_address") or None
        if road:
            return road.get("road_name") or None, road.get("region_2depth_name") or None
        address = first.get("address") or {}
        return address.get("region_3depth_name") or None, address.get("region_2depth_name") or None


# -- citizen complaints (data.go.kr) -------------------------------------------------------------
def _items(body: dict[str, Any]) -> list[dict[str, Any]]:
    items = body.get("items")
    if isinstance(items, dict):
        items = items.get("item", [])
    if isinstance(items, dict):
        items = [items]
    out = []
    for item in items or []:
        if isinstance(item, dict) and "item" in item and isinstance(item["item"], dict):
            item = item["item"]
        out.append(item)
    return out


def parse_complaints_page(payload: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """Rows and totalCount of a page; `{response: {header, body}}` or `{header, body}`."""
    root = payload.get("response", payload)
    header = root.get("header") or {}
    code = str(header.get("resultCode", "00")).strip()
    if code == "03":  # NO_DATA
        return [], 0
    if code not in ("00", "0"):
        raise SourceError(f"resultCode {code}: {header.get('resultMsg', '')}")
    body = root.get("body")
    if not isinstance(body, dict):
        raise SourceError("malformed payload: no body")
    total = int(body.get("totalCount") or 0)
    return _items(body), total


def normalise_complaints(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """create_dt (date), event_lat, event_lon; rows without a usable date or position dropped."""
    frame = pd.DataFrame(rows, columns=["create_dt", "event_lat", "event_lon"])
    text = frame["create_dt"].astype("string").str.strip().str.slice(0, 10).str.replace(".", "-")
    compact = text.str.fullmatch(r"\d{8}").fillna(False)
    parsed = pd.to_datetime(text.where(~compact), format="%Y-%m-%d", errors="coerce")
    parsed = parsed.fillna(pd.to_datetime(text.where(compact), format="%Y%m%d", errors="coerce"))
    out = pd.DataFrame(
        {
            "create_dt": parsed.dt.date,
            "event_lat": pd.to_numeric(frame["event_lat"], errors="coerce"),
            "event_lon": pd.to_numeric(frame["event_lon"], errors="coerce"),
        }
    )
    return out


class ComplaintsResource(dg.ConfigurableResource):
    """Citizen pothole complaints from data.go.kr, in 15-day chunks of 1000-row pages."""

    service_key: str | None = Field(default=None, description="data.go.kr service key (secret)")
    url: str = "https://apis.data.go.kr/1140100/minAnalsInfoView7/minPotholeLatLonInfo"
    use_sample: bool = Field(default=False, description="Without a key, use sample complaints")
    page_size: int = 1000
    chunk_days: int = 15
    timeout_seconds: float = 30.0

    @property
    def source(self) -> str:
        """'api', 'sample' or 'off'."""
        if self.service_key:
            return "api"
        return "sample" if self.use_sample else "off"

    def _get(self, http: requests.Session, params: dict[str, Any]) -> requests.Response:
        url, query = keyed_url(self.url, self.service_key or "", params)
        return http.get(url, params=query, timeout=self.timeout_seconds)

    def fetch(self, first: date, last: date) -> pd.DataFrame:
        """Every complaint filed in [first, last]."""
        if self.source == "sample":
            network = sample_data.build_network()
            return normalise_complaints(
                sample_data.complaints_for(network, first, last).to_dict("records")
            )
        if self.source == "off":
            raise SourceError("complaints API: no service key configured")
        rows: list[dict[str, Any]] = []
        http = requests.Session()
        chunk_start = first
        while chunk_start <= last:
            chunk_end = min(chunk_start + timedelta(days=self.chunk_days - 1), last)
            page = 1
            while True:
                params = {
                    "dateFrom": f"{chunk_start:%Y%m%d}",
                    "dateTo": f"{chunk_end:%Y%m%d}",
                    "pageNo": page,
                    "numOfRows": self.page_size,
                    "type": "json",
                }
                where = f"complaints API {chunk_start}..{chunk_end} page {page}"
                try:
                    response = self._get(http, params)
                except requests.RequestException as exc:
                    raise SourceError(f"{where}: unreachable ({type(exc).__name__})") from None
                envelope = gateway_error(response.text)
                if envelope:
                    raise SourceError(f"{where}: HTTP {response.status_code}, {envelope}")
                if response.status_code >= 400:
                    raise SourceError(f"{where}: HTTP {response.status_code}")
                try:
                    items, total = parse_complaints_page(response.json())
                except (ValueError, SourceError) as exc:
                    raise SourceError(f"{where}: {exc}") from None
                rows.extend(items)
                if not items or page * self.page_size >= total:
                    break
                page += 1
            chunk_start = chunk_end + timedelta(days=1)
        return normalise_complaints(rows)


# -- domain options ------------------------------------------------------------------------------
class PotholeResource(dg.ConfigurableResource):
    """Options of the pothole domain: sample data (local mode) and the report's recipients."""

    samples: bool = Field(
        default=False,
        description="Generate the sample network, bumps and raw days in the lake when missing",
    )
    sample_readings_per_day: int = Field(default=30_000, description="Size of a sample raw day")
    report_to: list[str] = Field(default_factory=list, description="Daily report recipients")


def _recipients(settings: PlatformSettings) -> list[str]:
    """POTHOLE_REPORT_TO split at commas; locally, a placeholder address when unset."""
    recipients = [r.strip() for r in (settings.pothole_report_to or "").split(",") if r.strip()]
    if not recipients and not settings.is_prod:
        recipients = ["road-safety@localhost"]
    return recipients


def domain_resources(settings: PlatformSettings) -> dict[str, dg.ConfigurableResource]:
    """The pothole domain's own resources (Kakao, complaints API, options) from the settings.

    Locally the sample sources answer when no key is set; in prod a missing key turns the
    source off (the asset says so) rather than serving sample data.
    """
    local = not settings.is_prod
    return {
        "kakao": KakaoResource(
            api_key=dg.EnvVar("KAKAO_API_KEY") if settings.kakao_api_key else None,
            base_url=settings.kakao_api_url,
            use_sample=local,
        ),
        "complaints": ComplaintsResource(
            service_key=(
                dg.EnvVar("POTHOLE_COMPLAINTS_API_KEY")
                if settings.pothole_complaints_api_key
                else None
            ),
            url=settings.pothole_complaints_api_url,
            use_sample=local,
        ),
        "pothole": PotholeResource(samples=local, report_to=_recipients(settings)),
    }
