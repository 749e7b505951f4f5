"""materialize() of the productivity and report assets against a real PostgreSQL schema."""

import datetime as dt

import dagster as dg
import pytest
import sqlalchemy as sa

from inspig_assets import checks as ck
from inspig_assets import schema as t
from inspig_assets.assets import ts_ins_weekly_report, ts_productivity
from inspig_assets.jobs import inspig_farm_report_job
from inspig_assets.partitions import report_key
from inspig_assets.periods import ReportWeek
from inspig_assets.sources import InspigSampleResource, domain_resources
from resources.farm_db import FarmDbResource
from resources.kst import today_kst
from resources.settings import load_settings

from .conftest import SAMPLE_UNTIL, inspig_resources

WEEK = ReportWeek.before(SAMPLE_UNTIL)
PARTITION = f"{WEEK.dt_from.isoformat()}|AM7"  # how the report's metadata names the partition


def _resources(db: FarmDbResource) -> dict[str, object]:
    return inspig_resources(db)


def _materialize(
    db: FarmDbResource, group: str = "AM7", config: dict | None = None, tags: dict | None = None
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [ts_ins_weekly_report],
        partition_key=report_key(WEEK.dt_from.isoformat(), group),
        resources=_resources(db),
        run_config={"ops": {"ts_ins_weekly_report": {"config": config or {}}}},
        tags=tags,
        raise_on_error=False,
    )


def test_productivity_then_report_both_groups(sample_db: FarmDbResource) -> None:
    result = dg.materialize(
        [ts_productivity], partition_key=WEEK.dt_from.isoformat(), resources=_resources(sample_db)
    )
    assert result.success
    meta = result.asset_materializations_for_node("ts_productivity")[0].metadata
    assert meta["dagster/row_count"].value == 5 * meta["farms"].value
    for group in ("AM7", "PM2"):
        run = _materialize(sample_db, group)
        assert run.success
        checks = {c.check_name: c.passed for c in run.get_asset_check_evaluations()}
        assert checks == {
            ck.CHECK_FARMS_COMPLETE: True,
            ck.CHECK_MASTER_COUNTS: True,
            ck.CHECK_FIXED_ROWS: True,
            ck.CHECK_JOB_LOG: True,
            ck.CHECK_FARM_LIST_KNOWN: True,
            ck.CHECK_SCHEDULE_GROUPS: True,
        }
    with sample_db.begin() as conn:
        master = conn.execute(sa.select(t.ts_ins_master)).mappings().one()
        groups = dict(
            conn.execute(
                sa.select(t.ts_ins_week.c.schedule_group, sa.func.count()).group_by(
                    t.ts_ins_week.c.schedule_group
                )
            ).fetchall()
        )
        sangsi = conn.execute(
            sa.select(sa.func.count()).where(t.ts_ins_week.c.modon_sangsi_cnt.is_not(None))
        ).scalar()
    assert master["status_cd"] == "COMPLETE"
    assert master["target_cnt"] == master["complete_cnt"] == sum(groups.values())
    assert set(groups) == {"AM7", "PM2"}
    assert sangsi == master["target_cnt"]  # sow inventory from the same week's productivity


def test_manual_config_refuses_init_without_test_mode(sample_db: FarmDbResource) -> None:
    run = _materialize(sample_db, config={"init_week": True})
    assert not run.success
    failure = run.get_step_failure_events()[0]
    assert "only allowed together with test_mode" in failure.event_specific_data.error.message


def _set_gate(db: FarmDbResource, value: str | None) -> None:
    with db.begin() as conn:
        conn.execute(t.ta_sys_config.update().values(ins_schedule_yn=value))


def _week_rows(db: FarmDbResource) -> int:
    with db.begin() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(t.ts_ins_week)).scalar()


def test_scheduled_run_honours_gate(sample_db: FarmDbResource) -> None:
    tags = {"dagster/schedule_name": "inspig_weekly_am7_schedule"}
    _set_gate(sample_db, "N")  # closed while the run waited in the queue
    run = _materialize(sample_db, tags=tags)
    assert run.success
    assert run.asset_materializations_for_node("ts_ins_weekly_report") == []
    skipped = run.get_asset_check_evaluations()
    assert len(skipped) == len(ck.REPORT_CHECKS) and not any(c.passed for c in skipped)
    assert _week_rows(sample_db) == 0
    _set_gate(sample_db, "T")  # T (test batch) runs the scheduled batch like Y
    run = _materialize(sample_db, tags=tags)
    assert run.success and all(c.passed for c in run.get_asset_check_evaluations())
    runs = run.asset_materializations_for_node("ts_ins_weekly_report")[0].metadata["runs"].value
    am7 = _week_rows(sample_db)
    assert am7 == runs[PARTITION]["targets"] > 0  # every AM7 target farm has its row
    _set_gate(sample_db, "N")
    assert _materialize(sample_db, "PM2").success  # a manual run ignores the gate
    assert _week_rows(sample_db) > am7


@pytest.mark.parametrize("subscribed", [True, False])
def test_farm_report_job(sample_db: FarmDbResource, subscribed: bool) -> None:
    farm = 848  # schedule group PM2 while subscribed
    if not subscribed:
        with sample_db.begin() as conn:
            conn.execute(t.ts_ins_service.delete().where(t.ts_ins_service.c.farm_no == farm))
    ins_date = SAMPLE_UNTIL.strftime("%Y%m%d")
    result = inspig_farm_report_job.execute_in_process(
        run_config={
            "ops": {"build_farm_report": {"config": {"farm_no": farm, "ins_date": ins_date}}}
        },
        resources=_resources(sample_db),
    )
    assert result.success
    answer = result.output_for_node("build_farm_report")
    assert answer["status"] == "success" and answer["weekNo"] == WEEK.week_no
    assert len(answer["shareToken"]) == 64
    with sample_db.begin() as conn:
        row = (
            conn.execute(sa.select(t.ts_ins_week).where(t.ts_ins_week.c.farm_no == farm))
            .mappings()
            .one()
        )
    assert row["master_seq"] == answer["masterSeq"]
    assert row["share_token"] == answer["shareToken"] and row["status_cd"] == "COMPLETE"
    assert row["schedule_group"] == ("PM2" if subscribed else "AM7")
    # asked again (the web system's "get or create"): rebuilt, but the link already sent stays valid
    again = inspig_farm_report_job.execute_in_process(
        run_config={
            "ops": {"build_farm_report": {"config": {"farm_no": farm, "ins_date": ins_date}}}
        },
        resources=_resources(sample_db),
    ).output_for_node("build_farm_report")
    assert (again["masterSeq"], again["shareToken"]) == (answer["masterSeq"], answer["shareToken"])


@pytest.mark.parametrize(
    ("ins_date", "says"),
    [
        ("2026111", "is not YYYYMMDD"),  # seven digits: not read as 2026-11-01
        ("202611231", "is not YYYYMMDD"),  # nine digits: not read as 2026-11-23
        ("2026-11-23", "is not YYYYMMDD"),
        ("20260230", "is not a calendar day"),
        ("future", "has not ended yet in KST"),
    ],
)
def test_farm_report_job_refuses_a_bad_or_unfinished_ins_date(
    sample_db: FarmDbResource, ins_date: str, says: str
) -> None:
    if ins_date == "future":
        # eight days ahead: the week before it contains today, so it has not ended yet
        ins_date = (today_kst() + dt.timedelta(days=8)).strftime("%Y%m%d")
    result = inspig_farm_report_job.execute_in_process(
        run_config={
            "ops": {"build_farm_report": {"config": {"farm_no": 848, "ins_date": ins_date}}}
        },
        resources=_resources(sample_db),
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.step_failure_data.user_failure_data.description
    assert ins_date in message and says in message
    with sample_db.begin() as conn:  # nothing was built for any week
        assert (
            conn.execute(
                sa.select(sa.func.count())
                .select_from(t.ts_ins_week)
                .where(t.ts_ins_week.c.farm_no == 848)
            ).scalar()
            == 0
        )


def test_dry_run_materialization_reports_plan_and_writes_nothing(sample_db: FarmDbResource) -> None:
    run = _materialize(sample_db, config={"dry_run": True, "exclude_farms": [2807]})
    assert run.success
    meta = {
        m.asset_key.to_user_string(): m.metadata
        for m in run.asset_materializations_for_node("ts_ins_weekly_report")
    }
    week = meta["ts_ins_week"]
    assert week["dry_run"].value is True and week["groups"].value == "AM7"
    assert week["weeks"].value.startswith("2026-W46")
    assert week["would_build"].value == {PARTITION: [1013, 1387, 4223, 10002, 10003, 10005, 10006]}
    with sample_db.begin() as conn:
        for table in t.TARGET_TABLES:
            assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0


def test_range_of_weeks_is_one_backfill_run(sample_db: FarmDbResource) -> None:
    assert ts_ins_weekly_report.backfill_policy == dg.BackfillPolicy.single_run()
    earlier = WEEK.previous
    # what `dagster asset materialize --partition-range AM7|<week>...PM2|<week>` launches
    tags = {
        "dagster/asset_partition_range_start": str(report_key(earlier.dt_from.isoformat(), "AM7")),
        "dagster/asset_partition_range_end": str(report_key(WEEK.dt_from.isoformat(), "PM2")),
    }
    run = dg.materialize(
        [ts_ins_weekly_report], resources=_resources(sample_db), tags=tags, raise_on_error=False
    )
    assert run.success
    checks = {c.check_name: c.passed for c in run.get_asset_check_evaluations()}
    assert set(checks.values()) == {True} and len(checks) == 6
    meta = next(
        m.metadata
        for m in run.asset_materializations_for_node("ts_ins_weekly_report")
        if m.asset_key == dg.AssetKey("ts_ins_week")
    )
    assert meta["partitions"].value == 4 and meta["groups"].value == "AM7, PM2"
    with sample_db.begin() as conn:
        masters = conn.execute(
            sa.select(
                t.ts_ins_master.c.report_week_no,
                t.ts_ins_master.c.status_cd,
                t.ts_ins_master.c.target_cnt,
            ).order_by(t.ts_ins_master.c.report_week_no)
        ).fetchall()
        chg = conn.execute(
            sa.select(sa.func.count()).where(
                t.ts_ins_week.c.report_week_no == WEEK.week_no,
                t.ts_ins_week.c.modon_reg_chg.is_not(None),
            )
        ).scalar()
    assert [(w, s) for w, s, _ in masters] == [
        (earlier.week_no, "COMPLETE"),
        (WEEK.week_no, "COMPLETE"),
    ]
    # weeks are built oldest first, so the later week compares with the earlier one
    assert chg == masters[1][2] > 0
    # the same range again: nothing rebuilt, nothing duplicated
    again = dg.materialize(
        [ts_ins_weekly_report], resources=_resources(sample_db), tags=tags, raise_on_error=False
    )
    assert again.success
    again_meta = next(
        m.metadata
        for m in again.asset_materializations_for_node("ts_ins_weekly_report")
        if m.asset_key == dg.AssetKey("ts_ins_week")
    )
    assert again_meta["dagster/row_count"].value == 0


def test_range_dry_run_lists_every_week_and_group_and_writes_nothing(
    sample_db: FarmDbResource,
) -> None:
    tags = {
        "dagster/asset_partition_range_start": str(
            report_key(WEEK.previous.dt_from.isoformat(), "AM7")
        ),
        "dagster/asset_partition_range_end": str(report_key(WEEK.dt_from.isoformat(), "PM2")),
    }
    run = dg.materialize(
        [ts_ins_weekly_report],
        resources=_resources(sample_db),
        tags=tags,
        run_config={"ops": {"ts_ins_weekly_report": {"config": {"dry_run": True}}}},
    )
    meta = run.asset_materializations_for_node("ts_ins_weekly_report")[0].metadata
    assert sorted(meta["runs"].value) == [
        f"{WEEK.previous.dt_from}|AM7",
        f"{WEEK.previous.dt_from}|PM2",
        f"{WEEK.dt_from}|AM7",
        f"{WEEK.dt_from}|PM2",
    ]
    assert all(r["built"] == r["targets"] > 0 for r in meta["runs"].value.values())
    with sample_db.begin() as conn:
        for table in t.TARGET_TABLES:
            assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0


def _sized(db: FarmDbResource, farms: int) -> dict[str, object]:
    return {**_resources(db), "inspig_sample": InspigSampleResource(farms=farms)}


def test_local_sample_size_follows_inspig_sample_farms(
    farm_db: FarmDbResource, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSPIG_SAMPLE_FARMS", "7")
    sample = domain_resources(load_settings())["inspig_sample"]
    assert isinstance(sample, InspigSampleResource) and sample.farms == 7
    result = dg.materialize(
        [ts_productivity], partition_key=WEEK.dt_from.isoformat(), resources=_sized(farm_db, 7)
    )
    assert result.success
    with farm_db.begin() as conn:
        farms = conn.execute(sa.select(t.ta_farm.c.farm_no).order_by(t.ta_farm.c.farm_no))
        # the five test farms first, then sample farms numbered from 10001
        assert list(farms.scalars()) == [848, 1013, 1387, 2807, 4223, 10001, 10002]
    # generated once: a later run with another size leaves the sample as it is
    assert dg.materialize(
        [ts_productivity], partition_key=WEEK.dt_from.isoformat(), resources=_sized(farm_db, 9)
    ).success
    with farm_db.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.ta_farm)).scalar() == 7


def test_sample_size_defaults_to_50_and_refuses_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INSPIG_SAMPLE_FARMS", raising=False)
    assert load_settings().inspig_sample_farms == 50
    monkeypatch.setenv("INSPIG_SAMPLE_FARMS", "0")
    with pytest.raises(ValueError, match="inspig_sample_farms"):
        load_settings()
