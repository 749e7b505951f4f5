"""Bad files and partial failures: each healthy file and month is still served, nothing is lost.

Every database here is a small SQLite file made by the test itself.
"""

import sqlite3
from pathlib import Path

import dagster as dg

from production_assets import assets
from production_assets.databases import LIVE_DB_NAME, REQUIRED_INDEXES
from production_assets.maintenance import has_statistics
from production_assets.sources import ProductionDbResource
from tests.production.conftest import make_db, rows_for


def _maintenance(resource: ProductionDbResource) -> dg.ExecuteInProcessResult:
    job = dg.define_asset_job(
        "maintenance",
        selection=[
            assets.production_db_indexes,
            assets.production_db_statistics,
        ],
    )
    definitions = dg.Definitions(
        assets=[
            assets.production_live_db,
            assets.production_archive_dbs,
            assets.production_db_indexes,
            assets.production_db_statistics,
        ],
        jobs=[job],
        resources={"production_db": resource},
    )
    return definitions.resolve_job_def("maintenance").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )


def test_one_bad_file_does_not_stop_analyze_and_the_wal_check_of_the_healthy_files(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    make_db(folder / "archive_2024.db", rows_for(["2024-03-01", "2024-04-01"]))
    (folder / "archive_2025.db").write_bytes(b"not a database, the ERP's copy went wrong" * 50)
    live = make_db(folder / LIVE_DB_NAME, rows_for(["2026-01-05"]), wal=True)
    erp = sqlite3.connect(live)  # an ERP connection that never checkpoints: a WAL of 20,000 rows
    erp.execute("PRAGMA wal_autocheckpoint=0")
    with erp:
        erp.executemany(
            "INSERT INTO production_records (production_date, item_code, good_quantity) "
            "VALUES (?, ?, ?)",
            [("2026-01-06", f"IT{i % 9}", 1.0) for i in range(20_000)],
        )
    assert not has_statistics(live) and not has_statistics(folder / "archive_2024.db")

    result = _maintenance(ProductionDbResource(db_dir=str(folder), wal_limit_mb=0.1))
    erp.close()

    assert not result.success
    for step in ("production_db_indexes", "production_db_statistics"):
        message = result.failure_data_for_node(step).error.message
        assert "archive_2025.db" in message and "archive_2024.db" not in message
    # ANALYZE ran on the two healthy files although the index step failed on the third
    assert has_statistics(live) and has_statistics(folder / "archive_2024.db")
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    wal = checks["wal_below_limit"].metadata["wal"].value
    assert wal[LIVE_DB_NAME]["before_bytes"] > 100_000 and wal[LIVE_DB_NAME]["after_bytes"] == 0


def test_an_index_built_after_the_last_analyze_makes_the_file_due(tmp_path: Path) -> None:
    path = make_db(tmp_path / LIVE_DB_NAME, rows_for(["2026-01-05"]), indexes=False)
    conn = sqlite3.connect(path)
    conn.execute(next(iter(REQUIRED_INDEXES.values())))
    conn.execute("ANALYZE production_records")
    conn.commit()
    assert has_statistics(path)
    conn.execute(list(REQUIRED_INDEXES.values())[1])  # a second index, built after ANALYZE
    conn.commit()
    conn.close()
    assert not has_statistics(path)
