"""Assets against real SQLite files and a real PostgreSQL warehouse."""

import datetime as dt
import sqlite3
from pathlib import Path

import dagster as dg
import pytest

from production_assets import assets
from production_assets.databases import REQUIRED_INDEXES
from production_assets.definitions import defs
from production_assets.maintenance import missing_indexes
from production_assets.sample_data import ensure_sample
from production_assets.sources import ProductionDbResource, domain_resources
from resources.kst import today_kst
from resources.settings import load_settings
from resources.warehouse import WarehouseResource
from tests.production.conftest import add_rows, make_db, rows_for, run_writer
from tests.production.test_summaries import direct_sql


def _materialize(selection: list, resources: dict, **kwargs) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        selection,
        resources=resources,
        instance=kwargs.pop("instance", None) or dg.DagsterInstance.ephemeral(),
        **kwargs,
    )


def test_monthly_totals_in_the_warehouse_match_the_sources(
    production_db: ProductionDbResource, warehouse: WarehouseResource, db_dir: Path
) -> None:
    resources = {"production_db": production_db, "warehouse": warehouse}
    job = dg.define_asset_job("months", selection=[assets.production_monthly_totals])
    definitions = dg.Definitions(
        assets=[assets.production_monthly_totals], jobs=[job], resources=resources
    )
    run_job = definitions.resolve_job_def("months")
    for _ in range(2):  # a second run over the same range leaves the same rows
        result = run_job.execute_in_process(
            instance=dg.DagsterInstance.ephemeral(),
            tags={
                "dagster/asset_partition_range_start": "2025-11-01",
                "dagster/asset_partition_range_end": "2026-02-01",
            },
        )
        assert result.success
    frame = warehouse.read_frame(
        "SELECT to_char(month, 'YYYY-MM') AS ym, item_code, total_production, batch_count, "
        "avg_batch_size FROM production_monthly_totals ORDER BY 1, 2"
    )
    expected = {k: v for k, v in direct_sql(db_dir).items() if "2025-11" <= k[0] <= "2026-02"}
    got = {(r.ym, r.item_code): (r.total_production, r.batch_count) for r in frame.itertuples()}
    assert got == expected
    assert (frame.avg_batch_size == frame.total_production / frame.batch_count).all()
    meta = result.asset_materializations_for_node("production_monthly_totals")[0].metadata
    assert meta["dagster/row_count"].value == len(expected)
    months = warehouse.read_frame(
        "SELECT to_char(month, 'YYYY-MM') AS ym, batch_count "
        "FROM production_monthly_totals_by_month ORDER BY 1"
    )
    # December 2025 counts the archive's three batches, not the two the live file repeats
    assert dict(zip(months.ym, months.batch_count, strict=True)) == {
        "2025-11": 3,
        "2025-12": 3,
        "2026-01": 6,
        "2026-02": 3,
    }
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    # the two repeated 2025 rows are reported; they are in the archive, so nothing is lost
    assert checks["live_rows_before_cutoff"].passed
    assert checks["live_rows_before_cutoff"].metadata["rows"].value == 2
    assert checks["rejected_rows_below_threshold"].passed


def test_live_rows_before_the_cutoff_that_no_archive_holds_fail_the_check(
    production_db: ProductionDbResource, warehouse: WarehouseResource, db_dir: Path
) -> None:
    add_rows(
        db_dir / "production_analysis.db", [("2025-12-30 오후 4:00:00", "LTLATE", "ITA", "late", 5)]
    )
    result = _materialize(
        [assets.production_monthly_totals],
        {"production_db": production_db, "warehouse": warehouse},
        partition_key="2026-02-01",
    )
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    check = checks["live_rows_before_cutoff"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["rows"].value == 3
    assert check.metadata["rows_not_in_any_archive"].value == 1


def test_indexes_are_healed_after_the_erp_drops_them(
    production_db: ProductionDbResource, db_dir: Path
) -> None:
    live = db_dir / "production_analysis.db"
    dropped = run_writer("drop-indexes", "--db", str(live))["dropped"]
    assert set(dropped) == set(REQUIRED_INDEXES)
    result = _materialize(
        [assets.production_db_indexes],
        {"production_db": production_db},
    )
    meta = result.asset_materializations_for_node("production_db_indexes")[0].metadata
    assert meta["healed"].value == {
        "archive_2025.db": [],
        "production_analysis.db": sorted(REQUIRED_INDEXES, key=list(REQUIRED_INDEXES).index),
    }
    assert missing_indexes(live) == []
    assert all(c.passed for c in result.get_asset_check_evaluations())


def test_analyze_runs_at_most_once_a_day_unless_forced(production_db: ProductionDbResource) -> None:
    instance = dg.DagsterInstance.ephemeral()
    resources = {"production_db": production_db}

    def analyzed(config: dict | None = None) -> str:
        run_config = {"ops": {"production_db_statistics": {"config": config}}} if config else None
        result = _materialize(
            [assets.production_db_statistics], resources, instance=instance, run_config=run_config
        )
        return (
            result.asset_materializations_for_node("production_db_statistics")[0]
            .metadata["analyzed"]
            .value
        )

    assert analyzed() == "archive_2025.db, production_analysis.db"
    assert analyzed().startswith("none")
    assert analyzed({"force": True}) == "archive_2025.db, production_analysis.db"


def test_a_corrupt_archive_fails_its_steps_and_the_live_file_is_still_served(
    production_db: ProductionDbResource, warehouse: WarehouseResource, db_dir: Path
) -> None:
    run_writer("drop-indexes", "--db", str(db_dir / "production_analysis.db"))
    (db_dir / "archive_2025.db").write_bytes(b"this is not a database" * 100)
    resources = {"production_db": production_db, "warehouse": warehouse}
    result = _materialize(
        [assets.production_db_indexes],
        resources,
        raise_on_error=False,
    )
    assert not result.success
    message = result.failure_data_for_node("production_db_indexes").error.message
    assert "archive_2025.db" in message and "production_analysis.db" not in message
    assert missing_indexes(db_dir / "production_analysis.db") == []  # the live file was healed
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert not checks["integrity_ok"].passed  # reported although the step failed
    integrity = checks["integrity_ok"].metadata["results"].value
    assert integrity["production_analysis.db"] == "ok"
    assert "not a database" in integrity["archive_2025.db"]
    missing = checks["required_indexes_present"].metadata["missing"].value
    assert list(missing) == ["archive_2025.db"]

    live_month = _materialize(
        [assets.production_monthly_totals], resources, partition_key="2026-01-01"
    )
    assert live_month.success
    archive_month = _materialize(
        [assets.production_monthly_totals],
        resources,
        partition_key="2025-12-01",
        raise_on_error=False,
    )
    assert not archive_month.success
    assert (
        "archive_2025.db"
        in archive_month.failure_data_for_node("production_monthly_totals").error.message
    )


def test_sample_databases_are_generated_deterministically(tmp_path: Path) -> None:
    today = dt.date(2026, 11, 22)
    created = ensure_sample(tmp_path / "a", today)
    assert sorted(p.name for p in created) == ["archive_2025.db", "production_analysis.db"]
    ensure_sample(tmp_path / "b", today)
    assert ensure_sample(tmp_path / "a", today) == []  # existing files are left alone

    def dump(folder: Path, name: str) -> list[tuple]:
        conn = sqlite3.connect(folder / name)
        try:
            return conn.execute("SELECT * FROM production_records ORDER BY id").fetchall()
        finally:
            conn.close()

    for name in ("archive_2025.db", "production_analysis.db"):
        assert dump(tmp_path / "a", name) == dump(tmp_path / "b", name)
    live = dump(tmp_path / "a", "production_analysis.db")
    assert any(" 오후 " in row[1] for row in live) and any(" 오전 " in row[1] for row in live)
    assert max(row[1][:10] for row in live) == "2026-11-21"
    assert sum(row[1] < "2026-01-01" for row in live) == 40  # the ERP's repeated year-end rows


def test_local_location_generates_samples_under_platform_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLATFORM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PRODUCTION_DB_DIR", raising=False)
    layout = domain_resources(load_settings())["production_db"].layout()
    assert layout.db_dir == tmp_path / "home" / "production"
    # the samples are made for today in KST, the code's clock: the archive is last year's
    assert layout.live.path.exists() and [a.name for a in layout.archives] == [
        f"archive_{today_kst().year - 1}.db"
    ]
    dg.Definitions.validate_loadable(defs)


def test_observations_report_size_rows_and_date_range(production_db: ProductionDbResource) -> None:
    observe_job = dg.define_asset_job(
        "observe", selection=[assets.production_live_db.key, assets.production_archive_dbs.key]
    )
    definitions = dg.Definitions(
        assets=[assets.production_live_db, assets.production_archive_dbs],
        jobs=[observe_job],
        resources={"production_db": production_db},
    )
    result = definitions.resolve_job_def("observe").execute_in_process(
        instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    seen = {
        e.asset_key.to_user_string(): e.asset_observation_data.asset_observation.metadata
        for e in result.get_asset_observation_events()
    }
    live = seen["production_live_db"]
    assert live["dagster/row_count"].value == 11
    assert (live["min_date"].value[:10], live["max_date"].value[:10]) == (
        "2025-12-31",
        "2026-02-15",
    )
    assert live["rows_outside_range"].value == 2 and live["cutoff"].value == "2026-01-01"
    archives = seen["production_archive_dbs"]
    assert archives["archives"].value == "archive_2025.db"
    assert archives["dagster/row_count"].value == 9
    assert archives["unreadable"].value == {}


def test_a_missing_live_file_fails_the_index_step_by_name_and_the_archive_is_healed(
    production_db: ProductionDbResource, db_dir: Path
) -> None:
    live = db_dir / "production_analysis.db"
    for path in (live, Path(f"{live}-wal"), Path(f"{live}-shm")):
        path.unlink(missing_ok=True)
    archive = db_dir / "archive_2025.db"
    run_writer("drop-indexes", "--db", str(archive))
    result = _materialize(
        [assets.production_db_indexes], {"production_db": production_db}, raise_on_error=False
    )
    assert not result.success
    message = result.failure_data_for_node("production_db_indexes").error.message
    assert "production_analysis.db" in message and "does not exist" in message
    assert missing_indexes(archive) == []  # the other file is still served
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    integrity = checks["integrity_ok"].metadata["results"].value
    assert integrity["archive_2025.db"] == "ok"
    assert "does not exist" in integrity["production_analysis.db"]
    assert list(checks["required_indexes_present"].metadata["missing"].value) == [
        "production_analysis.db"
    ]


def test_a_damaged_archive_page_fails_its_months_by_name_and_live_months_are_served(
    production_db: ProductionDbResource, warehouse: WarehouseResource, db_dir: Path
) -> None:
    archive = db_dir / "archive_2025.db"
    make_db(archive, rows_for(["2025-12-01"] * 400))  # large enough to have table pages to damage
    with open(archive, "r+b") as handle:  # valid header, damaged table and index pages
        handle.seek(4096 * 2)
        handle.write(b"\xff" * 4096 * 6)
    resources = {"production_db": production_db, "warehouse": warehouse}
    archive_month = _materialize(
        [assets.production_monthly_totals],
        resources,
        partition_key="2025-12-01",
        raise_on_error=False,
    )
    assert not archive_month.success
    message = archive_month.failure_data_for_node("production_monthly_totals").error.message
    assert "archive_2025.db" in message and "malformed" in message
    live_month = _materialize(
        [assets.production_monthly_totals], resources, partition_key="2026-01-01"
    )
    assert live_month.success
