"""Platform settings: the one place that reads the environment.

`PLATFORM_ENV=local` (default) gives every external system an embedded default under
`PLATFORM_HOME`; `PLATFORM_ENV=prod` requires the real endpoints and refuses to load with one
message that names every missing variable.
"""

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Variables each code location needs in prod. A tuple lists alternatives: alerts need one of the
# two Slack settings.
_COMMON_PROD: tuple[str | tuple[str, ...], ...] = (
    "WAREHOUSE_URL",
    "DAGSTER_WEBSERVER_URL",
    ("SLACK_WEBHOOK_URL", "SLACK_BOT_TOKEN"),
)
REQUIRED_IN_PROD: dict[str, tuple[str | tuple[str, ...], ...]] = {
    "inspig": (*_COMMON_PROD, "INSPIG_ORACLE_URL"),
    "pothole": (
        *_COMMON_PROD,
        "LAKE_URL",
        "SPARK_MASTER",
        "SMTP_HOST",
        "MAIL_FROM",
        "POTHOLE_REPORT_TO",
        "POTHOLE_COMPLAINTS_API_KEY",
    ),
    "production": (*_COMMON_PROD, "PRODUCTION_DB_DIR"),
    "card": (*_COMMON_PROD, "T2A_API_URL", "T2A_API_KEY", "CARD_ERP_URL"),
    # KOEN's download needs no credentials (a session cookie only); its URL defaults to the site.
    "energy": (*_COMMON_PROD, "KMA_API_KEY", "KOSPO_API_KEY"),
}


class MissingSettingsError(RuntimeError):
    """Raised in prod when required environment variables are unset."""


class PlatformSettings(BaseSettings):
    """Environment-driven settings shared by every code location."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    platform_env: Literal["local", "prod"] = "local"
    platform_home: Path = Path(".platform")

    warehouse_url: str | None = None
    inspig_oracle_url: str | None = None

    lake_url: str | None = None
    aws_region: str = "ap-northeast-2"
    aws_endpoint_url: str | None = None

    spark_master: str | None = None
    spark_cluster_instance_ids: str | None = Field(
        default=None, description="Comma-separated EC2 instance ids of the Spark cluster."
    )

    slack_webhook_url: str | None = None
    slack_bot_token: str | None = None
    slack_channel: str = "#data-alerts"
    dagster_webserver_url: str | None = None

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    mail_from: str | None = None

    # -- inspig --
    productivity_api_url: str | None = None
    productivity_api_key: str | None = None
    inspig_sample_farms: int = Field(
        default=50, ge=1, description="Sample farms generated locally when schema pigplan is empty."
    )
    inspig_web_api_run_timeout: float = Field(
        default=300, ge=0, description="Seconds the web API waits for a farm report run."
    )
    inspig_run_retention_days: dict[str, int] = Field(
        default_factory=dict,
        description='Days finished inspig runs are kept per report type, e.g. {"WEEK": 30}.',
    )

    # -- pothole --
    kakao_api_key: str | None = None
    kakao_api_url: str = "https://dapi.kakao.com"
    pothole_report_to: str | None = Field(
        default=None, description="Comma-separated recipients of the daily pothole report."
    )
    pothole_complaints_api_key: str | None = Field(
        default=None, description="data.go.kr service key of the citizen pothole complaints API."
    )
    pothole_complaints_api_url: str = (
        "https://apis.data.go.kr/1140100/minAnalsInfoView7/minPotholeLatLonInfo"
    )

    # -- production --
    production_db_dir: Path | None = None
    production_backup_dir: Path | None = None  # default: PRODUCTION_DB_DIR/backups
    production_live_backup_retention: int = 30
    production_archive_backup_retention: int = 12

    # -- card --
    t2a_api_url: str | None = Field(default=None, description="T2A analytics API base URL")
    t2a_api_key: str | None = Field(default=None, description="T2A API key (secret)")
    t2a_timeout_sec: float = 10.0
    card_erp_url: str | None = Field(
        default=None, description="oracle+oracledb:// URL of the ERP (secret); local: schema erp"
    )
    max_workers_sales: int = Field(default=8, ge=1, description="Sales orgs fetched at once")
    card_retention_days: int = Field(default=14, ge=1, description="Days of card rows kept")
    card_sample_orgs: int = Field(default=6, ge=1, description="Local sample sales orgs")
    card_sample_users: int = Field(default=60, ge=1, description="Local sample users")

    # -- energy --
    kma_api_key: str | None = Field(default=None, description="data.go.kr key of KMA ASOS")
    kma_api_url: str = "https://apis.data.go.kr/1360000"
    kospo_api_key: str | None = Field(default=None, description="data.go.kr key of KOSPO solar")
    kospo_api_url: str = "https://apis.data.go.kr/B552520/PwrSunLightInfo/getDataService"
    koen_url: str | None = Field(
        default=None,
        description="koenergy.kr nfdt21 folder; unset = the site in prod, sample locally",
    )
    koen_org_no: str = ""  # strOrgNo; blank = every plant
    koen_sleep_sec: float = 5.0  # pause between month chunks
    koen_ssl_no_verify: bool = False  # escape hatch for the site's incomplete certificate chain

    @property
    def is_prod(self) -> bool:
        """True when running against real production systems."""
        return self.platform_env == "prod"

    @cached_property
    def home(self) -> Path:
        """Absolute `PLATFORM_HOME`, created on first use."""
        home = self.platform_home.expanduser().resolve()
        home.mkdir(parents=True, exist_ok=True)
        return home

    @property
    def cluster_instance_ids(self) -> list[str]:
        """EC2 instance ids of the Spark cluster, empty when none is configured."""
        raw = self.spark_cluster_instance_ids or ""
        return [part.strip() for part in raw.split(",") if part.strip()]

    @property
    def webserver_url(self) -> str:
        """Base URL of the Dagster UI used in links (the local `make dev` address by default)."""
        return self.dagster_webserver_url or "http://127.0.0.1:3000"

    @property
    def sender(self) -> str:
        """From address of outgoing mail."""
        return self.mail_from or "data-platform@localhost"

    def missing_for(self, location: str) -> list[str]:
        """Names of the variables that `location` needs in prod and that are unset."""
        missing: list[str] = []
        for requirement in REQUIRED_IN_PROD.get(location, _COMMON_PROD):
            names = requirement if isinstance(requirement, tuple) else (requirement,)
            if not any(getattr(self, name.lower()) for name in names):
                missing.append(" or ".join(names))
        return missing

    def require(self, location: str) -> None:
        """In prod, fail with one message naming every missing variable of `location`."""
        if not self.is_prod:
            return
        missing = self.missing_for(location)
        if missing:
            raise MissingSettingsError(
                f"PLATFORM_ENV=prod: code location '{location}' cannot load; set these environment "
                f"variables: {', '.join(missing)}"
            )


def load_settings() -> PlatformSettings:
    """Read the settings from the current environment (no caching: tests change the environment)."""
    return PlatformSettings()
