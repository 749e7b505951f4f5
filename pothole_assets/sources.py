"""Clients of the pothole domain's external systems, with their sample counterparts.

- `KakaoResource`: reverse geocoding (road name, district) of a segment's centroid.
- `ComplaintsResource`: the data.go.kr citizen pothole complaints API (create_dt, lat, lon).
"""

import json
from datetime import date, timedelta
from typing import Any

import dagster as dg
import pandas as pd
import requests
from pydantic import Field

from pothole_assets import sample_data
from resources.http_source import (
    SourceError,
    http_get,
    redact,
    retrying_session,
    transient_status,
)
from resources.settings import PlatformSettings

# Every error of these clients is a `resources.http_source.SourceError`: its message names the
# source and the cause, with the credentials the request carried (Kakao's `Authorization:
# KakaoAK …` header, data.go.kr's `serviceKey`) redacted, however the server echoed them.
__all__ = ["ComplaintsResource", "KakaoResource", "PotholeResource", "SourceError"]


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
        The key travels in the `Authorization` header and never appears in an error.
        """
        if self.mode == "sample":
            return "국도863호선" if lat < 35.2 else "지방도863호선", sample_data.district_for(lat)
        source, secrets = "kakao coord2address", [self.api_key]
        if self.mode == "off":
            raise SourceError(source, "no API key configured")
        http = session or retrying_session()
        url = f"{self.base_url.rstrip('/')}/v2/local/geo/coord2address.json"
        where = f"at ({lon:.6f}, {lat:.6f})"
        try:
            response = http.get(
                url,
                params={"x": f"{lon:.6f}", "y": f"{lat:.6f}"},
                headers={"Authorization": f"KakaoAK {self.api_key}"},
                timeout=self.timeout_seconds,
            )
        except requests.RequestException as exc:
            raise SourceError(
                source, f"{where} unreachable: {exc}", secrets=secrets, transient=True
            ) from None
        status = response.status_code
        if status in (401, 403, 429) or status >= 500:
            raise SourceError(
                source,
                # redacted before it is cut, so that no part of a key is left
                f"{where} answered HTTP {status}: {redact(response.text, secrets)[:200]}",
                secrets=secrets,
                transient=transient_status(status),
                status=status,
            )
        if status >= 400:
            return None  # this coordinate only (e.g. outside Korea)
        try:
            documents = response.json().get("documents") or []
        except ValueError as exc:
            raise SourceError(source, f"{where}: malformed JSON ({exc})", secrets=secrets) from None
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
    """Rows and totalCount of a page; `{response: {header, body}}` or `{header, body}`.

    A result code other than success or NO_DATA, or a page without a body, is a `ValueError`.
    """
    root = payload.get("response", payload)
    header = root.get("header") or {}
    code = str(header.get("resultCode", "00")).strip()
    if code == "03":  # NO_DATA
        return [], 0
    if code not in ("00", "0"):
        raise ValueError(f"resultCode {code}: {header.get('resultMsg', '')}")
    body = root.get("body")
    if not isinstance(body, dict):
        raise ValueError("malformed payload: no body")
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
    retries: int = Field(default=4, description="Per-call retries of connection errors and 5xx")

    @property
    def source(self) -> str:
        """'api', 'sample' or 'off'."""
        if self.service_key:
            return "api"
        return "sample" if self.use_sample else "off"

    def fetch(self, first: date, last: date) -> pd.DataFrame:
        """Every complaint filed in [first, last]."""
        if self.source == "sample":
            network = sample_data.build_network()
            return normalise_complaints(
                sample_data.complaints_for(network, first, last).to_dict("records")
            )
        name = "complaints API"
        if self.source == "off":
            raise SourceError(name, "no service key configured")
        key = self.service_key or ""
        rows: list[dict[str, Any]] = []
        http = retrying_session(retries=self.retries)
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
                where = f"{chunk_start}..{chunk_end} page {page}"
                text = http_get(
                    http, name, self.url, key, params, self.timeout_seconds, partition=where
                )
                try:
                    items, total = parse_complaints_page(json.loads(text))
                except (ValueError, AttributeError) as exc:
                    raise SourceError(name, str(exc), partition=where, secrets=[key]) from None
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
