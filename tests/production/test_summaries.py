"""Monthly totals across live and archive files: cutoff, Korean times, rejects, weighted means."""

import sqlite3
from pathlib import Path

import pytest

from production_assets.databases import DatabaseFileError, discover
from production_assets.summaries import month_fingerprints, month_ranges, monthly_totals
from tests.production.conftest import make_db, rows_for


def direct_sql(db_dir: Path) -> dict[tuple[str, str], tuple[float, int]]:
    """The reference computation: archive rows before the cutoff, live rows from it."""
    conn = sqlite3.connect(db_dir / "production_analysis.db")
    conn.execute("ATTACH DATABASE ? AS archive", (str(db_dir / "archive_2025.db"),))
    rows = conn.execute(
        """
        SELECT substr(production_date, 1, 7), item_code, SUM(good_quantity), COUNT(*) FROM (
            SELECT * FROM archive.production_records WHERE production_date < '2026-01-01'
            UNION ALL
            SELECT * FROM main.production_records WHERE production_date >= '2026-01-01'
        ) GROUP BY 1, 2
        """
    ).fetchall()
    conn.close()
    return {(ym, code): (total, n) for ym, code, total, n in rows}


def test_totals_match_a_direct_sql_computation(db_dir: Path) -> None:
    totals = monthly_totals(discover(db_dir), "2024-01-01", "2027-01-01")
    got = {(i.year_month, i.item_code): (i.total_production, i.batch_count) for i in totals.items}
    assert got == direct_sql(db_dir)
    assert {ym for ym, _ in got} == {"2024-06", "2025-11", "2025-12", "2026-01", "2026-02"}


def test_prior_year_rows_in_the_live_file_are_not_counted_twice(db_dir: Path) -> None:
    # The live file repeats two rows of 2025-12-31 that the archive already holds.
    december = monthly_totals(discover(db_dir), "2025-12-01", "2026-01-01").by_month()["2025-12"]
    assert december["batch_count"] == 3
    assert december["total_production"] == 60.0
    totals = monthly_totals(discover(db_dir), "2025-12-01", "2026-02-01")
    assert totals.rows_by_file == {"archive_2025.db": 3, "production_analysis.db": 6}


def test_rows_with_korean_am_pm_times_land_in_their_month(db_dir: Path) -> None:
    totals = monthly_totals(discover(db_dir), "2026-01-01", "2026-02-01")
    assert totals.by_month()["2026-01"]["batch_count"] == 6  # "2026-01-31 오전 10:00:00" included


def test_average_batch_size_is_weighted(tmp_path: Path) -> None:
    make_db(
        tmp_path / "production_analysis.db",
        [
            ("2026-03-01", "L1", "IT1", "one", 10.0),
            ("2026-03-02", "L2", "IT1", "one", 30.0),
            ("2026-03-02 오후 3:00:00", "L3", "IT1", "one", 50.0),
            ("2026-03-03", "L4", "IT2", "two", 100.0),
        ],
    )
    totals = monthly_totals(discover(tmp_path), "2026-03-01", "2026-04-01")
    item = {i.item_code: i for i in totals.items}["IT1"]
    assert item.avg_batch_size == 30.0
    month = totals.by_month()["2026-03"]
    assert month["avg_batch_size"] == 190.0 / 4  # not the average of the item averages (65)


def test_malformed_dates_are_rejected_not_miscounted(tmp_path: Path) -> None:
    # "2026-1-5" sorts between 2026-09 and 2026-10 as text: it must not be counted in September.
    make_db(
        tmp_path / "production_analysis.db",
        [*rows_for(["2026-09-10"]), ("2026-1-5", "LX", "ITX", "bad", 999.0)],
    )
    totals = monthly_totals(discover(tmp_path), "2026-09-01", "2026-10-01")
    assert totals.by_month()["2026-09"]["batch_count"] == 3
    assert [(r.production_date, r.item_code) for r in totals.rejected] == [("2026-1-5", "ITX")]


def test_every_row_of_a_window_is_counted_in_its_month_or_rejected(tmp_path: Path) -> None:
    odd = ["2024/12/05", "2024-13-01", "2024-12", "2024-12x01", "2025"]
    named = ["2024-12-1 오전 9:00:00", "2024-12-31 오후 11:59:59", "2024-11-30", "2025-01-01"]
    make_db(
        tmp_path / "production_analysis.db",
        [(day, f"L{n}", "IT1", "one", 1.0) for n, day in enumerate(odd + named)],
    )
    totals = monthly_totals(discover(tmp_path), "2024-11-01", "2025-02-01")
    assert totals.by_month() == {
        "2024-11": {"total_production": 1.0, "batch_count": 1, "avg_batch_size": 1.0},
        "2024-12": {"total_production": 2.0, "batch_count": 2, "avg_batch_size": 1.0},
        "2025-01": {"total_production": 1.0, "batch_count": 1, "avg_batch_size": 1.0},
    }
    assert sorted(r.production_date for r in totals.rejected) == sorted(odd)
    digests = month_fingerprints(discover(tmp_path).live)
    assert {ym: d[0] for ym, d in digests.items()} == {"2024-11": 1, "2024-12": 2, "2025-01": 1}


def test_month_ranges_cover_the_window_exactly_once() -> None:
    months, gaps = month_ranges("2025-11-15", "2026-02-01")
    assert months == [
        ("2025-11", "2025-11-15", "2025-11."),
        ("2025-12", "2025-12-", "2025-12."),
        ("2026-01", "2026-01-", "2026-01."),
    ]
    assert gaps == [("2025-11.", "2025-12-"), ("2025-12.", "2026-01-"), ("2026-01.", "2026-02-01")]


def test_missing_live_file_fails_only_the_windows_that_need_it(db_dir: Path) -> None:
    (db_dir / "production_analysis.db").unlink()
    layout = discover(db_dir)
    assert (
        monthly_totals(layout, "2025-12-01", "2026-01-01").by_month()["2025-12"]["batch_count"] == 3
    )
    with pytest.raises(DatabaseFileError, match=r"production_analysis\.db does not exist"):
        monthly_totals(layout, "2026-01-01", "2026-02-01")


def test_archives_are_found_by_name_and_route_by_year(tmp_path: Path) -> None:
    make_db(tmp_path / "archive_2024.db", rows_for(["2023-05-01", "2024-05-01"]))
    make_db(tmp_path / "archive_2025.db", rows_for(["2024-05-01", "2025-05-01"]))
    make_db(tmp_path / "production_analysis.db", rows_for(["2025-05-01", "2026-05-01"]))
    (tmp_path / "archive_2025_old.db").write_bytes(b"")  # not an archive name: ignored
    layout = discover(tmp_path)
    assert [(a.name, a.start, a.end) for a in layout.archives] == [
        ("archive_2024.db", None, "2025-01-01"),
        ("archive_2025.db", "2025-01-01", "2026-01-01"),
    ]
    assert layout.cutoff == "2026-01-01"
    months = monthly_totals(layout, "2023-01-01", "2027-01-01").by_month()
    # Each month is served by exactly one file, whatever the other files repeat.
    assert {m: int(v["batch_count"]) for m, v in months.items()} == {
        "2023-05": 3,
        "2024-05": 3,
        "2025-05": 3,
        "2026-05": 3,
    }
