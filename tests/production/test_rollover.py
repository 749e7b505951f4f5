"""The year-end rollover: every row moved exactly once, refused twice, all or nothing."""

import datetime as dt
import hashlib
import logging
import sqlite3
from collections import Counter
from pathlib import Path

import dagster as dg
import pytest
import yaml

from production_assets import rollover as rollover_module
from production_assets.backups import list_backups
from production_assets.databases import discover
from production_assets.definitions import defs
from production_assets.jobs import FILES_WRITE_TAG_KEY
from production_assets.maintenance import integrity_check, missing_indexes
from production_assets.rollover import RolloverError, rollover
from production_assets.sources import ProductionDbResource
from production_assets.summaries import monthly_totals
from resources.kst import KST, now_kst
from tests.production.conftest import add_rows, count, make_db, rows_for

NEW_YEAR = dt.datetime(2027, 1, 3, 9, 0, tzinfo=KST)
ROOT = Path(__file__).resolve().parents[2]


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
    add_rows(db_dir / "production_analysis.db", rows_for(["2027-01-02"], per_day=2))
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


def duplicated_identities(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT production_date, item_code, lot_number, COUNT(*) FROM production_records "
            "GROUP BY production_date, item_code, lot_number HAVING COUNT(*) > 1"
        ).fetchall()
    finally:
        conn.close()


def values_of(path: Path, where: str) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT production_date, lot_number, item_code, item_name, good_quantity "
            f"FROM production_records WHERE {where} ORDER BY production_date, lot_number"
        ).fetchall()
    finally:
        conn.close()


NO_LOT_ROW = ("2026-03-01 오전 9:00:00", None, "ITA", "item A", 5.0)
CHANGED_LIVE_ROW = ("2026-01-31 오전 8:00:00", "LT2026-01-310", "ITA", "item A", 10.0)
HAND_MADE_ONLY = [
    ("2026-03-10 오전 8:00:00", "LT-HAND", "ITB", "item B", 42.0),
    # same day, time and item as NO_LOT_ROW but with a lot: another identity (lot IS, not =)
    ("2026-03-01 오전 9:00:00", "LT2026-03-01", "ITA", "item A", 7.0),
]


@pytest.fixture
def hand_made_archive(year_end: Path) -> Path:
    """An archive_2026.db made by hand with part of 2026: some rows as live, one changed since."""
    add_rows(year_end / "production_analysis.db", [NO_LOT_ROW])
    same_as_live = [*rows_for(["2026-01-01"]), NO_LOT_ROW]
    older_version = (*CHANGED_LIVE_ROW[:3], "item A (old name)", 999.0)
    make_db(year_end / "archive_2026.db", [*same_as_live, older_version, *HAND_MADE_ONLY])
    return year_end


def test_merging_into_a_hand_made_archive_keeps_one_row_per_identity_and_live_wins(
    hand_made_archive: Path,
) -> None:
    folder = hand_made_archive
    live, archive = folder / "production_analysis.db", folder / "archive_2026.db"
    live_year_rows = values_of(live, "production_date < '2027-01-01'")
    assert count(archive) == 7 and len(live_year_rows) == 12

    report = rollover(folder, 2026, now=NEW_YEAR)

    assert duplicated_identities(archive) == []
    # the live version of the changed row replaced the archive's, under its live values
    assert values_of(archive, "lot_number = 'LT2026-01-310'") == [CHANGED_LIVE_ROW]
    # every live row of the year is in the archive as it was; the archive-only rows stay
    assert Counter(values_of(archive, "1=1")) == Counter(live_year_rows + HAND_MADE_ONLY)
    assert count(live) == 2 and count(live, "production_date < '2027-01-01'") == 0
    # 3 identical rows + the row without a lot + the changed row were already in the archive
    assert (report.duplicates_dropped, report.duplicates_changed) == (5, 1)
    assert report.rows_moved == 12
    assert count(archive) == 7 - 5 + 12
    assert sum(report.rows_after.values()) == sum(report.rows_before.values()) - 5
    months = monthly_totals(discover(folder), "2026-01-01", "2026-04-01").by_month()
    assert months["2026-01"]["total_production"] == 60.0 + 60.0  # not 60 twice, not 999
    assert months["2026-03"]["total_production"] == 5.0 + 42.0 + 7.0
    assert integrity_check(archive) == ["ok"] and missing_indexes(archive) == []
    with pytest.raises(RolloverError, match="already rolled over"):
        rollover(folder, 2026, now=NEW_YEAR)


def _fail_during_merge(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    real = rollover_module._replace_same_identity

    def merge_then_fail(conn: sqlite3.Connection, end: str) -> tuple[int, int, int]:
        real(conn, end)
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(rollover_module, "_replace_same_identity", merge_then_fail)


def _fail_building_the_live_file(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    def fail(*args: object) -> int:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(rollover_module, "_build_live", fail)


def _fail_after_the_swap(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    real_discover = rollover_module.discover
    calls = {"n": 0}

    def wrong_layout_after_the_swap(*args: object, **kwargs: object):
        calls["n"] += 1
        return real_discover(folder / "backups") if calls["n"] == 2 else real_discover(*args)

    monkeypatch.setattr(rollover_module, "discover", wrong_layout_after_the_swap)


@pytest.mark.parametrize(
    ("inject", "error"),
    [
        (_fail_during_merge, "disk is full"),
        (_fail_building_the_live_file, "disk is full"),
        (_fail_after_the_swap, "cutoff"),
    ],
)
def test_a_failing_merge_into_a_hand_made_archive_leaves_every_file_unchanged(
    hand_made_archive: Path, monkeypatch: pytest.MonkeyPatch, inject, error: str
) -> None:
    folder = hand_made_archive
    before = digests(folder)
    inject(monkeypatch, folder)
    with pytest.raises((RolloverError, sqlite3.OperationalError), match=error):
        rollover(folder, 2026, now=NEW_YEAR)
    assert digests(folder) == before
    assert not list(folder.glob(".rollover_*")) and not list(folder.glob("*.pre_rollover_*"))
    monkeypatch.undo()
    assert rollover(folder, 2026, now=NEW_YEAR).duplicates_dropped == 5  # and it can run again


def test_the_erp_writing_during_the_rollover_aborts_it(
    year_end: Path, erp_writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = year_end / "production_analysis.db"
    erp = erp_writer(live, day="2026-12-30")
    real_copy = rollover_module.copy_database

    def copy_after_the_erp_commits(src: sqlite3.Connection, dest: Path) -> None:
        # After the final backups, while the rollover takes its snapshot, the ERP commits a row.
        erp.transaction(5)
        real_copy(src, dest)

    monkeypatch.setattr(rollover_module, "copy_database", copy_after_the_erp_commits)
    with pytest.raises(RolloverError, match="changed during the rollover"):
        rollover(year_end, 2026, now=NEW_YEAR)
    assert erp.close() == 5
    assert not (year_end / "archive_2026.db").exists()
    # the fixture's 11 rows before 2027 and the ERP's 5 are all still in the live file
    assert count(live, "production_date < '2027-01-01'") == 11 + 5


def test_rollover_job_reports_and_refuses_a_second_run(tmp_path: Path) -> None:
    # the job runs on the real clock: roll over a year that is over, into a folder without archives
    year = now_kst().year - 1
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


def test_rollover_job_reports_the_duplicates_it_replaced(tmp_path: Path) -> None:
    year = now_kst().year - 1
    folder = tmp_path / "database"
    folder.mkdir()
    live_rows = rows_for([f"{year}-03-01", f"{year + 1}-01-01"])
    make_db(folder / "production_analysis.db", live_rows, wal=True)
    changed = (*live_rows[0][:4], 1.0)
    make_db(folder / f"archive_{year}.db", [changed, *live_rows[1:3]])
    instance = dg.DagsterInstance.ephemeral()
    result = defs.resolve_job_def("production_archive_rollover_job").execute_in_process(
        run_config={"ops": {"archive_rollover": {"config": {"year": year}}}},
        resources={"production_db": ProductionDbResource(db_dir=str(folder))},
        instance=instance,
    )
    assert result.success
    metadata = result.asset_observations_for_node("archive_rollover")[0].metadata
    assert metadata["duplicates_dropped"].value == 3
    assert metadata["duplicates_changed"].value == 1
    assert sum(metadata["rows_after"].value.values()) == 6 + 3 - 3
    assert count(folder / f"archive_{year}.db") == 3
    warnings = [
        e.user_message
        for e in instance.all_logs(result.run_id)
        if e.level == logging.WARNING and "replaced them" in e.user_message
    ]
    assert len(warnings) == 1 and "3 rows" in warnings[0] and "(1 had" in warnings[0]
    assert result.dagster_run.tags[FILES_WRITE_TAG_KEY] == "write"


FILE_WRITING_JOBS = [
    "production_maintenance_job",
    "production_archive_rollover_job",
    "production_restore_job",
]


@pytest.mark.parametrize("job_name", FILE_WRITING_JOBS)
def test_jobs_that_write_the_database_files_carry_the_files_run_tag(job_name: str) -> None:
    # run_tags is what the UI, schedules and sensors put on every run of the job
    assert defs.resolve_job_def(job_name).run_tags[FILES_WRITE_TAG_KEY] == "write"


def test_the_monthly_totals_job_only_reads_and_is_not_queued_behind_them() -> None:
    assert FILES_WRITE_TAG_KEY not in defs.resolve_job_def("production_monthly_totals_job").run_tags


@pytest.mark.parametrize("path", ["dagster.yaml", "deploy/dagster.yaml"])
def test_instances_run_one_file_writing_run_at_a_time(path: str) -> None:
    runs = yaml.safe_load((ROOT / path).read_text())["concurrency"]["runs"]
    limits = [item for item in runs["tag_concurrency_limits"] if item["key"] == FILES_WRITE_TAG_KEY]
    assert limits == [{"key": FILES_WRITE_TAG_KEY, "limit": 1}]  # any value of the tag counts


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
