"""Benchmark: a full report week (both groups) on 2,000 sample farms vs the single-farm job.

    uv run python bench/inspig_weekly.py [--farms 2000] [--single 50] [--schema bench_inspig]

The sample (about 100 sows per farm, two years of history) is generated once into its own schema
of the local warehouse and reused while its size and last day match. Prints farms/s of the set-based
week, farms/s of `inspig_farm_report_job` on `--single` farms, and their ratio.
"""

import argparse
import datetime as dt
import time

import sqlalchemy as sa

from inspig_assets import schema as t
from inspig_assets.jobs import inspig_farm_report_job
from inspig_assets.periods import ReportWeek
from inspig_assets.report import GROUPS, RunOptions, run_week
from inspig_assets.sample import SampleSpec, load_sample
from inspig_assets.sources import ProductivityApiResource
from resources.farm_db import FarmDbResource
from resources.settings import load_settings
from resources.warehouse import WarehouseResource

UNTIL = dt.date(2026, 11, 17)  # fixed so that the generated sample can be reused


def prepare(db: FarmDbResource, farms: int) -> None:
    engine = db.get_engine()
    with engine.begin() as conn:
        t.create_all(conn)
        present = conn.execute(sa.select(sa.func.count()).select_from(t.ta_farm)).scalar()
    if present == farms:
        print(f"reusing sample: {farms} farms in schema {db.local_schema}")
        return
    with engine.begin() as conn:
        for table in reversed(t.metadata.sorted_tables):
            conn.execute(table.delete())
    clock = time.perf_counter()
    spec = SampleSpec(farms=farms, sows_per_farm=100, history_days=730, until=UNTIL)
    with engine.begin() as conn:
        counts = load_sample(conn, spec, db.insert_rows)
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))
    print(
        f"generated {farms} farms in {time.perf_counter() - clock:.0f}s: "
        + ", ".join(f"{k}={v:,}" for k, v in sorted(counts.items()))
    )


def reset_reports(db: FarmDbResource) -> None:
    with db.begin() as conn:
        for table in (t.ts_ins_week_sub, t.ts_ins_job_log, t.ts_ins_week, t.ts_ins_master):
            conn.execute(table.delete())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--farms", type=int, default=2000)
    parser.add_argument("--single", type=int, default=50)
    parser.add_argument("--schema", default="bench_inspig")
    args = parser.parse_args()
    settings = load_settings()
    warehouse = WarehouseResource(
        url=settings.warehouse_url, embedded_dir=str(settings.home / "pg")
    )
    db = FarmDbResource(warehouse=warehouse, local_schema=args.schema)
    prepare(db, args.farms)
    engine = db.get_engine()
    week = ReportWeek.before(UNTIL)
    reset_reports(db)

    clock = time.perf_counter()
    built = 0
    for group in GROUPS:
        result = run_week(engine, week, group, RunOptions(), inserter=db.insert_rows, log=print)
        built += len(result.completed) + len(result.errors)
        print(
            f"  {group}: {len(result.completed)} COMPLETE, {len(result.errors)} ERROR, "
            f"{result.sub_rows:,} sub rows, {result.job_log_rows:,} log rows"
        )
    batch_sec = time.perf_counter() - clock
    batch_rate = built / batch_sec
    print(
        f"set-based week {week.label}: {built} farms in {batch_sec:.1f}s = {batch_rate:.1f} farms/s"
    )

    with engine.connect() as conn:
        farms = [
            r[0]
            for r in conn.execute(
                sa.select(t.ts_ins_week.c.farm_no)
                .order_by(t.ts_ins_week.c.farm_no)
                .limit(args.single)
            )
        ]
    resources = {"farm_db": db, "productivity_api": ProductivityApiResource()}
    ins_date = (week.dt_to + dt.timedelta(days=1)).strftime("%Y%m%d")
    clock = time.perf_counter()
    for farm in farms:
        result = inspig_farm_report_job.execute_in_process(
            run_config={
                "ops": {"build_farm_report": {"config": {"farm_no": farm, "ins_date": ins_date}}}
            },
            resources=resources,
        )
        assert result.success
    single_sec = time.perf_counter() - clock
    single_rate = len(farms) / single_sec
    print(
        f"inspig_farm_report_job: {len(farms)} farms in {single_sec:.1f}s "
        f"= {single_rate:.2f} farms/s"
    )
    print(f"ratio set-based / per-farm job: {batch_rate / single_rate:.1f}x")


if __name__ == "__main__":
    main()
