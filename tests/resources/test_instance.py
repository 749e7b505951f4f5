import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]


@dg.asset
def tiny_table() -> dg.MaterializeResult:
    """A one-row table."""
    return dg.MaterializeResult(metadata={"dagster/row_count": 1})


def test_materialization_on_the_production_instance_config(
    pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv(
        "DAGSTER_PG_URL",
        sa.make_url(pg_database)
        .set(drivername="postgresql+psycopg2")
        .render_as_string(hide_password=False),
    )
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert instance.run_coordinator.__class__.__name__ == "QueuedRunCoordinator"
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
        result = dg.materialize([tiny_table], instance=instance)
        assert result.success
        event = instance.get_latest_materialization_event(dg.AssetKey("tiny_table"))
        assert event.asset_materialization.metadata["dagster/row_count"].value == 1
    engine = sa.create_engine(pg_database)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM runs")).scalar() == 1
    engine.dispose()


def test_local_instance_config_loads(tmp_path: Path) -> None:
    shutil.copy(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.run_retries_enabled
        assert dg.materialize([tiny_table], instance=instance).success


def test_all_five_locations_load_from_the_workspace(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "DAGSTER_HOME": str(tmp_path)},
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-3000:]
    for location in ("inspig", "pothole", "production", "card", "energy"):
        assert f"Validation successful for code location {location}" in output
