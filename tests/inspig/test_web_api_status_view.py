"""vw_ins_week_status: each farm's latest report whose master and farm row are both COMPLETE."""

import sqlalchemy as sa
from sqlalchemy.dialects import oracle

from inspig_assets import schema as t
from resources.farm_db import FarmDbResource


def _master(conn: sa.Connection, seq: int, year: int, week: int, status: str) -> None:
    conn.execute(
        t.ts_ins_master.insert().values(
            seq=seq, day_gb="WEEK", report_year=year, report_week_no=week, status_cd=status
        )
    )


def _week(conn: sa.Connection, seq: int, farm_no: int, status: str) -> None:
    conn.execute(
        t.ts_ins_week.insert().values(
            master_seq=seq,
            farm_no=farm_no,
            status_cd=status,
            share_token=f"token-{seq}-{farm_no}",
            dt_from=f"w{seq}-from",
            dt_to=f"w{seq}-to",
        )
    )


def test_the_view_holds_the_latest_report_complete_in_master_and_farm(
    farm_db: FarmDbResource,
) -> None:
    with farm_db.begin() as conn:
        _master(conn, 1, 2025, 52, "COMPLETE")
        _master(conn, 2, 2026, 1, "COMPLETE")
        _master(conn, 3, 2026, 2, "ERROR")  # one farm failed: the week is hidden for all
        _master(conn, 4, 2026, 3, "RUNNING")  # the other group has not run yet
        _week(conn, 1, 10, "COMPLETE")
        _week(conn, 2, 10, "COMPLETE")  # farm 10: 2026-W01 is the latest usable (W02, W03 not)
        _week(conn, 3, 10, "COMPLETE")
        _week(conn, 4, 10, "COMPLETE")
        _week(conn, 1, 20, "COMPLETE")  # farm 20: 2025-W52, since its 2026-W01 row failed
        _week(conn, 2, 20, "ERROR")
        _week(conn, 2, 30, "READY")  # farm 30: nothing COMPLETE
        view = t.vw_ins_week_status
        rows = conn.execute(
            sa.select(view.c.farm_no, view.c.master_seq, view.c.report_year, view.c.report_week_no)
            .select_from(view)
            .order_by(view.c.farm_no)
        ).all()
        token = conn.execute(
            sa.select(view.c.share_token, view.c.dt_from, view.c.status_cd).where(
                view.c.farm_no == 10
            )
        ).one()
    assert [tuple(r) for r in rows] == [(10, 2, 2026, 1), (20, 1, 2025, 52)]
    assert tuple(token) == ("token-2-10", "w2-from", "COMPLETE")


def test_the_view_ddl_compiles_for_oracle() -> None:
    ddl = t.week_status_view_ddl(oracle.dialect())
    assert ddl.startswith("CREATE OR REPLACE VIEW vw_ins_week_status AS SELECT")
    assert "row_number() OVER (PARTITION BY ts_ins_week.farm_no, ts_ins_master.day_gb" in ddl
    assert ") ranked" in ddl and " AS ranked" not in ddl  # Oracle takes no AS before an alias
