"""The monthly totals keep what was right when a file vanishes, breaks or holds bad dates.

Every database here is a small SQLite file made by the test itself; the warehouse is the real
PostgreSQL test server.
"""

import datetime as dt
import sqlite3
from pathlib import Path

import dagster as dg

from production_assets import assets
from production_assets.databases import LIVE_DB_NAME, DbFile, discover
from production_assets.month_store import UNDATED_MONTH, rejected_month
from production_assets.sources import ProductionDbResource
from production_assets.summaries import changed_months, month_fingerprints
from production_assets.watch import evaluate
from resources.warehouse import WarehouseResource
from tests.production.conftest import add_rows, make_db, rows_for

MONTHS_2024 = [f"2024-{m:02d}-10" for m in range(1, 13)]


def _folder(tmp_path: Path) -> Path:
    """archive_2024.db (2 batches on the 10th of every 2024 month: 10 + 20), archive_2025.db
    (March and April 2025) and a live file (January 2026)."""
    folder = tmp_path / "database"
    folder.mkdir()
    make_db(folder / "archive_2024.db", rows_for(MONTHS_2024, per_day=2))
    make_db(folder / "archive_2025.db", rows_for(["2025-03-03", "2025-04-04"]))
    make_db(folder / LIVE_DB_NAME, rows_for(["2026-01-05"]), wal=True)
    return folder


def _run(
    folder: Path,
    warehouse: WarehouseResource,
    first: str,
    last: str,
    config: dict | None = None,
) -> dg.ExecuteInProcessResult:
    """One run of production_monthly_totals over the months first..last (partition keys)."""
    resources = {"production_db": ProductionDbResource(db_dir=str(folder)), "warehouse": warehouse}
    job = dg.define_asset_job("months", selection=[assets.production_monthly_totals])
    definitions = dg.Definitions(
        assets=[assets.production_monthly_totals], jobs=[job], resources=resources
    )
    run_config = {"ops": {"production_monthly_totals": {"config": config}}} if config else None
    return definitions.resolve_job_def("months").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        run_config=run_config,
        raise_on_error=False,
        tags={
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last,
        },
    )


def _totals(warehouse: WarehouseResource) -> dict[tuple[str, str], tuple[float, int]]:
    frame = warehouse.read_frame(
        "SELECT to_char(month, 'YYYY-MM') AS ym, item_code, total_production, batch_count "
        "FROM production_monthly_totals"
    )
    return {(r.ym, r.item_code): (r.total_production, r.batch_count) for r in frame.itertuples()}


def _error(result: dg.ExecuteInProcessResult) -> str:
    return result.failure_data_for_node("production_monthly_totals").error.message


def test_a_vanished_archive_fails_its_months_by_name_and_keeps_their_rows(
    tmp_path: Path, warehouse: WarehouseResource
) -> None:
    folder = _folder(tmp_path)
    assert _run(folder, warehouse, "2024-01-01", "2024-12-01").success
    before = _totals(warehouse)
    # 12 months x items ITA (10) and ITB (20): 24 rows, 24 batches, 12 x 30 = 360 in total
    assert len(before) == 24 and sum(t for t, _ in before.values()) == 360

    (folder / "archive_2024.db").unlink()
    result = _run(folder, warehouse, "2024-01-01", "2024-12-01")
    assert not result.success
    message = _error(result)
    assert "archive_2024.db" in message and "2024-01, 2024-02" in message
    assert _totals(warehouse) == before  # the 2024 figures are kept
    # months the vanished file never served are computed as before
    assert _run(folder, warehouse, "2025-03-01", "2025-04-01").success
    assert _totals(warehouse)[("2025-03", "ITA")] == (10.0, 1)

    # Deleted on purpose: named in the config, its months are recomputed without it.
    accepted = _run(
        folder, warehouse, "2024-01-01", "2024-12-01", {"accept_missing_files": ["archive_2024.db"]}
    )
    assert accepted.success
    assert not [k for k in _totals(warehouse) if k[0].startswith("2024")]


def test_the_sensor_reports_a_vanished_archive_instead_of_requesting_its_months(
    tmp_path: Path,
) -> None:
    folder = _folder(tmp_path)
    cursor = None
    seen: list[str] = []
    for now in range(4):  # first sight, then settled: every month is requested once
        outcome = evaluate(cursor, discover(folder), float(now), checks=2, wait_s=0.5)
        cursor = outcome.cursor
        seen += outcome.changed_months
    assert seen == [m[:7] for m in MONTHS_2024] + ["2025-03", "2025-04", "2026-01"]
    for now in range(4, 8):
        outcome = evaluate(cursor, discover(folder), float(now), checks=2, wait_s=0.5)
        cursor = outcome.cursor
        assert outcome.changed_months == []
    archive = folder / "archive_2024.db"
    kept = archive.read_bytes()
    archive.unlink()
    for now in range(8, 12):
        outcome = evaluate(cursor, discover(folder), float(now), checks=2, wait_s=0.5)
        cursor = outcome.cursor
        assert outcome.changed_months == []  # no rebuild of twelve emptied months
        assert outcome.vanished == ["archive_2024.db"]
        assert outcome.events["archive_2024.db"] == "vanished"
        assert outcome.newly_vanished == (["archive_2024.db"] if now == 8 else [])
    archive.write_bytes(kept)  # put back as it was: nothing to recompute
    for now in range(12, 16):
        outcome = evaluate(cursor, discover(folder), float(now), checks=2, wait_s=0.5)
        cursor = outcome.cursor
        assert outcome.changed_months == [] and outcome.vanished == []


def test_a_broken_live_file_does_not_fail_months_the_archives_hold(
    tmp_path: Path, warehouse: WarehouseResource
) -> None:
    folder = _folder(tmp_path)
    assert _run(folder, warehouse, "2025-03-01", "2026-01-01").success
    before = _totals(warehouse)
    live = folder / LIVE_DB_NAME
    for extra in ("-wal", "-shm"):
        Path(f"{live}{extra}").unlink(missing_ok=True)
    live.write_bytes(b"")  # the ERP truncated its file

    march = _run(folder, warehouse, "2025-03-01", "2025-03-01")
    assert march.success
    check = {c.check_name: c for c in march.get_asset_check_evaluations()}[
        "live_rows_before_cutoff"
    ]
    assert (
        not check.passed
        and "production_analysis.db" in check.metadata["live_file_unreadable"].value
    )
    january = _run(folder, warehouse, "2026-01-01", "2026-01-01")
    assert not january.success and "production_analysis.db" in _error(january)
    assert _totals(warehouse) == before  # January 2026 keeps the rows it had


def _rejected(warehouse: WarehouseResource) -> list[tuple[str, str]]:
    frame = warehouse.read_frame(
        "SELECT to_char(month, 'YYYY-MM') AS ym, production_date FROM production_rejected_records "
        "ORDER BY 2"
    )
    return list(zip(frame.ym, frame.production_date, strict=True))


def test_a_rejected_row_belongs_to_the_month_its_raw_date_names_whatever_the_run(
    tmp_path: Path, warehouse: WarehouseResource
) -> None:
    folder = _folder(tmp_path)
    add_rows(
        folder / "archive_2024.db",
        [
            ("2024/03/05 10:00", "LTX1", "ITA", "item A", 5.0),  # names March 2024
            ("2024-13-01", "LTX2", "ITA", "item A", 5.0),  # names no month
        ],
    )
    expected = [("2024-03", "2024/03/05 10:00"), (UNDATED_MONTH.strftime("%Y-%m"), "2024-13-01")]
    assert _run(folder, warehouse, "2024-01-01", "2024-12-01").success
    assert sorted(_rejected(warehouse)) == sorted(expected)
    # '2024/03/05' and '2024-13-01' sort after every '2024-12-' date: December's own run reads
    # them again; they stay under the same months, once.
    for _ in range(2):
        assert _run(folder, warehouse, "2024-12-01", "2024-12-01").success
        assert sorted(_rejected(warehouse)) == sorted(expected)
    assert _run(folder, warehouse, "2024-06-01", "2024-12-01").success
    assert sorted(_rejected(warehouse)) == sorted(expected)


def test_rejected_month_reads_the_month_a_raw_date_names() -> None:
    assert rejected_month("2024/3/5") == dt.date(2024, 3, 1)
    assert rejected_month("2024.11.30 오후 1:00:00") == dt.date(2024, 11, 1)
    assert rejected_month("20240105") == dt.date(2024, 1, 1)
    assert rejected_month("2024-13-01") == UNDATED_MONTH
    assert rejected_month("n/a") == UNDATED_MONTH
    assert rejected_month(None) == UNDATED_MONTH


def test_renaming_an_item_changes_the_months_it_is_named_in(tmp_path: Path) -> None:
    path = make_db(tmp_path / "archive_2025.db", rows_for(["2025-03-03", "2025-04-04"]))
    db = DbFile("archive_2025.db", path, "archive", 2025, None, "2026-01-01")
    before = {"archive_2025.db": month_fingerprints(db)}
    conn = sqlite3.connect(path)
    with conn:  # the ERP renames item B in April only; quantities stay
        conn.execute(
            "UPDATE production_records SET item_name = 'item B (new pack)' "
            "WHERE item_code = 'ITB' AND production_date LIKE '2025-04-%'"
        )
    conn.close()
    after = {"archive_2025.db": month_fingerprints(db)}
    assert changed_months(before, after) == ["2025-04"]
