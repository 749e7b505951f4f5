"""The year-end rollover: every row moved exactly once, refused twice, all or nothing."""

import datetime as dt
import hashlib
import sqlite3
from collections import Counter
from pathlib import Path

import dagster as dg
import pytest

from production_assets import rollover as rollover_module
from production_assets.backups import KST, list_backups
from production_assets.databases import discover
from production_assets.definitions import defs
from production_assets.maintenance import integrity_check, missing_indexes
from production_assets.rollover import RolloverError, rollover
from production_assets.sources import ProductionDbResource
from production_assets.summaries import monthly_totals
from tests.production.conftest import count, make_db, rows_for

NEW_YEAR = dt.datetime(2027, 1, 3, 9, 0, tzinfo=KST)


def lots(path: Path) -> Counter:
    conn = sqlite3.connect(path)
    try:
        return Counter(r[0] for r in conn.execute("SELECT lot_number FROM production_records"))
    finally:
        conn.close()


def digests(folder: Path) -> dict[str, str]:
    """What a user can see of each database file: journal mode, schema and every row."""
    seen = {}
    for path in sorted(folder.glob("*.db")):
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            parts = [conn.execute("PRAGMA journal_mode").fetchone()[0]]
            parts += [
                repr(r)
                for r in conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name")
            ]
            parts += [repr(r) for r in conn.execute("SELECT * FROM production_records ORDER BY id")]
        finally:
            conn.close()
        seen[path.name] = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return seen


@pytest.fixture
def year_end(db_dir: Path) -> Path:
    """The fixture's files at the start of 2027: two January 2027 rows already in the live file."""
    conn = sqlite3.connect(db_dir / "production_analysis.db")
    conn.executemany(
        "INSERT INTO production_records (production_date, lot_number, item_code, item_name, "
        "good_quantity) VALUES (?, ?, ?, ?, ?)",
        rows_for(["2027-01-02"], per_day=2),
    )
    conn.commit()
    conn.close()
    return db_dir


def test_rollover_moves_every_row_exactly_once(year_end: Path) -> None:
    live = year_end / "production_analysis.db"
    archive_2025 = (year_end / "archive_2025.db").read_bytes()
    live_lots = lots(live)
    months_before = monthly_totals(discover(year_end), "2024-01-01", "2028-01-01").by_month()

    report = rollover(year_end, 2026, now=NEW_YEAR)

    archive = year_end / "archive_2026.db"
    assert lots(archive) + lots(live) == live_lots  # each row in exactly one file
    assert count(live) == 2 and count(live, "production_date < '2027-01-01'") == 0
    assert count(archive) == report.rows_moved == 9 + 2  # 2026 rows + the reappeared 2025 rows
    assert report.stale_rows_moved == 2
    assert (year_end / "archive_2025.db").read_bytes() == archive_2025  # older archive untouched
    assert sum(report.rows_before.values()) == sum(report.rows_after.values())
    assert (report.cutoff_before, report.cutoff_after) == ("2026-01-01", "2027-01-01")
    assert discover(year_end).cutoff == "2027-01-01"
    for path in (live, archive):
        assert integrity_check(path) == ["ok"]
        assert missing_indexes(path) == []
    # the summaries do not move: the cutoff follows the files, no configuration edit
    assert (
        monthly_totals(discover(year_end), "2024-01-01", "2028-01-01").by_month() == months_before
    )
    assert len(list_backups(year_end / "backups", "production")) == 1
    # new rows continue the old numbering instead of reusing archived ids
    conn = sqlite3.connect(live)
    conn.execute(
        "INSERT INTO production_records (production_date, item_code) VALUES ('2027-01-05', 'X')"
    )
    new_id = conn.execute("SELECT MAX(id) FROM production_records").fetchone()[0]
    conn.close()
    assert new_id > max(r for r in _ids(archive))


def _ids(path: Path) -> list[int]:
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT id FROM production_records")]
    finally:
        conn.close()


def test_rollover_is_refused_the_second_time_and_changes_nothing(year_end: Path) -> None:
    rollover(year_end, 2026, now=NEW_YEAR)
    before = digests(year_end)
    with pytest.raises(RolloverError, match="already rolled over"):
        rollover(year_end, 2026, now=NEW_YEAR)
    with pytest.raises(RolloverError, match="rollovers go forward"):
        rollover(year_end, 2025, now=NEW_YEAR)
    assert digests(year_end) == before


def test_a_failing_step_leaves_every_file_unchanged(year_end: Path, monkeypatch) -> None:
    before = digests(year_end)
    real_discover = rollover_module.discover
    calls = {"n": 0}

    def discover_fails_after_the_swap(
        *args, **kwargs
    ):  # the post-swap verification sees a wrong cutoff
        calls["n"] += 1
        layout = real_discover(*args, **kwargs)
        if calls["n"] == 2:
            return real_discover(year_end / "backups")
        return layout

    monkeypatch.setattr(rollover_module, "discover", discover_fails_after_the_swap)
    with pytest.raises(RolloverError, match="cutoff"):
        rollover(year_end, 2026, now=NEW_YEAR)
    after = digests(year_end)
    assert after == before
    assert not (year_end / "archive_2026.db").exists()
    assert not list(year_end.glob(".rollover_*")) and not list(year_end.glob("*.pre_rollover_*"))


def test_a_corrupt_live_file_is_refused_before_anything_happens(year_end: Path) -> None:
    live = year_end / "production_analysis.db"
    conn = sqlite3.connect(live)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    data = bytearray(live.read_bytes())
    data[4096 : 4096 + 2000] = b"\xff" * 2000
    live.write_bytes(bytes(data))
    before = live.read_bytes()
    with pytest.raises(RolloverError, match="integrity_check"):
        rollover(year_end, 2026, now=NEW_YEAR)
    assert live.read_bytes() == before
    assert not (year_end / "archive_2026.db").exists()


def test_rows_merge_into_an_existing_archive_of_that_year(year_end: Path) -> None:
    # an archive_2026.db made by hand (no rollover record) keeps its rows; the live rows join them
    make_db(year_end / "archive_2026.db", rows_for(["2026-01-15"], per_day=4))
    live_lots = lots(year_end / "production_analysis.db")
    report = rollover(year_end, 2026, now=NEW_YEAR)
    assert report.archive_existed
    assert count(year_end / "archive_2026.db") == 4 + report.rows_moved
    assert lots(year_end / "archive_2026.db") - Counter(lots_of_hand_made()) == Counter(
        {k: v for k, v in live_lots.items() if not k.startswith("LT2027")}
    )


def lots_of_hand_made() -> list[str]:
    return [r[1] for r in rows_for(["2026-01-15"], per_day=4)]


def test_the_erp_writing_during_the_rollover_aborts_it(year_end: Path, start_writer) -> None:
    live = year_end / "production_analysis.db"
    writer = start_writer("append", "--db", str(live), "--duration", "3", "--day", "2026-12-30")
    with pytest.raises(RolloverError, match="changed during the rollover"):
        rollover(year_end, 2026, now=NEW_YEAR)
    writer.wait()
    assert not (year_end / "archive_2026.db").exists()
    assert count(live, "production_date < '2027-01-01'") > 11


def test_rollover_job_reports_and_refuses_a_second_run(tmp_path: Path) -> None:
    # the job runs on the real clock: roll over a year that is over, into a folder without archives
    year = dt.datetime.now(KST).year - 1
    folder = tmp_path / "database"
    folder.mkdir()
    make_db(
        folder / "production_analysis.db",
        rows_for([f"{year}-03-01", f"{year}-12-31", f"{year + 1}-01-01"], per_day=4),
        wal=True,
    )
    job = defs.resolve_job_def("production_archive_rollover_job")
    resources = {"production_db": ProductionDbResource(db_dir=str(folder))}
    config = {"ops": {"archive_rollover": {"config": {"year": year}}}}
    result = job.execute_in_process(
        run_config=config, resources=resources, instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    observation = result.asset_observations_for_node("archive_rollover")[0]
    assert observation.metadata["rows_moved"].value == 8
    assert count(folder / "production_analysis.db") == 4
    assert count(folder / f"archive_{year}.db") == 8
    again = job.execute_in_process(
        run_config=config,
        resources=resources,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not again.success
    assert "already rolled over" in again.failure_data_for_node("archive_rollover").error.message


def test_a_year_that_is_not_over_is_refused_and_nothing_changes(year_end: Path) -> None:
    before = digests(year_end)
    late_december = dt.datetime(2026, 12, 28, 18, 0, tzinfo=KST)
    with pytest.raises(RolloverError, match="not over yet"):
        rollover(year_end, 2026, now=late_december)
    assert digests(year_end) == before
    assert not (year_end / "archive_2026.db").exists()
    # 2026-12-31 15:30 UTC is already 2027 in Seoul: the year is over there
    report = rollover(year_end, 2026, now=dt.datetime(2026, 12, 31, 15, 30, tzinfo=dt.UTC))
    assert report.rows_moved == 11
