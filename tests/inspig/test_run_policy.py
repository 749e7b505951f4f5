"""Run modes: test-mode deletions (init_week, init_all), dry run, idempotency, isolation."""

import dagster as dg
import pytest
import sqlalchemy as sa

from inspig_assets import processors
from inspig_assets import schema as t
from inspig_assets.assets import ts_ins_weekly_report
from inspig_assets.checks import CHECK_FARMS_COMPLETE
from inspig_assets.model import FarmData, RunContext
from inspig_assets.options import RunOptions, RunRefused
from inspig_assets.partitions import report_key
from inspig_assets.periods import ReportWeek
from inspig_assets.report import RunResult, run_week
from resources.farm_db import FarmDbResource

from .conftest import SAMPLE_UNTIL, inspig_resources

WEEK = ReportWeek.before(SAMPLE_UNTIL)
EARLIER = WEEK.previous
AM7_TEST_FARMS = [1013, 1387, 2807, 4223]  # 848, the fifth test farm, is in group PM2


def _run(
    db: FarmDbResource, week: ReportWeek = WEEK, group: str = "AM7", **options: object
) -> RunResult:
    return run_week(db.get_engine(), week, group, RunOptions(**options), inserter=db.insert_rows)


def _weeks(db: FarmDbResource) -> dict[tuple[int, int], tuple[str, str | None]]:
    """(week no, farm) → (status, token) over every master."""
    with db.begin() as conn:
        rows = conn.execute(
            sa.select(
                t.ts_ins_week.c.report_week_no,
                t.ts_ins_week.c.farm_no,
                t.ts_ins_week.c.status_cd,
                t.ts_ins_week.c.share_token,
            )
        ).fetchall()
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}


def _count(db: FarmDbResource, table: sa.Table) -> int:
    with db.begin() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def _masters(db: FarmDbResource) -> dict[int, int]:
    with db.begin() as conn:
        return dict(
            conn.execute(
                sa.select(t.ts_ins_master.c.report_week_no, t.ts_ins_master.c.seq)
            ).fetchall()
        )


@pytest.fixture
def two_weeks(sample_db: FarmDbResource) -> FarmDbResource:
    """Both groups of the earlier week and of the report week built in production mode."""
    for week in (EARLIER, WEEK):
        for group in ("AM7", "PM2"):
            _run(sample_db, week, group)
    return sample_db


def test_production_rerun_deletes_nothing_and_keeps_complete_reports(
    two_weeks: FarmDbResource,
) -> None:
    before = _weeks(two_weeks)
    logs = _count(two_weeks, t.ts_ins_job_log)
    result = _run(two_weeks)
    assert result.to_build == [] and result.deleted == {}
    assert sorted(result.kept_complete) == sorted(
        f for (w, f) in before if w == WEEK.week_no and f in result.targets
    )
    assert _weeks(two_weeks) == before
    assert _count(two_weeks, t.ts_ins_job_log) == logs


def test_test_mode_alone_deletes_nothing(two_weeks: FarmDbResource) -> None:
    before = _weeks(two_weeks)
    result = _run(two_weeks, test_mode=True)
    assert result.targets == AM7_TEST_FARMS and result.to_build == []
    assert _weeks(two_weeks) == before


def test_init_week_with_farm_list_rebuilds_those_farms_of_that_week(
    two_weeks: FarmDbResource,
) -> None:
    before = _weeks(two_weeks)
    result = _run(two_weeks, test_mode=True, init_week=True, farm_list=(1387,))
    assert result.deleted["ts_ins_week"] == 1 and result.deleted["ts_ins_week_sub"] > 60
    after = _weeks(two_weeks)
    assert after[(WEEK.week_no, 1387)][0] == "COMPLETE"
    assert after[(WEEK.week_no, 1387)][1] != before[(WEEK.week_no, 1387)][1]  # rebuilt
    assert {k: v for k, v in after.items() if k != (WEEK.week_no, 1387)} == {
        k: v for k, v in before.items() if k != (WEEK.week_no, 1387)
    }


def test_init_week_without_farm_list_deletes_only_the_test_farms(
    two_weeks: FarmDbResource,
) -> None:
    before = _weeks(two_weeks)
    result = _run(two_weeks, test_mode=True, init_week=True)
    after = _weeks(two_weeks)
    # test mode's default list is a farm list: only the week's rows of the five test farms go
    # (848 is one of them, in group PM2, so it is deleted and not rebuilt by this AM7 run); the
    # other farms' COMPLETE reports, whose links were sent, stay with their tokens
    test_farms = {1013, 1387, 2807, 4223, 848}
    in_week = {f for (w, f) in before if w == WEEK.week_no}
    assert result.deleted["ts_ins_week"] == len(in_week & test_farms)
    assert "ts_ins_master" not in result.deleted  # other farms' rows keep the master
    assert {k: v for k, v in after.items() if k[1] not in test_farms} == {
        k: v for k, v in before.items() if k[1] not in test_farms
    }
    assert sorted(f for (w, f) in after if w == WEEK.week_no and f in test_farms) == AM7_TEST_FARMS


def test_init_week_of_every_farm_clears_the_whole_week(two_weeks: FarmDbResource) -> None:
    before = _weeks(two_weeks)
    masters = _masters(two_weeks)
    result = _run(two_weeks, test_mode=True, init_week=True, init_every_farm=True)
    after = _weeks(two_weeks)
    # the week's rows of both groups were deleted (its master too: no row remained); only the
    # default test farms of AM7 were rebuilt; the earlier week is untouched
    assert result.deleted["ts_ins_master"] == 1
    assert sorted(f for (w, f) in after if w == WEEK.week_no) == AM7_TEST_FARMS
    assert _masters(two_weeks)[WEEK.week_no] != masters[WEEK.week_no]
    assert {k: v for k, v in after.items() if k[0] == EARLIER.week_no} == {
        k: v for k, v in before.items() if k[0] == EARLIER.week_no
    }


def test_init_all_with_farm_list_deletes_those_farms_everywhere(two_weeks: FarmDbResource) -> None:
    before = _weeks(two_weeks)
    masters = _masters(two_weeks)
    _run(two_weeks, test_mode=True, init_all=True, farm_list=(2807,))
    after = _weeks(two_weeks)
    assert (EARLIER.week_no, 2807) not in after  # deleted from every week
    assert after[(WEEK.week_no, 2807)][1] != before[(WEEK.week_no, 2807)][1]  # and rebuilt
    assert {k: v for k, v in after.items() if k[1] != 2807} == {
        k: v for k, v in before.items() if k[1] != 2807
    }
    assert _masters(two_weeks) == masters  # masters kept
    with two_weeks.begin() as conn:
        target = conn.execute(
            sa.select(t.ts_ins_master.c.target_cnt).where(
                t.ts_ins_master.c.report_week_no == EARLIER.week_no
            )
        ).scalar()
    assert target == len([k for k in after if k[0] == EARLIER.week_no])  # counts recomputed


def test_init_all_without_farm_list_deletes_only_the_test_farms(
    two_weeks: FarmDbResource,
) -> None:
    before = _weeks(two_weeks)
    _run(two_weeks, test_mode=True, init_all=True)
    after = _weeks(two_weeks)
    test_farms = {1013, 1387, 2807, 4223, 848}
    assert not [k for k in after if k[1] in test_farms and k[0] == EARLIER.week_no]
    assert {k: v for k, v in after.items() if k[1] not in test_farms} == {
        k: v for k, v in before.items() if k[1] not in test_farms
    }


def test_init_all_of_every_farm_empties_every_report_table(two_weeks: FarmDbResource) -> None:
    result = _run(two_weeks, test_mode=True, init_all=True, init_every_farm=True)
    assert result.deleted["ts_ins_master"] == 2
    after = _weeks(two_weeks)
    assert sorted(after) == [(WEEK.week_no, f) for f in AM7_TEST_FARMS]
    assert list(_masters(two_weeks)) == [WEEK.week_no]


@pytest.mark.parametrize("flag", ["init_week", "init_all", "init_every_farm"])
def test_deleting_without_test_mode_is_refused(two_weeks: FarmDbResource, flag: str) -> None:
    before = _weeks(two_weeks)
    with pytest.raises(RunRefused, match="only allowed together with test_mode"):
        _run(two_weeks, **{flag: True})
    assert _weeks(two_weeks) == before


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"farm_list": (1387,)}, "farm_list is a test-mode option"),
        ({"test_mode": True, "farm_list": ()}, "farm_list is empty"),
        ({"test_mode": True, "init_all": True, "farm_list": ()}, "farm_list is empty"),
        ({"test_mode": True, "init_every_farm": True}, "widens init_week or init_all"),
    ],
)
def test_farm_lists_that_would_not_mean_what_they_say_are_refused(
    two_weeks: FarmDbResource, options: dict, says: str
) -> None:
    before = _weeks(two_weeks)
    with pytest.raises(RunRefused, match=says):
        _run(two_weeks, **options)
    assert _weeks(two_weeks) == before  # nothing deleted, nothing built


def test_farm_list_wins_over_exclude(sample_db: FarmDbResource) -> None:
    assert _run(sample_db, dry_run=True, exclude_farms=(1387, 2807)).targets == [
        1013, 4223, 10002, 10003, 10005, 10006,
    ]  # fmt: skip
    listed = _run(sample_db, dry_run=True, test_mode=True, farm_list=(1387,), exclude_farms=(1387,))
    assert listed.targets == [1387]


def test_dry_run_writes_nothing(two_weeks: FarmDbResource) -> None:
    counts = {tb.name: _count(two_weeks, tb) for tb in t.TARGET_TABLES}
    result = _run(two_weeks, test_mode=True, init_all=True, dry_run=True)
    assert result.dry_run and result.targets == AM7_TEST_FARMS
    assert result.to_build == AM7_TEST_FARMS  # init_all would rebuild them
    assert {tb.name: _count(two_weeks, tb) for tb in t.TARGET_TABLES} == counts
    fresh = _run(two_weeks, WEEK.next, dry_run=True)
    assert fresh.master_seq is None and len(fresh.to_build) == 8
    assert {tb.name: _count(two_weeks, tb) for tb in t.TARGET_TABLES} == counts


def _dump(db: FarmDbResource) -> dict[str, list[tuple]]:
    with db.begin() as conn:
        return {
            table.name: sorted(
                tuple(str(v) for k, v in row._mapping.items() if k != "log_ins_dt")
                for row in conn.execute(sa.select(table))
            )
            for table in (t.ts_ins_week, t.ts_ins_week_sub, t.ts_ins_job_log)
        }


def test_three_materializations_leave_identical_rows(sample_db: FarmDbResource) -> None:
    key = report_key(WEEK.dt_from.isoformat(), "AM7")
    dumps = []
    for _ in range(3):
        result = dg.materialize(
            [ts_ins_weekly_report], partition_key=key, resources=inspig_resources(sample_db)
        )
        assert result.success
        dumps.append(_dump(sample_db))
    assert dumps[0] == dumps[1] == dumps[2]
    assert all(token for status, token in _weeks(sample_db).values())
    with sample_db.begin() as conn:
        master = conn.execute(sa.select(t.ts_ins_master)).mappings().one()
    # The master covers both groups: PM2's four farms have not run yet.
    assert (master["status_cd"], master["target_cnt"], master["complete_cnt"]) == ("RUNNING", 12, 8)
    pm2 = report_key(WEEK.dt_from.isoformat(), "PM2")
    assert dg.materialize(
        [ts_ins_weekly_report], partition_key=pm2, resources=inspig_resources(sample_db)
    ).success
    with sample_db.begin() as conn:
        master = conn.execute(sa.select(t.ts_ins_master)).mappings().one()
    assert (master["status_cd"], master["target_cnt"], master["complete_cnt"]) == (
        "COMPLETE",
        12,
        12,
    )


def test_failing_farm_is_isolated_and_rebuilt_later(
    sample_db: FarmDbResource, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = dict((k, f) for k, _, f in processors.PROCESSORS)

    def broken_weaning(
        farm: FarmData, ctx: RunContext, done: processors.Done
    ) -> processors.ProcessorResult:
        if farm.farm_no == 2807:
            raise ValueError("litter record inconsistent " + "x" * 5000)
        return original["weaning"](farm, ctx, done)

    patched = tuple(
        (k, n, broken_weaning if k == "weaning" else f) for k, n, f in processors.PROCESSORS
    )
    monkeypatch.setattr(processors, "PROCESSORS", patched)
    key = report_key(WEEK.dt_from.isoformat(), "AM7")
    result = dg.materialize(
        [ts_ins_weekly_report], partition_key=key, resources=inspig_resources(sample_db)
    )
    assert result.success  # the run succeeds; the non-blocking check fails and names the farm
    check = next(
        c for c in result.get_asset_check_evaluations() if c.check_name == CHECK_FARMS_COMPLETE
    )
    # findings are keyed partition/farm
    assert not check.passed and list(check.metadata["failed_farms"].value) == [
        f"{WEEK.dt_from}|AM7/2807"
    ]
    meta = result.asset_materializations_for_node("ts_ins_weekly_report")
    week_meta = next(m for m in meta if m.asset_key == dg.AssetKey("ts_ins_week")).metadata
    assert week_meta["farms_error"].value == 1 and week_meta["farms_ok"].value == 7
    weeks = _weeks(sample_db)
    assert weeks[(WEEK.week_no, 2807)] == ("ERROR", None)
    assert sum(1 for s, _ in weeks.values() if s == "COMPLETE") == 7
    with sample_db.begin() as conn:
        logs = conn.execute(
            sa.select(t.ts_ins_job_log.c.proc_nm, t.ts_ins_job_log.c.error_msg).where(
                t.ts_ins_job_log.c.farm_no == 2807, t.ts_ins_job_log.c.status_cd == "ERROR"
            )
        ).fetchall()
        subs = conn.execute(
            sa.select(sa.func.count()).where(t.ts_ins_week_sub.c.farm_no == 2807)
        ).scalar()
        master = conn.execute(sa.select(t.ts_ins_master.c.status_cd)).scalar()
    assert {r[0] for r in logs} == {"WeaningProcessor", "FarmProcessor"}
    assert all(len(r[1]) == 4000 and "litter record inconsistent" in r[1] for r in logs)
    assert subs == 0  # never a COMPLETE-looking report with missing parts
    assert master == "ERROR"

    monkeypatch.setattr(processors, "PROCESSORS", tuple((k, n, original[k]) for k, n, _ in patched))
    tokens = {k: v for k, v in weeks.items() if v[0] == "COMPLETE"}
    again = _run(sample_db)
    assert again.to_build == [2807] and again.completed == [2807]
    after = _weeks(sample_db)
    assert after[(WEEK.week_no, 2807)][0] == "COMPLETE"
    assert {k: after[k] for k in tokens} == tokens
    # No farm is in ERROR any more; the master waits for PM2's farms, which have not run yet.
    assert again.master_status == "RUNNING"
    assert again.master_counts == {"target": 12, "complete": 8, "error": 0}


def test_concurrent_runs_of_one_week_never_collide(sample_db: FarmDbResource) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = [pool.submit(_run, sample_db, WEEK, g) for g in ("AM7", "AM7", "PM2")]
        results = [f.result() for f in futures]  # no primary-key or unique-index failure
    assert len(results[0].completed) + len(results[1].completed) == 8  # each farm built once
    assert len(results[2].completed) == 4
    assert len(_masters(sample_db)) == 1
    assert all(status == "COMPLETE" for status, _ in _weeks(sample_db).values())


def test_error_message_fits_oracle_varchar2_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from inspig_assets.report import process_farm

    def broken(farm: FarmData, ctx: RunContext, done: processors.Done) -> None:
        raise ValueError("분만 기록 불일치 " * 1000)  # Korean: 3 bytes a character in UTF-8

    monkeypatch.setattr(processors, "PROCESSORS", (("config", "ConfigProcessor", broken),))
    outcome = process_farm(SimpleNamespace(farm_no=7, problems=[]), None)  # type: ignore[arg-type]
    assert outcome.error is not None and {log["status_cd"] for log in outcome.logs} == {"ERROR"}
    for log in outcome.logs:  # VARCHAR2(4000) holds at most 4,000 bytes, even with CHAR semantics
        assert 3990 <= len(log["error_msg"].encode()) <= 4000
        assert log["error_msg"].startswith("ConfigProcessor: ValueError: 분만 기록 불일치")
