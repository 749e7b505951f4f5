"""Clients of inspig's sources and `domain_resources`, which builds them from the settings.

The PigPlan productivity API (or its local computation from the source tables) and the local
sample of PigPlan farms.
"""

import base64
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote, urlsplit

import dagster as dg
import requests
import sqlalchemy as sa
from pydantic import Field

from inspig_assets.productivity import PayloadError, StatPeriod, compute_local, rows_from_payload
from inspig_assets.sample import SampleSpec, ensure_sample
from resources.farm_db import FarmDbResource
from resources.http_source import redact
from resources.kst import today_kst
from resources.settings import PlatformSettings


def url_credentials(url: str) -> list[str]:
    """The password in `url` and the Basic authorization token the HTTP library makes of it."""
    parts = urlsplit(url)
    if not parts.password:
        return []
    pair = f"{unquote(parts.username or '')}:{unquote(parts.password)}"
    return [parts.password, unquote(parts.password), base64.b64encode(pair.encode()).decode()]


class ProductivitySourceError(RuntimeError):
    """The productivity API could not be used (HTTP error, timeout, malformed payload)."""


class ProductivityApiResource(dg.ConfigurableResource):
    """PigPlan `/statistics/productivity/period/{farmNo}`; with no URL, the local computation."""

    base_url: str | None = Field(default=None, description="PigPlan productivity API base URL")
    api_key: str | None = Field(default=None, description="API key sent as X-API-KEY (secret)")
    timeout_seconds: float = 60.0
    workers: int = 4

    @property
    def is_sample(self) -> bool:
        """True when statistics are computed locally from the source tables."""
        return not self.base_url

    @property
    def source_label(self) -> str:
        """What the UI metadata shows as the source."""
        return "local computation from PigPlan tables (sample)" if self.is_sample else "pigplan api"

    def request_params(self, period: StatPeriod) -> dict[str, Any]:
        """Query parameters of one request: fixed ones, and the period's stat date and kind."""
        return {
            "statDate": period.stat_date,
            "memberId": "null",
            "period": "W" if period.period == "W" else "M",
            "numOfPeriod": 1,
            "lang": "ko",
            "serviceId": "01051",
            "sizeOfPeriod": 1,
            "pumjongCd": "- 전체 -",
            "reportType": 1,
        }

    def fetch_farm(self, farm_no: int, period: StatPeriod) -> list[dict[str, Any]]:
        """One farm's rows of `period` from the API.

        Errors name the source, farm and period; the credentials the request carried (the
        X-API-KEY header, a password in the base URL and the Basic header made from it) are
        redacted from them before the answer's text is clipped.
        """
        assert self.base_url
        url = f"{self.base_url.rstrip('/')}/statistics/productivity/period/{farm_no}"
        headers = {"X-API-KEY": self.api_key} if self.api_key else {}
        where = f"productivity API, farm {farm_no}, period {period.label}"
        secrets = [self.api_key, *url_credentials(self.base_url)]

        def fail(cause: str, limit: int = 300) -> ProductivitySourceError:
            return ProductivitySourceError(f"{where}: {redact(cause, secrets)[:limit]}")

        try:
            response = requests.get(
                url, params=self.request_params(period), headers=headers,
                timeout=self.timeout_seconds,
            )  # fmt: skip
        except requests.RequestException as exc:
            raise fail(f"{type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            raise fail(f"HTTP {response.status_code}: {response.text}")
        try:
            payload = response.json()
        except ValueError:
            raise fail("the answer is not JSON") from None
        try:
            rows = rows_from_payload(farm_no, period.period, payload)
        except PayloadError as exc:
            raise fail(str(exc)) from None
        return [
            r
            for r in rows
            if (r["stat_year"], r["period_no"]) == (period.stat_year, period.period_no)
        ]

    def collect(
        self, conn: sa.Connection, farms: Sequence[int], period: StatPeriod
    ) -> tuple[list[dict[str, Any]], dict[int, str]]:
        """Rows for `farms` and the farms that failed (farm → message)."""
        if self.is_sample:
            local_failed: dict[int, str] = {}
            return compute_local(conn, farms, period, local_failed), local_failed
        rows: list[dict[str, Any]] = []
        failed: dict[int, str] = {}
        with ThreadPoolExecutor(max_workers=max(1, self.workers)) as pool:
            futures = {farm: pool.submit(self.fetch_farm, farm, period) for farm in farms}
            for farm, future in futures.items():
                try:
                    rows.extend(future.result())
                except ProductivitySourceError as exc:
                    failed[farm] = str(exc)
        return rows, failed


class InspigSampleResource(dg.ConfigurableResource):
    """The local sample of PigPlan farms, generated into the farm database when it is missing."""

    farms: int = Field(default=50, ge=1, description="Sample farms generated (INSPIG_SAMPLE_FARMS)")

    def prepare(self, farm_db: FarmDbResource, log: Callable[[str], None] = print) -> None:
        """Locally, create the tables and the sample farms when missing (Oracle is used as it is).

        The sample is generated once, up to today (KST); a later size does not regenerate it.
        """
        if farm_db.is_oracle:
            return
        spec = SampleSpec(farms=self.farms, until=today_kst())
        ensure_sample(farm_db.get_engine(), spec, farm_db.insert_rows, log=log)


def domain_resources(settings: PlatformSettings) -> dict[str, dg.ConfigurableResource]:
    """The inspig resources, built from the settings (the API key is passed as an EnvVar)."""
    return {
        "productivity_api": ProductivityApiResource(
            base_url=settings.productivity_api_url,
            api_key=dg.EnvVar("PRODUCTIVITY_API_KEY") if settings.productivity_api_key else None,
        ),
        "inspig_sample": InspigSampleResource(farms=settings.inspig_sample_farms),
    }
