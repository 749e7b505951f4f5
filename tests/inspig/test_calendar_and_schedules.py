"""ISO week 53 and New Year, and what each schedule requests."""

import datetime as dt

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._utils.schedules import cron_string_iterator

from inspig_assets import schema as t
from inspig_assets.definitions import defs
from inspig_assets.options import RunOptions
from inspig_assets.periods import ReportWeek
from inspig_assets.productivity import StatPeriod, compute_local, save_rows
from inspig_assets.report import run_week
from inspig_assets.sample import SampleSpec, load_sample
from resources.farm_db import FarmDbResource
from resources.kst import KST

NOW = dt.datetime(2027, 1, 11, 0, 5, tzinfo=KST)


def test_week_53_and_new_year_periods() -> None:
    w53 = ReportWeek.before(dt.date(2021, 1, 4))
    assert (w53.dt_from, w53.dt_to, w53.year, w53.week_no) == (
        dt.date(2020, 12, 28), dt.date(2021, 1, 3), 2020, 53,
    )  # fmt: skip
    assert w53.ytd_from == dt.date(2019, 12, 30)  # ISO year 2020, not Jan 1-3 of 2021
    assert (w53.previous.year, w53.previous.week_no) == (2020, 52)
    assert (w53.next.year, w53.next.week_no) == (2021, 1)
    new_year = ReportWeek.of_iso(2025, 1)
    assert (new_year.dt_from, new_year.dt_to) == (dt.date(2024, 12, 30), dt.date(2025, 1, 5))
    assert (new_year.previous.year, new_year.previous.week_no) == (2024, 52)
    # a run on 12/22..12/28 reports W51 (12/15..12/21), on 12/29..12/31 W52 (12/22..12/28) (2025)
    assert ReportWeek.before(dt.date(2025, 12, 28)).week_no == 51
    assert ReportWeek.before(dt.date(2025, 12, 31)).week_no == 52
    assert ReportWeek.before(dt.date(2025, 12, 22)).week_no == 51  # a Monday: the week before
    period = StatPeriod.week(dt.date(2026, 12, 28))
    assert (period.stat_year, period.period_no, period.stat_date) == (2026, 53, "2027-01-03")


def test_week_53_then_week_1_reports(farm_db: FarmDbResource) -> None:
    spec = SampleSpec(farms=6, sows_per_farm=30, history_days=420, until=dt.date(2027, 1, 12))
    with farm_db.begin() as conn:
        load_sample(conn, spec, farm_db.insert_rows)
    w53 = ReportWeek.of_iso(2026, 53)
    period = StatPeriod.week(w53.dt_from)  # a future partition today: call the logic directly
    with farm_db.begin() as conn:
        rows = compute_local(conn, [1013, 1387, 2807, 4223, 848, 10001], period)
        save_rows(conn, rows, [r["farm_no"] for r in rows], period, farm_db.insert_rows, NOW)
    engine = farm_db.get_engine()
    first = run_week(engine, w53, "AM7", RunOptions(), inserter=farm_db.insert_rows)
    second = run_week(engine, w53.next, "AM7", RunOptions(), inserter=farm_db.insert_rows)
    assert first.completed and second.completed == first.completed
    with engine.connect() as conn:
        masters = conn.execute(
            sa.select(t.ts_ins_master.c.report_year, t.ts_ins_master.c.report_week_no,
                      t.ts_ins_master.c.dt_from, t.ts_ins_master.c.dt_to)
            .order_by(t.ts_ins_master.c.seq)
        ).fetchall()  # fmt: skip
        rows = {
            (r.report_week_no, r.farm_no): r
            for r in conn.execute(sa.select(t.ts_ins_week)).fetchall()
        }
        lpd_ytd = dict(
            conn.execute(
                sa.select(t.tm_lpd_data.c.farm_no, sa.func.count())
                .where(t.tm_lpd_data.c.dochuk_dt.between("2025-12-29", "2027-01-03"))
                .group_by(t.tm_lpd_data.c.farm_no)
            ).fetchall()
        )
    assert [tuple(m) for m in masters] == [
        (2026, 53, "20261228", "20270103"),
        (2027, 1, "20270104", "20270110"),
    ]
    for farm in first.completed:
        w53_row, w1_row = rows[(53, farm)], rows[(1, farm)]
        # year-to-date of W53 covers ISO year 2026 (from 2025-12-29), including 2027-01-01..03
        assert w53_row.last_sh_sum == lpd_ytd.get(farm, 0)
        # W01 starts a new ISO year: year-to-date is the week itself
        assert w1_row.last_sh_sum == w1_row.last_sh_cnt
        assert w1_row.last_bm_sum_cnt == w1_row.last_bm_cnt
        # the previous week is found across the year boundary
        assert w1_row.modon_reg_chg == w1_row.modon_reg_cnt - w53_row.modon_reg_cnt
        # productivity of ISO 2026-W53 (stat date 2027-01-03) feeds the W53 sow inventory
        assert w53_row.modon_sangsi_cnt is not None


def _schedule(name: str) -> dg.ScheduleDefinition:
    return defs.get_repository_def().get_schedule_def(name)


def _tick(
    name: str, when: dt.datetime, resources: dict[str, object] | None = None
) -> dg.RunRequest | None:
    """The run a tick of schedule `name` at `when` (KST) requests; None when it skips."""
    with dg.build_schedule_context(
        scheduled_execution_time=when,
        repository_def=defs.get_repository_def(),
        resources=resources,
    ) as context:
        requests = list(_schedule(name).evaluate_tick(context).run_requests or [])
    assert len(requests) <= 1
    return requests[0] if requests else None


def _next_tick(name: str, after: dt.datetime) -> dt.datetime:
    """When schedule `name` next fires after `after`, in KST."""
    schedule = _schedule(name)
    ticks = cron_string_iterator(
        after.timestamp() + 1, schedule.cron_schedule, schedule.execution_timezone
    )
    return next(ticks).astimezone(KST)


@pytest.fixture
def gate_db(farm_db: FarmDbResource) -> dict[str, object]:
    """Resources of the report schedules: a farm database whose TA_SYS_CONFIG gate is Y."""
    with farm_db.begin() as conn:
        conn.execute(t.ta_sys_config.insert(), [{"seq": 1, "ins_schedule_yn": "Y"}])
    return {"farm_db": farm_db}


def test_report_schedules_request_last_week_of_their_group(gate_db: dict[str, object]) -> None:
    # Thursday 2026-11-19 15:00 KST: the next AM7 tick is Monday 11-23 at 02:00, PM2 at 12:00
    thursday = dt.datetime(2026, 11, 19, 15, 0, tzinfo=KST)
    am7_at = _next_tick("inspig_weekly_am7_schedule", thursday)
    pm2_at = _next_tick("inspig_weekly_pm2_schedule", thursday)
    assert am7_at == dt.datetime(2026, 11, 23, 2, 0, tzinfo=KST)
    assert pm2_at == dt.datetime(2026, 11, 23, 12, 0, tzinfo=KST)
    # ... and each requests its group of the week that ended on Sunday 11-22 (Monday 11-16)
    am7 = _tick("inspig_weekly_am7_schedule", am7_at, gate_db)
    pm2 = _tick("inspig_weekly_pm2_schedule", pm2_at, gate_db)
    assert am7 and am7.partition_key == dg.MultiPartitionKey({"week": "2026-11-16", "group": "AM7"})
    assert pm2 and pm2.partition_key == dg.MultiPartitionKey({"week": "2026-11-16", "group": "PM2"})
    # after that Monday's 02:00, AM7 next fires a week later
    assert _next_tick("inspig_weekly_am7_schedule", am7_at) == am7_at + dt.timedelta(days=7)
    # Monday 2027-01-04 (ISO 2027-W01) reports ISO 2026-W53, Monday 2026-12-28
    new_year = _tick(
        "inspig_weekly_am7_schedule", dt.datetime(2027, 1, 4, 2, 0, tzinfo=KST), gate_db
    )
    assert new_year and new_year.partition_key == dg.MultiPartitionKey(
        {"week": "2026-12-28", "group": "AM7"}
    )


@pytest.mark.parametrize(("gate", "runs"), [("Y", True), ("T", True), ("N", False), (None, False)])
def test_report_schedule_tick_honours_the_gate(
    gate_db: dict[str, object], gate: str | None, runs: bool
) -> None:
    db = gate_db["farm_db"]
    assert isinstance(db, FarmDbResource)
    with db.begin() as conn:
        conn.execute(t.ta_sys_config.update().values(ins_schedule_yn=gate))
    monday = dt.datetime(2026, 11, 23, 2, 0, tzinfo=KST)
    with dg.build_schedule_context(
        scheduled_execution_time=monday, repository_def=defs.get_repository_def(), resources=gate_db
    ) as context:
        result = _schedule("inspig_weekly_am7_schedule").evaluate_tick(context)
    if runs:
        assert [r.partition_key for r in result.run_requests or []] == [
            dg.MultiPartitionKey({"week": "2026-11-16", "group": "AM7"})
        ]
    else:
        assert not result.run_requests
        assert f"INS_SCHEDULE_YN is {gate!r}" in (result.skip_message or "")


def test_productivity_schedules() -> None:
    # Monday 2026-11-23 00:05 KST requests the week that ended on Sunday (Monday 11-16)
    after = dt.datetime(2026, 11, 20, 9, 0, tzinfo=KST)
    weekly_at = _next_tick("inspig_productivity_weekly_schedule", after)
    assert weekly_at == dt.datetime(2026, 11, 23, 0, 5, tzinfo=KST)
    weekly = _tick("inspig_productivity_weekly_schedule", weekly_at)
    assert weekly and weekly.partition_key == "2026-11-16"
    # from 2026-11-20 the monthly schedule fires 12-01 02:05, then 12-15 02:05: both November
    first = _next_tick("inspig_productivity_monthly_schedule", after)
    second = _next_tick("inspig_productivity_monthly_schedule", first)
    assert first == dt.datetime(2026, 12, 1, 2, 5, tzinfo=KST)
    assert second == dt.datetime(2026, 12, 15, 2, 5, tzinfo=KST)
    for when in (first, second):
        monthly = _tick("inspig_productivity_monthly_schedule", when)
        assert monthly and monthly.partition_key == "2026-11-01"
