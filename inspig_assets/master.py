"""The week's master row (one per week, shared by both groups) and the test-mode deletions."""

import datetime as dt
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from inspig_assets import schema as t
from inspig_assets.loader import farm_filter
from inspig_assets.options import COMPLETE, DAY_GB, ERROR, RUNNING, RunOptions
from inspig_assets.periods import ReportWeek, ymd
from resources.kst import now_kst


def apply_deletion(conn: sa.Connection, week: ReportWeek, options: RunOptions) -> dict[str, int]:
    """Test mode only: delete the report rows `init_all` / `init_week` name; nothing otherwise.

    `init_all` deletes every TS_INS_* row of the target farms (farm_list, or the test farms);
    `init_week` does the same within this week's master, and drops the master once no farm row is
    left. Only `init_every_farm` widens either to every farm. Outside test mode nothing is deleted.
    """
    options.validate()
    if not options.test_mode or not (options.init_all or options.init_week):
        return {}
    ms, wk, sb, lg = t.ts_ins_master, t.ts_ins_week, t.ts_ins_week_sub, t.ts_ins_job_log
    scope = options.deletion_farms
    farms = list(scope) if scope is not None else []
    deleted: dict[str, int] = {}
    if options.init_all:
        if farms:
            for name, table in (
                ("ts_ins_week_sub", sb),
                ("ts_ins_job_log", lg),
                ("ts_ins_week", wk),
            ):
                deleted[name] = conn.execute(
                    table.delete().where(farm_filter(table.c.farm_no, farms))
                ).rowcount
        else:
            for name, table in (
                ("ts_ins_week_sub", sb),
                ("ts_ins_job_log", lg),
                ("ts_ins_week", wk),
                ("ts_ins_master", ms),
            ):
                deleted[name] = conn.execute(table.delete()).rowcount
        _refresh_all_masters(conn)
        return deleted
    masters = [
        row[0]
        for row in conn.execute(
            sa.select(ms.c.seq).where(
                ms.c.day_gb == DAY_GB,
                ms.c.report_year == week.year,
                ms.c.report_week_no == week.week_no,
            )
        )
    ]
    if not masters:
        return {}
    for name, table in (("ts_ins_week_sub", sb), ("ts_ins_job_log", lg), ("ts_ins_week", wk)):
        where = table.c.master_seq.in_(masters)
        if farms:
            where = sa.and_(where, farm_filter(table.c.farm_no, farms))
        deleted[name] = conn.execute(table.delete().where(where)).rowcount
    remaining = conn.execute(
        sa.select(sa.func.count()).select_from(wk).where(wk.c.master_seq.in_(masters))
    ).scalar()
    if not remaining:
        deleted["ts_ins_master"] = conn.execute(ms.delete().where(ms.c.seq.in_(masters))).rowcount
    else:
        for seq in masters:
            refresh_master(conn, seq)
    return deleted


def _refresh_all_masters(conn: sa.Connection) -> None:
    for (seq,) in conn.execute(sa.select(t.ts_ins_master.c.seq)).fetchall():
        refresh_master(conn, seq)


# -- master --------------------------------------------------------------------------------------
def find_master(conn: sa.Connection, week: ReportWeek) -> int | None:
    """SEQ of the week's master row, if any."""
    ms = t.ts_ins_master
    return conn.execute(
        sa.select(ms.c.seq).where(
            ms.c.day_gb == DAY_GB,
            ms.c.report_year == week.year,
            ms.c.report_week_no == week.week_no,
        )
    ).scalar()


def ensure_master(conn: sa.Connection, week: ReportWeek, started: dt.datetime) -> int:
    """The week's one master row (created once, shared by both groups), set RUNNING."""
    ms = t.ts_ins_master
    seq = find_master(conn, week)
    if seq is None:
        new_seq = conn.execute(sa.select(t.seq_ts_ins_master.next_value())).scalar()
        try:
            with conn.begin_nested():
                conn.execute(
                    ms.insert().values(
                        seq=new_seq,
                        day_gb=DAY_GB,
                        ins_dt=ymd(week.dt_to),
                        report_year=week.year,
                        report_week_no=week.week_no,
                        dt_from=ymd(week.dt_from),
                        dt_to=ymd(week.dt_to),
                        status_cd=RUNNING,
                        start_dt=started,
                        log_ins_dt=started,
                    )
                )
            seq = new_seq
        except sa.exc.IntegrityError:  # the other group's run created it first
            seq = find_master(conn, week)
    conn.execute(ms.update().where(ms.c.seq == seq).values(status_cd=RUNNING, start_dt=started))
    return int(seq)  # type: ignore[arg-type]


def refresh_master(
    conn: sa.Connection,
    seq: int,
    started: dt.datetime | None = None,
    week_targets: Iterable[int] | None = None,
) -> tuple[str, dict[str, int]]:
    """Recompute the master's counts from TS_INS_WEEK.

    `week_targets` are the target farms of the week in both groups: a farm without a row yet
    (the other group has not run) counts as a target that is not COMPLETE. Without it, the farms
    with rows are the targets. The master is COMPLETE only when every target farm is.
    """
    ms, wk = t.ts_ins_master, t.ts_ins_week
    rows = dict(
        conn.execute(
            sa.select(wk.c.farm_no, wk.c.status_cd).where(wk.c.master_seq == seq)
        ).fetchall()
    )
    farms = set(rows) | set(week_targets or ())
    target = len(farms)
    complete = sum(1 for status in rows.values() if status == COMPLETE)
    error = sum(1 for status in rows.values() if status == ERROR)
    status = COMPLETE if complete == target else (ERROR if error else RUNNING)
    values: dict[str, Any] = {
        "target_cnt": target,
        "complete_cnt": complete,
        "error_cnt": error,
        "status_cd": status,
    }
    if started is not None:
        ended = now_kst()
        values["end_dt"] = ended
        values["elapsed_sec"] = round((ended - started).total_seconds())
    conn.execute(ms.update().where(ms.c.seq == seq).values(**values))
    return status, {"target": target, "complete": complete, "error": error}


def week_statuses(conn: sa.Connection, seq: int | None) -> dict[int, tuple[str, str | None]]:
    """(status, share token) of every farm row of a master."""
    if seq is None:
        return {}
    wk = t.ts_ins_week
    rows = conn.execute(
        sa.select(wk.c.farm_no, wk.c.status_cd, wk.c.share_token).where(wk.c.master_seq == seq)
    )
    return {r[0]: (r[1], r[2]) for r in rows}
