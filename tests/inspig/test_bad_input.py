"""Bad input in hand-made farms: the culprit is named, the good farms are built, a check fails."""

from typing import Any

import dagster as dg
import sqlalchemy as sa

from inspig_assets import checks as ck
from inspig_assets import schema as t
from inspig_assets.assets import ts_ins_weekly_report
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
