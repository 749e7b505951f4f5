"""The online-backup fallback for rollback-journal files under an ERP that keeps committing.

The ERP stand-in (erp_writer.py) commits on command, with a busy timeout of 0: a commit that met a
lock the platform still held would fail at once. The copy calls back between its steps, and the
test makes the ERP commit there, so "the ERP commits between every two steps" is exact, not timed.
"""

import sqlite3
from pathlib import Path

import pytest

from production_assets.databases import LIVE_DB_NAME, connect_ro
from production_assets.maintenance import integrity_check
from production_assets.snapshots import copy_database
from tests.production.conftest import count, make_db, rows_for

STEP_PAGES = 2  # two pages per step: one pass takes many steps


def _live(tmp_path: Path) -> Path:
    path = make_db(tmp_path / LIVE_DB_NAME, rows_for([f"2026-01-{d:02d}" for d in range(1, 29)]))
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    assert pages > 3 * STEP_PAGES  # a pass takes at least four steps
    return path


def test_the_copy_finishes_after_the_erp_committed_between_every_step_for_a_while(
    tmp_path: Path, erp_writer
) -> None:
    live = _live(tmp_path)
    initial = count(live)
    erp = erp_writer(live, day="2026-01-30")
    commits: list[dict] = []

    def erp_commits_for_thirty_steps() -> None:
        if len(commits) < 30:  # more than the 20 restarts the copy used to give up after
            commits.append(erp.do("insert 3"))

    src = connect_ro(live)
    try:
        copy_database(
            src,
            tmp_path / "copy.db",
            on_step=erp_commits_for_thirty_steps,
            step_pages=STEP_PAGES,
        )
    finally:
        src.close()
    assert len(commits) == 30 and all(c["ok"] for c in commits)  # the ERP never waited
    # the copy is the file as of after the ERP's last commit, whole and sound
    assert count(tmp_path / "copy.db") == initial + 90 == count(live)
    assert integrity_check(tmp_path / "copy.db") == ["ok"]
    assert erp.close() == 90


def test_a_file_that_never_stays_unchanged_fails_after_the_time_limit_naming_it(
    tmp_path: Path, erp_writer
) -> None:
    live = _live(tmp_path)
    erp = erp_writer(live, day="2026-01-30")
    clock = {"now": 0.0, "commits": 0}

    def tick() -> float:  # the copy's clock: one second per look
        clock["now"] += 1.0
        return clock["now"]

    def erp_commits_forever() -> None:
        assert erp.do("insert 1")["ok"]  # the ERP is never held up
        clock["commits"] += 1

    src = connect_ro(live)
    try:
        with pytest.raises(sqlite3.OperationalError) as failure:
            copy_database(
                src,
                tmp_path / "copy.db",
                max_seconds=20.0,
                clock=tick,
                on_step=erp_commits_forever,
                step_pages=STEP_PAGES,
            )
    finally:
        src.close()
    message = str(failure.value)
    assert str(live) in message and "no consistent copy within 20 s" in message
    assert "next run tries again" in message
    # bounded: the 21st look at the clock is past the limit (started at 1, limit 21)
    assert clock["now"] == 22.0 and clock["commits"] == 20
    assert erp.close() == 20
