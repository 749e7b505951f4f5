"""Clients of the card sources, each with its sample counterpart behind the same interface.

- `t2a` (`T2AResource`): the T2A analytics API; JSON query templates in, long-form answers out.
  Transient failures (connection errors, HTTP 5xx) are retried per call by urllib3's `Retry`
  (`resources.http_source.retrying_session`: 3 retries, exponential backoff, jitter); whatever
  still fails raises `T2AError`, never an empty frame. The API key is sent as a bearer token and
  redacted from every error.
- `erp_db` (`ErpDbResource`): the ERP's Oracle database through SQLAlchemy, or in local mode the
  warehouse schema `erp` with a deterministic sample.
"""

import datetime as dt
import threading
from typing import Any

import dagster as dg
import pandas as pd
import requests
import sqlalchemy as sa
from pydantic import Field, PrivateAttr

from card_assets import sample, t2a
from card_assets.schema import (
    ERP_TABLES,
    ai_users,
    erp_metadata,
    order_issues,
    orders,
    sales_orgs,
    user_accounts,
    user_product_groups,
)
from resources.farm_db import _oracle_engine
from resources.http_source import SourceError, retrying_session
from resources.kst import today_kst
from resources.settings import PlatformSettings
from resources.warehouse import WarehouseResource, copy_rows

T2A_PATH = "/query"


class T2AError(SourceError):
    """A T2A call that failed after its retries; `attempts` counts the HTTP attempts made."""

    def __init__(self, cause: str, *, attempts: int, **kwargs: Any) -> None:
        super().__init__(**{"source": "t2a", "cause": cause, **kwargs})
        self.attempts = attempts


def _attempts(response: requests.Response | None, retries: int) -> int:
    history = getattr(getattr(getattr(response, "raw", None), "retries", None), "history", None)
    return len(history) + 1 if history is not None else retries + 1


class T2AResource(dg.ConfigurableResource):
    """The T2A analytics API (POST `{url}/query` with a filled template), or its sample."""

    url: str | None = Field(default=None, description="Base URL of the T2A API")
    api_key: str | None = Field(default=None, description="API key, sent as a bearer token")
    use_sample: bool = Field(default=False, description="Answer from the local sample source")
    timeout_seconds: float = 10.0
    retries: int = Field(default=3, description="Per-call retries of transient failures")
    backoff_seconds: float = Field(
        default=0.5, description="urllib3 backoff factor: waits 0, 2x, 4x this (plus jitter)"
    )
    jitter_seconds: float = Field(default=0.5, description="Random extra wait per retry, up to")

    _local: Any = PrivateAttr(default=None)

    @property
    def source_label(self) -> str:
        """What the metadata shows as the source used."""
        return "t2a sample (local)" if self.is_sample else f"t2a {self.url}"

    @property
    def is_sample(self) -> bool:
        """True when the in-process sample source answers."""
        return self.use_sample or not self.url

    def _session(self) -> requests.Session:
        """One retrying session per thread (orgs are fetched by several threads at once)."""
        if self._local is None:
            self._local = threading.local()
        session = getattr(self._local, "session", None)
        if session is None:
            session = retrying_session(self.retries, self.backoff_seconds, self.jitter_seconds)
            self._local.session = session
        return session

    def fetch(
        self, kind: str, sales_org: str, currency: str, local_now: dt.datetime, partition: str
    ) -> tuple[pd.DataFrame, int]:
        """(one org's extract of `kind`, HTTP attempts); `T2AError` when the call fails."""
        query = t2a.build_query(kind, sales_org, currency, local_now)
        where = {"partition": partition, "secrets": [self.api_key]}
        label = f"{t2a.TEMPLATES[kind]} sales org {sales_org}"
        if self.is_sample:
            body, attempts = sample.t2a_body_for_query(query), 1
        else:
            body, attempts = self._post(query, label, where)
        try:
            return t2a.extract_frame(kind, sales_org, t2a.parse_longform(body)), attempts
        except t2a.PayloadError as exc:
            raise T2AError(
                f"{label}: malformed answer: {exc}", attempts=attempts, **where
            ) from None

    def _post(self, query: dict, label: str, where: dict) -> tuple[str, int]:
        assert self.url is not None
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            response = self._session().post(
                self.url.rstrip("/") + T2A_PATH,
                json=query,
                headers=headers,
                timeout=self.timeout_seconds,
            )
        except requests.RequestException as exc:
            raise T2AError(
                f"{label}: unreachable after {self.retries + 1} attempts: {exc}",
                attempts=self.retries + 1,
                transient=True,
                **where,
            ) from None
        attempts = _attempts(response, self.retries)
        if response.status_code >= 400:
            raise T2AError(
                f"{label}: HTTP {response.status_code} after {attempts} attempt(s): "
                f"{response.text[:300]}",
                attempts=attempts,
                transient=response.status_code >= 500,
                **where,
            )
        return response.text, attempts


class ErpDbResource(dg.ConfigurableResource):
    """The ERP: Oracle through SQLAlchemy (`oracle+oracledb`), or the warehouse schema `erp`."""

    oracle_url: str | None = Field(default=None, description="oracle+oracledb://… (secret)")
    warehouse: WarehouseResource = Field(default_factory=WarehouseResource)
    local_schema: str = "erp"
    sample_orgs: int = 6
    sample_users: int = 60

    @property
    def source_label(self) -> str:
        """What the metadata shows as the ERP used."""
        return "erp oracle" if self.oracle_url else f"warehouse schema {self.local_schema} (sample)"

    def get_engine(self) -> sa.Engine:
        """The ERP's engine; locally the sample is created on first use."""
        if self.oracle_url:
            return _oracle_engine(self.oracle_url)
        engine = self.warehouse.get_engine(search_path=self.local_schema)
        self._ensure_sample(engine)
        return engine

    def _ensure_sample(self, engine: sa.Engine) -> None:
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(80020013)"))
            conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{self.local_schema}"'))
            erp_metadata.create_all(conn, checkfirst=True)
            if conn.execute(sa.select(sa.func.count()).select_from(sales_orgs)).scalar():
                return
            frames = sample.erp_frames(self.sample_orgs, self.sample_users, today_kst())
            raw = conn.connection.driver_connection
            for table in ERP_TABLES:
                copy_rows(raw, table, frames[table.name])

    def read(self, statement: sa.Executable) -> pd.DataFrame:
        """Rows of a query as a frame (lower-case column names on every dialect)."""
        with self.get_engine().connect() as conn:
            result = conn.execute(statement)
            return pd.DataFrame(result.fetchall(), columns=[c.lower() for c in result.keys()])

    def ai_sales_orgs(self) -> pd.DataFrame:
        """Sales orgs with AI enabled: sales_org_cd, currency, gmt_offset."""
        return self.read(
            sa.select(sales_orgs.c.sales_org_cd, sales_orgs.c.currency, sales_orgs.c.gmt_offset)
            .where(sales_orgs.c.ai_use_yn == "Y")
            .order_by(sales_orgs.c.sales_org_cd)
        )

    def users(self) -> pd.DataFrame:
        """Users with notifications on in AI orgs, with their org's currency and offset."""
        return self.read(
            sa.select(
                ai_users.c.user_id,
                ai_users.c.user_name,
                ai_users.c.sales_org_cd,
                sales_orgs.c.currency,
                sales_orgs.c.gmt_offset,
            )
            .join(sales_orgs, sales_orgs.c.sales_org_cd == ai_users.c.sales_org_cd)
            .where(ai_users.c.noti_yn == "Y", sales_orgs.c.ai_use_yn == "Y")
            .order_by(ai_users.c.user_id)
        )

    def user_accounts(self) -> pd.DataFrame:
        """Sold-to accounts of every user: user_id, account_cd, account_nm."""
        return self.read(sa.select(user_accounts).order_by(user_accounts.c.user_id))

    def user_product_groups(self) -> pd.DataFrame:
        """Authorised product groups of every user: user_id, product_group."""
        return self.read(sa.select(user_product_groups))

    def orders(self, first: dt.date, last: dt.date) -> pd.DataFrame:
        """Orders of the users' accounts dated before `last`: from `first` on, or blocked ones."""
        accounts = sa.select(user_accounts.c.account_cd).distinct()
        return self.read(
            sa.select(
                orders.c.account_cd,
                orders.c.product_group,
                orders.c.material,
                orders.c.order_type,
                orders.c.order_date,
                orders.c.amount,
            ).where(
                orders.c.account_cd.in_(accounts),
                orders.c.order_date < last,
                sa.or_(orders.c.order_date >= first, orders.c.order_type == "blocked"),
            )
        )

    def issues(self, last: dt.date) -> pd.DataFrame:
        """Open issues of the users' accounts due on or before `last`."""
        accounts = sa.select(user_accounts.c.account_cd).distinct()
        return self.read(
            sa.select(
                order_issues.c.account_cd,
                order_issues.c.material,
                order_issues.c.issue_type,
                order_issues.c.rdd_date,
            ).where(order_issues.c.account_cd.in_(accounts), order_issues.c.rdd_date <= last)
        )


def domain_resources(settings: PlatformSettings) -> dict[str, dg.ConfigurableResource]:
    """The card sources built from the settings (secrets as EnvVars; samples locally)."""
    warehouse = WarehouseResource(
        url=dg.EnvVar("WAREHOUSE_URL") if settings.warehouse_url else None,
        embedded_dir=str(settings.home / "pg"),
    )
    return {
        "t2a": T2AResource(
            url=settings.t2a_api_url,
            api_key=dg.EnvVar("T2A_API_KEY") if settings.t2a_api_key else None,
            use_sample=not settings.t2a_api_url and not settings.is_prod,
            timeout_seconds=settings.t2a_timeout_sec,
        ),
        "erp_db": ErpDbResource(
            oracle_url=dg.EnvVar("CARD_ERP_URL") if settings.card_erp_url else None,
            warehouse=warehouse,
            sample_orgs=settings.card_sample_orgs,
            sample_users=settings.card_sample_users,
        ),
        "card": CardOptions(
            max_workers_sales=settings.max_workers_sales,
            retention_days=settings.card_retention_days,
        ),
    }


class CardOptions(dg.ConfigurableResource):
    """The card pipeline's settings as a resource (assets read no settings while they run)."""

    max_workers_sales: int = Field(default=8, description="Sales orgs fetched at once")
    retention_days: int = Field(default=14, description="Days of user_scenario_result rows kept")
