"""Bad input in hand-made farms: the culprit is named, the good farms are built, a check fails."""

from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from inspig_assets import checks as ck
from inspig_assets import schema as t
from inspig_assets.assets import ts_ins_weekly_report, ts_productivity
from inspig_assets.partitions import report_key
from resources.farm_db import FarmDbResource

from .conftest import inspig_resources
from .tiny_farm import FARM, WEEK, build


def _subscribe(conn: sa.Connection, farm: int, group: str | None) -> None:
    """A farm without sows, subscribed (AUTO) with SCHEDULE_GROUP_WEEK = `group` as written."""
    conn.execute(t.ta_farm.insert(), [{"farm_no": farm, "farm_nm": f"농장 {farm}", "use_yn": "Y"}])
    conn.execute(
        t.ts_ins_service.insert(),
        [
            {
                "farm_no": farm,
                "inspig_reg_dt": "20240101",
                "inspig_yn": "Y",
                "inspig_from_dt": "20240101",
                "inspig_to_dt": "20991231",
                "reg_type": "AUTO",
                "use_yn": "Y",
                "schedule_group_week": group,
            }
        ],
    )


def _materialize(db: FarmDbResource, group: str, config: dict[str, Any] | None = None) -> Any:
    return dg.materialize(
        [ts_ins_weekly_report],
        partition_key=report_key(WEEK.dt_from.isoformat(), group),
        resources=inspig_resources(db),
        run_config={"ops": {"ts_ins_weekly_report": {"config": config or {}}}},
    )


def _check(run: Any, name: str) -> dg.AssetCheckEvaluation:
    return next(c for c in run.get_asset_check_evaluations() if c.check_name == name)


def _week_meta(run: Any) -> dict[str, Any]:
    return next(
        m.metadata
        for m in run.asset_materializations_for_node("ts_ins_weekly_report")
        if m.asset_key == dg.AssetKey("ts_ins_week")
    )


def _week_rows(db: FarmDbResource) -> dict[int, tuple[str, str]]:
    with db.begin() as conn:
        rows = conn.execute(
            sa.select(
                t.ts_ins_week.c.farm_no, t.ts_ins_week.c.status_cd, t.ts_ins_week.c.schedule_group
            )
        ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


# -- point 6: schedule groups ------------------------------------------------------------------
def test_schedule_groups_are_normalised_null_is_am7_and_others_fail_a_check(
    farm_db: FarmDbResource,
) -> None:
    with farm_db.begin() as conn:
        build(conn)  # farm 900, AM7
        _subscribe(conn, 901, "am7")
        _subscribe(conn, 902, " PM2 ")
        _subscribe(conn, 903, None)  # NULL: the seed's default AM7
        _subscribe(conn, 904, "XM9")
        _subscribe(conn, 905, "PM 2")
    am7 = _materialize(farm_db, "AM7")
    pm2 = _materialize(farm_db, "PM2")
    # 901 and 903 are built by the AM7 run, 902 by the PM2 run, each under its clean group name
    assert _week_rows(farm_db) == {
        FARM: ("COMPLETE", "AM7"),
        901: ("COMPLETE", "AM7"),
        902: ("COMPLETE", "PM2"),
        903: ("COMPLETE", "AM7"),
    }
    am7_key, pm2_key = f"{WEEK.dt_from}|AM7", f"{WEEK.dt_from}|PM2"
    for run, key in ((am7, am7_key), (pm2, pm2_key)):
        check = _check(run, ck.CHECK_SCHEDULE_GROUPS)
        # 904 and 905 are built by neither group: listed with the stored value, check failed
        assert not check.passed
        assert check.metadata["invalid_schedule_groups"].value == {
            f"{key}/904": "XM9",
            f"{key}/905": "PM 2",
        }
        assert _week_meta(run)["invalid_schedule_groups"].value == {
            key: {"904": "XM9", "905": "PM 2"}
        }
        assert _check(run, ck.CHECK_FARMS_COMPLETE).passed


# -- point 5: unknown farms in farm_list ---------------------------------------------------------
def test_unknown_farm_in_farm_list_is_named_and_fails_a_check(farm_db: FarmDbResource) -> None:
    with farm_db.begin() as conn:
        build(conn)
        build_unsubscribed = t.ta_farm.insert().values(farm_no=906, farm_nm="구독 없음", use_yn="Y")
        conn.execute(build_unsubscribed)
    run = _materialize(farm_db, "AM7", {"test_mode": True, "farm_list": [FARM, 4242, 906]})
    key = f"{WEEK.dt_from}|AM7"
    check = _check(run, ck.CHECK_FARM_LIST_KNOWN)
    # 4242 is no farm at all, 906 a farm without a subscription; farm 900 is built
    assert not check.passed
    assert sorted(check.metadata["unknown_farms"].value) == [f"{key}/4242", f"{key}/906"]
    assert _week_meta(run)["unknown_farms"].value == {key: [906, 4242]}
    assert _week_rows(farm_db) == {FARM: ("COMPLETE", "AM7")}


def test_farm_list_of_unknown_farms_only_is_not_a_quiet_success(farm_db: FarmDbResource) -> None:
    with farm_db.begin() as conn:
        build(conn)
    run = _materialize(farm_db, "AM7", {"test_mode": True, "farm_list": [4242]})
    check = _check(run, ck.CHECK_FARM_LIST_KNOWN)
    assert not check.passed
    assert list(check.metadata["unknown_farms"].value) == [f"{WEEK.dt_from}|AM7/4242"]
    assert _week_meta(run)["target_farms"].value == 0


def test_dry_run_names_unknown_farms_too(farm_db: FarmDbResource) -> None:
    with farm_db.begin() as conn:
        build(conn)
    run = _materialize(farm_db, "AM7", {"test_mode": True, "farm_list": [4242], "dry_run": True})
    assert not _check(run, ck.CHECK_FARM_LIST_KNOWN).passed
    assert _week_rows(farm_db) == {}


# -- point 1: one farm's unreadable source value -----------------------------------------------
BAD = 901  # a copy of farm 900 with one bad value


def _clone(conn: sa.Connection, source: int, target: int) -> None:
    """Copy every source row of farm `source` to farm `target` (the same sows and events)."""
    for table in t.SOURCE_TABLES:
        if "farm_no" not in table.c or table is t.ta_member:
            continue
        rows = [
            dict(r)
            for r in conn.execute(table.select().where(table.c.farm_no == source)).mappings()
        ]
        if rows:
            conn.execute(table.insert(), [{**r, "farm_no": target} for r in rows])


def _corrupt(conn: sa.Connection, table: sa.Table, column: str, value: str, **where: Any) -> None:
    stmt = table.update().where(table.c.farm_no == BAD)
    for name, match in where.items():
        stmt = stmt.where(table.c[name] == match)
    assert conn.execute(stmt.values({column: value})).rowcount == 1


# (table, column, bad value, the row it replaces): text days and numbers of tiny farm 900
CASES = {
    "modon_wk_impossible_day": (t.tb_modon_wk, "wk_dt", "20250230", {"pig_no": 5, "wk_gubun": "G"}),
    "eu_seven_digits": (t.tb_eu, "wk_dt", "2025031", {"pig_no": 3, "wk_dt": "20250306"}),
    "bunman_not_a_leap_day": (t.tb_bunman, "wk_dt", "20250229", {"pig_no": 2}),
    "sago_impossible_day": (t.tb_sago, "wk_dt", "20250231", {"pig_no": 5}),
    # year-to-date matings are only counted by the database: the bad day must still be named
    "gyobae_counted_only": (t.tb_gyobae, "wk_dt", "20250132", {"pig_no": 10}),
    "lpd_impossible_day": (t.tm_lpd_data, "dochuk_dt", "2025-02-30", {"lpd_seq": 4}),
    "config_not_a_number": (t.tc_farm_config, "cvalue", "5일", {"code": "140008"}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_source_value_fails_only_its_farm_and_names_table_column_value(
    farm_db: FarmDbResource, case: str
) -> None:
    table, column, value, where = CASES[case]
    with farm_db.begin() as conn:
        build(conn)
        _clone(conn, FARM, BAD)
        _corrupt(conn, table, column, value, **where)
    run = _materialize(farm_db, "AM7")
    assert run.success
    # the good farm is built, the farm with the bad value ends ERROR (no sub rows, no token)
    assert _week_rows(farm_db) == {FARM: ("COMPLETE", "AM7"), BAD: ("ERROR", "AM7")}
    named = f"{table.name.upper()}.{column.upper()} = {value!r}"
    with farm_db.begin() as conn:
        logs = conn.execute(
            sa.select(
                t.ts_ins_job_log.c.proc_nm,
                t.ts_ins_job_log.c.error_cd,
                t.ts_ins_job_log.c.error_msg,
            ).where(t.ts_ins_job_log.c.farm_no == BAD)
        ).fetchall()
        bad_subs = conn.execute(
            sa.select(sa.func.count()).where(t.ts_ins_week_sub.c.farm_no == BAD)
        ).scalar()
    assert [(r[0], r[1]) for r in logs] == [("FarmProcessor", "BAD_SOURCE_VALUE")]
    assert named in logs[0][2], logs[0][2]
    assert bad_subs == 0
    check = _check(run, ck.CHECK_FARMS_COMPLETE)
    failed = check.metadata["failed_farms"].value
    assert not check.passed and list(failed) == [f"{WEEK.dt_from}|AM7/{BAD}"]
    assert named in failed[f"{WEEK.dt_from}|AM7/{BAD}"]


def test_impossible_day_is_named_with_its_sow_and_reason(farm_db: FarmDbResource) -> None:
    with farm_db.begin() as conn:
        build(conn)
        _clone(conn, FARM, BAD)
        _corrupt(conn, t.tb_modon_wk, "wk_dt", "20250230", pig_no=5, wk_gubun="G")
    run = _materialize(farm_db, "AM7")
    failed = _check(run, ck.CHECK_FARMS_COMPLETE).metadata["failed_farms"].value
    message = failed[f"{WEEK.dt_from}|AM7/{BAD}"]
    assert "TB_MODON_WK.WK_DT = '20250230' (pig 5, G): day is out of range for month" in message


def test_local_productivity_keeps_the_good_farm_and_names_the_bad_one(
    farm_db: FarmDbResource,
) -> None:
    with farm_db.begin() as conn:
        build(conn)
        _clone(conn, FARM, BAD)
        _corrupt(conn, t.tb_modon_wk, "wk_dt", "20250230", pig_no=5, wk_gubun="G")
    run = dg.materialize(
        [ts_productivity],
        partition_key=WEEK.dt_from.isoformat(),
        resources=inspig_resources(farm_db),
    )
    assert run.success
    (check,) = run.get_asset_check_evaluations()
    failed = check.metadata["failed"].value
    assert not check.passed and list(failed) == ["2025-W11/901"]
    assert "TB_MODON_WK.WK_DT = '20250230'" in failed["2025-W11/901"]
    with farm_db.begin() as conn:
        farms = {r[0] for r in conn.execute(sa.select(t.ts_productivity.c.farm_no))}
    assert farms == {FARM}
