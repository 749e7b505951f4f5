import dagster as dg
import pytest

from resources.definitions import platform_resources
from resources.settings import MissingSettingsError, PlatformSettings

ALL_VARS = [
    "PLATFORM_ENV",
    "WAREHOUSE_URL",
    "DAGSTER_WEBSERVER_URL",
    "SLACK_WEBHOOK_URL",
    "SLACK_BOT_TOKEN",
    "INSPIG_ORACLE_URL",
    "LAKE_URL",
    "SPARK_MASTER",
    "SMTP_HOST",
    "MAIL_FROM",
    "PRODUCTION_DB_DIR",
    "SMTP_PASSWORD",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for name in ALL_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PLATFORM_HOME", str(tmp_path / "home"))


def test_prod_names_every_missing_variable_in_one_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_ENV", "prod")
    monkeypatch.setenv("WAREHOUSE_URL", "postgresql://db.internal/warehouse")
    with pytest.raises(MissingSettingsError) as error:
        platform_resources("pothole")
    message = str(error.value)
    for name in (
        "DAGSTER_WEBSERVER_URL",
        "SLACK_WEBHOOK_URL or SLACK_BOT_TOKEN",
        "LAKE_URL",
        "SPARK_MASTER",
        "SMTP_HOST",
        "MAIL_FROM",
    ):
        assert name in message
    assert "WAREHOUSE_URL," not in message and "'pothole'" in message


def test_prod_with_everything_set_loads_and_keeps_secrets_as_env_vars(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = {
        "PLATFORM_ENV": "prod",
        "WAREHOUSE_URL": "postgresql://u:pw@db/warehouse",
        "DAGSTER_WEBSERVER_URL": "https://dagster.internal",
        "SLACK_WEBHOOK_URL": "https://hooks/x",
        "INSPIG_ORACLE_URL": "oracle+oracledb://u:pw@ora:1521/?service_name=PIG",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    resources = platform_resources("inspig")
    assert isinstance(resources["warehouse"].url, dg.EnvVar)
    assert isinstance(resources["alerts"].webhook_url, dg.EnvVar)
    assert isinstance(resources["farm_db"].oracle_url, dg.EnvVar)
    assert resources["alerts"].webserver_url == "https://dagster.internal"


def test_local_needs_nothing_and_points_every_default_under_platform_home(tmp_path) -> None:
    resources = platform_resources("pothole")
    home = tmp_path / "home"
    assert resources["warehouse"].url is None
    assert resources["warehouse"].embedded_dir == str(home / "pg")
    assert resources["lake"].local_root == str(home / "lake")
    assert resources["mailer"].outbox_dir == str(home / "outbox")
    assert resources["cluster"].instance_ids == []
    assert resources["spark"].master == "local[*]"


def test_cluster_ids_are_split(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPARK_CLUSTER_INSTANCE_IDS", " i-1, i-2 ,")
    assert PlatformSettings().cluster_instance_ids == ["i-1", "i-2"]
