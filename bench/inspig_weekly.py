"""Benchmark: a report week built set-based vs the same processors fed farm by farm.

    uv run python bench/inspig_weekly.py [--farms 200] [--schema bench_inspig]

The database is bench/benchdb.py's (BENCH_DATABASE_URL, else TEST_DATABASE_URL, else a temporary
embedded server). The sample (about 100 sows per farm, two years of history) is generated into its
own schema and reused only while its size and last day match what this run asks for.

Both sides build the same report week (both schedule groups, every target farm) with the same ten
processors and write the same rows (TS_INS_WEEK, TS_INS_WEEK_SUB, TS_INS_JOB_LOG):

- set-based: `run_week` per group, which reads each source table once for all farms;
- per-farm: as the original system ran it, one farm at a time: that farm's SELECTs, its
  processor calls and its inserts, one transaction per farm. No Dagster run around either side,
  so the ratio measures set-based against per-farm work, not run overhead.

Each side runs twice, taking turns; the faster run of each is compared.

The figure is the set-based rate, farms per second (target ≥ 50), printed with its ratio to the
per-farm loop. The ratio has no target of its own: the 5 × once set for it was against a Dagster
run per farm, whose run overhead this baseline leaves out. Both sides now share the Python work
(reading the rows into each farm's data, the ten processors), about 2.4 s of the set-based run's
3.4 s on this machine, and that shared part bounds the ratio.
"""

import argparse
import datetime as dt
import time

import pandas as pd
import sqlalchemy as sa
from benchdb import bench_database_url

from inspig_assets import schema as t
from inspig_assets.loader import load_week_data
from inspig_assets.master import ensure_master
from inspig_assets.options import COMPLETE, DAY_GB, GROUPS, RunOptions
from inspig_assets.periods import ReportWeek, ymd
from inspig_assets.report import process_farm, run_week, sub_frame
from inspig_assets.sample import SampleSpec, load_sample
from inspig_assets.targets import target_farms
from resources.farm_db import FarmDbResource
from resources.kst import now_kst
from resources.warehouse import WarehouseResource

UNTIL = dt.date(2026, 11, 17)  # fixed so that the generated sample can be reused
SOWS, HISTORY_DAYS = 100, 730
# Farms per second the set-based week must reach.
TARGET_RATE = 50
REPEAT = 2
MARKER = sa.Table(
    "bench_sample",
    sa.MetaData(),
    sa.Column("farms", sa.Integer),
    sa.Column("until", sa.Date),
    sa.Column("sows", sa.Integer),
    sa.Column("history_days", sa.Integer),
)


def prepare(db: FarmDbResource, farms: int) -> None:
    """Reuse the schema's sample when it has this size and last day, else generate it again."""
    engine = db.get_engine()
    wanted = {"farms": farms, "until": UNTIL, "sows": SOWS, "history_days": HISTORY_DAYS}
    with engine.begin() as conn:
        t.create_all(conn)
        MARKER.create(conn, checkfirst=True)
        present = conn.execute(sa.select(MARKER)).mappings().all()
        counted = conn.execute(sa.select(sa.func.count()).select_from(t.ta_farm)).scalar()
    if [dict(r) for r in present] == [wanted] and counted == farms:
        print(f"reusing sample: {farms} farms up to {UNTIL} in schema {db.local_schema}")
        return
    with engine.begin() as conn:
        for table in reversed(t.metadata.sorted_tables):
            conn.execute(table.delete())
        conn.execute(MARKER.delete())
    clock = time.perf_counter()
    spec = SampleSpec(farms=farms, sows_per_farm=SOWS, history_days=HISTORY_DAYS, until=UNTIL)
    with engine.begin() as conn:
        counts = load_sample(conn, spec, db.insert_rows)
        conn.execute(MARKER.insert().values(**wanted))
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))
    print(
        f"generated {farms} farms up to {UNTIL} in {time.perf_counter() - clock:.0f}s: "
        + ", ".join(f"{k}={v:,}" for k, v in sorted(counts.items()))
    )


def reset_reports(db: FarmDbResource) -> None:
    """Empty the report tables (not timed)."""
    with db.begin() as conn:
        for table in (t.ts_ins_week_sub, t.ts_ins_job_log, t.ts_ins_week, t.ts_ins_master):
            conn.execute(table.delete())


def set_based(db: FarmDbResource, week: ReportWeek) -> int:
    """Both groups' reports through `run_week`; the farms built."""
    built = 0
    for group in GROUPS:
        result = run_week(db.get_engine(), week, group, RunOptions(), inserter=db.insert_rows)
        built += len(result.completed) + len(result.errors)
        print(
            f"  set-based {group}: {len(result.completed)} COMPLETE, {len(result.errors)} ERROR, "
            f"{result.sub_rows:,} sub rows, {result.job_log_rows:,} log rows"
        )
    return built


def per_farm(db: FarmDbResource, week: ReportWeek) -> int:
    """Both groups' reports one farm at a time: its SELECTs, processors and inserts."""
    engine = db.get_engine()
    started = now_kst()
    with engine.begin() as conn:
        seq = ensure_master(conn, week, started)
        targets = {g: target_farms(conn, week, g, RunOptions()) for g in GROUPS}
    built = 0
    for headers in targets.values():
        for farm, header in headers.items():
            with engine.begin() as conn:
                ctx, data = load_week_data(conn, week, [farm], {farm: header})
                outcome = process_farm(data[farm], ctx)
                at = now_kst()
                db.insert_rows(
                    conn,
                    t.ts_ins_week,
                    [
                        {
                            "master_seq": seq,
                            "farm_no": farm,
                            "report_year": week.year,
                            "report_week_no": week.week_no,
                            "dt_from": ymd(week.dt_from),
                            "dt_to": ymd(week.dt_to),
                            **{k: header[k] for k in ("farm_nm", "owner_nm", "sigungu_cd")},
                            "schedule_group": header["schedule_group"],
                            **{k: v for k, v in outcome.week.items() if k in t.ts_ins_week.c},
                            "status_cd": COMPLETE if outcome.error is None else "ERROR",
                            "log_ins_dt": at,
                        }
                    ],
                )
                frame = sub_frame(seq, [outcome], at)
                if not frame.empty:
                    db.insert_rows(conn, t.ts_ins_week_sub, frame)
                logs = [
                    {
                        "master_seq": seq,
                        "job_nm": "INSPIG_WEEKLY",
                        "farm_no": farm,
                        "day_gb": DAY_GB,
                        "report_year": week.year,
                        "report_week_no": week.week_no,
                        "log_ins_dt": at,
                        **entry,
                    }
                    for entry in outcome.logs
                ]
                db.insert_rows(conn, t.ts_ins_job_log, pd.DataFrame.from_records(logs))
            built += 1
    return built


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--farms", type=int, default=200)
    parser.add_argument("--schema", default="bench_inspig")
    args = parser.parse_args()
    with bench_database_url() as url:
        db = FarmDbResource(warehouse=WarehouseResource(url=url), local_schema=args.schema)
        prepare(db, args.farms)
        week = ReportWeek.before(UNTIL)

        # Each side twice, taking turns, and the faster of its two runs: neither profits from
        # caches the other warmed.
        batch_runs, single_runs = [], []
        for _ in range(REPEAT):
            reset_reports(db)
            clock = time.perf_counter()
            built = set_based(db, week)
            batch_runs.append(time.perf_counter() - clock)
            print(f"set-based {week.label}: {built} farms in {batch_runs[-1]:.1f} s")

            reset_reports(db)
            clock = time.perf_counter()
            farms = per_farm(db, week)
            single_runs.append(time.perf_counter() - clock)
            print(f"per-farm {week.label}: {farms} farms in {single_runs[-1]:.1f} s")
            assert farms == built, (farms, built)
        batch_s, single_s = min(batch_runs), min(single_runs)
        reset_reports(db)
        db.get_engine().dispose()
    ratio, rate = single_s / batch_s, built / batch_s
    print(
        f"set-based weekly report: {rate:.0f} farms/s, {batch_s:.1f} s for {built} farms "
        f"({ratio:.1f} × the per-farm loop, target ≥ {TARGET_RATE} farms/s)"
    )


if __name__ == "__main__":
    main()
