"""Every SQL statement the report and productivity code executes compiles for Oracle."""

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.dialects import oracle
from sqlalchemy.schema import CreateIndex, CreateSequence, CreateTable

from inspig_assets import checks as ck
from inspig_assets import schema
from inspig_assets.master import find_master
from inspig_assets.options import RunOptions
from inspig_assets.periods import ReportWeek
from inspig_assets.productivity import (
    StatPeriod,
    all_farms,
    compute_local,
    save_rows,
    service_farms,
)
from inspig_assets.report import run_week
from inspig_assets.retention import months_before, purge_job_log
from inspig_assets.targets import schedule_gate
from resources.farm_db import FarmDbResource
from resources.kst import now_kst

from .conftest import SAMPLE_UNTIL


def test_ddl_compiles_for_oracle() -> None:
    dialect = oracle.dialect()
    for table in schema.metadata.sorted_tables:
        ddl = str(CreateTable(table).compile(dialect=dialect))
        assert table.name in ddl
        for index in table.indexes:
            str(CreateIndex(index).compile(dialect=dialect))
    seq = str(CreateSequence(schema.seq_ts_ins_master).compile(dialect=dialect))
    assert "CREATE SEQUENCE seq_ts_ins_master" in seq
    week = str(CreateTable(schema.ts_ins_week_sub).compile(dialect=dialect))
    for column in ("hint1", "hint2", "hint3", "json_data CLOB", "str_15 VARCHAR2(1000 CHAR)"):
        assert column in week


@contextmanager
def executed(engine: sa.Engine) -> Iterator[list[sa.ClauseElement]]:
    """Collect every SQL expression the engine executes inside the block."""
    statements: list[sa.ClauseElement] = []

    def capture(
        conn: sa.Connection,
        clauseelement: object,
        multiparams: object,
        params: object,
        execution_options: object,
    ) -> None:
        if isinstance(clauseelement, sa.ClauseElement):
            statements.append(clauseelement)

    sa.event.listen(engine, "before_execute", capture)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_execute", capture)


def test_every_executed_statement_compiles_for_oracle(sample_db: FarmDbResource) -> None:
    engine = sample_db.get_engine()
    with executed(engine) as statements:
        week = ReportWeek.before(SAMPLE_UNTIL)
        run_week(engine, week, "AM7", RunOptions(), inserter=sample_db.insert_rows)
        run_week(engine, week.next, "AM7", RunOptions(), inserter=sample_db.insert_rows)
        run_week(engine, week, "AM7", RunOptions(test_mode=True, init_week=True))
        run_week(engine, week, None, RunOptions(), farm_no=1387, inserter=sample_db.insert_rows)
        run_week(engine, week, "AM7", RunOptions(test_mode=True, init_all=True, farm_list=(848,)))
        period = StatPeriod.week(week.dt_from)
        with engine.begin() as conn:
            farms = service_farms(conn, week.dt_to)
            assert all_farms(conn)
            rows = compute_local(conn, farms, period)
            save_rows(conn, rows, farms, period, sample_db.insert_rows, now_kst())
            seq = find_master(conn, week)
            assert seq is not None
            ck.master_count_mismatch(conn, seq)
            ck.missing_fixed_rows(conn, seq, "AM7")
            ck.farms_without_logs(conn, seq, "AM7")
            ck.error_farms(conn, seq, "AM7")
            schedule_gate(conn)
    assert len(statements) > 40
    dialect = oracle.dialect()
    compiled = [str(s.compile(dialect=dialect)) for s in statements]
    text = "\n".join(compiled)
    assert "SELECT seq_ts_ins_master.nextval AS next_value_1 FROM DUAL" in text
    assert "search_path" not in text.lower()


def test_job_log_retention_compiles_for_oracle(sample_db: FarmDbResource) -> None:
    engine = sample_db.get_engine()
    week = ReportWeek.before(SAMPLE_UNTIL)
    for group in ("AM7", "PM2"):  # the week's master is COMPLETE only after both groups
        run_week(engine, week, group, RunOptions(), inserter=sample_db.insert_rows)
    with engine.begin() as conn:
        old = now_kst() - dt.timedelta(days=200)
        logs = conn.execute(schema.ts_ins_job_log.update().values(start_dt=old)).rowcount
    with executed(engine) as statements:
        result = purge_job_log(engine, months_before(now_kst(), 6), batch_size=logs // 2 + 1)
    assert result.deleted == logs and result.batches == 2
    dialect = oracle.dialect()
    compiled = [str(s.compile(dialect=dialect)) for s in statements]
    assert sum(c.startswith("DELETE") for c in compiled) == 2  # one statement per batch
    text = "\n".join(compiled)
    assert "DELETE FROM ts_ins_job_log WHERE ts_ins_job_log.seq IN (SELECT old_log.seq" in text
    # Oracle 12c row limiting inside the subquery, never PostgreSQL's LIMIT
    assert "ORDER BY old_log.seq\n FETCH FIRST __[POSTCOMPILE_param_1] ROWS ONLY)" in text
    assert " LIMIT " not in text
    assert "coalesce(old_log.status_cd, :coalesce_1) = :coalesce_2" in text
    assert "EXISTS (SELECT *" in text and "ts_ins_master.seq = old_log.master_seq" in text
    assert "search_path" not in text.lower()
