"""TS_INS_JOB_LOG retention: rows are kept six months (calendar months of START_DT), then deleted.

Plain Python on SQLAlchemy Core (no Dagster). Count first, then delete in bounded batches, each in
its own short transaction. Rows of a running job are never deleted: a log row whose own status is
RUNNING, or any row of a TS_INS_MASTER week that is RUNNING (a report run of that week is under
way, or its other schedule group has not finished).
"""

import calendar
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from inspig_assets import schema as t
from inspig_assets.options import RUNNING

DEFAULT_KEEP_MONTHS = 6
DEFAULT_BATCH_SIZE = 5_000
DEFAULT_MAX_BATCHES = 200


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """The same day and time `months` calendar months earlier (the month's last day if shorter)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@dataclass
class PurgeResult:
    """What a retention pass found and did."""

    cutoff: dt.datetime
    dry_run: bool
    eligible: int = 0  # older than the cutoff and not protected, counted before deleting
    kept_running: int = 0  # older than the cutoff but belonging to a running job
    deleted: int = 0
    batches: int = 0
    remaining: int = 0  # eligible rows left for the next pass (the batch bound was reached)
    oldest: dt.datetime | None = None  # START_DT of the oldest eligible row


def _conditions(log: sa.Alias, cutoff: dt.datetime) -> tuple[sa.ColumnElement[bool], ...]:
    """(old, protected) for rows of `log` (an alias of TS_INS_JOB_LOG)."""
    ms = t.ts_ins_master
    old = log.c.start_dt < cutoff
    master_running = (
        sa.exists().where(ms.c.seq == log.c.master_seq, ms.c.status_cd == RUNNING).correlate(log)
    )
    # COALESCE: a row without a status is not running (and NOT (NULL OR …) would keep it forever).
    protected = sa.or_(sa.func.coalesce(log.c.status_cd, "-") == RUNNING, master_running)
    return old, protected


def _count(conn: sa.Connection, cutoff: dt.datetime) -> tuple[int, int, dt.datetime | None]:
    """(eligible, kept for a running job, oldest eligible START_DT) among rows before `cutoff`."""
    log = t.ts_ins_job_log.alias("old_log")
    old, protected = _conditions(log, cutoff)
    row = conn.execute(
        sa.select(
            sa.func.count(),
            sa.func.sum(sa.case((protected, 1), else_=0)),
            sa.func.min(sa.case((protected, None), else_=log.c.start_dt)),
        ).where(old)
    ).one()
    total, running, oldest = int(row[0]), int(row[1] or 0), row[2]
    return total - running, running, oldest


def delete_batch_statement(cutoff: dt.datetime, batch_size: int) -> sa.Delete:
    """DELETE of at most `batch_size` eligible rows, oldest SEQ first (FETCH FIRST on Oracle)."""
    lg = t.ts_ins_job_log
    log = lg.alias("old_log")
    old, protected = _conditions(log, cutoff)
    batch = (
        sa.select(log.c.seq).where(old, sa.not_(protected)).order_by(log.c.seq).limit(batch_size)
    )
    return lg.delete().where(lg.c.seq.in_(batch))


def purge_job_log(
    engine: sa.Engine,
    cutoff: dt.datetime,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_batches: int = DEFAULT_MAX_BATCHES,
    dry_run: bool = False,
    log: Callable[[str], None] = lambda _msg: None,
) -> PurgeResult:
    """Delete TS_INS_JOB_LOG rows that started before `cutoff`, except those of running jobs.

    At most `batch_size` × `max_batches` rows go in one pass; the rest is left for the next one
    and reported as `remaining`. A dry run only counts.
    """
    if batch_size < 1 or max_batches < 1:
        raise ValueError("batch_size and max_batches must be at least 1")
    result = PurgeResult(cutoff=cutoff, dry_run=dry_run)
    with engine.connect() as conn:
        result.eligible, result.kept_running, result.oldest = _count(conn, cutoff)
    log(
        f"TS_INS_JOB_LOG before {cutoff.isoformat()}: {result.eligible} row(s) to delete, "
        f"{result.kept_running} kept (running job)"
    )
    if dry_run or not result.eligible:
        result.remaining = result.eligible
        return result
    statement = delete_batch_statement(cutoff, batch_size)
    while result.batches < max_batches:
        with engine.begin() as conn:
            deleted = conn.execute(statement).rowcount
        result.batches += 1
        result.deleted += deleted
        log(f"batch {result.batches}: deleted {deleted} row(s)")
        if deleted < batch_size:
            break
    with engine.connect() as conn:
        result.remaining = _count(conn, cutoff)[0]
    return result
