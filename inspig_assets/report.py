"""One weekly report run: the farms to build, processing each farm, the bulk writes.

Plain Python on SQLAlchemy Core (no Dagster): the assets and jobs call `run_week`.
"""

import datetime as dt
import hashlib
import secrets
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa

from inspig_assets import processors as proc
from inspig_assets import schema as t
from inspig_assets.loader import farm_filter, load_week_data
from inspig_assets.master import (
    apply_deletion,
    ensure_master,
    find_master,
    refresh_master,
    week_statuses,
)
from inspig_assets.model import FarmData, RunContext
from inspig_assets.options import COMPLETE, DAY_GB, ERROR, GROUPS, READY, RunOptions
from inspig_assets.periods import ReportWeek, ymd
from inspig_assets.targets import TargetProblems, single_farm, target_farms, target_problems
from resources.kst import now_kst

ERROR_MSG_LIMIT = 4000

Inserter = Callable[[sa.Connection, sa.Table, Sequence[Mapping[str, Any]] | pd.DataFrame], int]


@dataclass
class FarmOutcome:
    """What processing one farm produced."""

    farm_no: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    week: dict[str, Any] = field(default_factory=dict)
    logs: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


@dataclass
class RunResult:
    """Summary of a run (also what a dry run reports)."""

    week: ReportWeek
    group: str | None
    dry_run: bool
    master_seq: int | None = None
    targets: list[int] = field(default_factory=list)
    to_build: list[int] = field(default_factory=list)
    kept_complete: list[int] = field(default_factory=list)
    completed: list[int] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    sub_rows: int = 0
    job_log_rows: int = 0
    master_status: str | None = None
    master_counts: dict[str, int] = field(default_factory=dict)
    tokens: dict[int, str] = field(default_factory=dict)
    elapsed_s: float = 0.0
    problems: TargetProblems = field(default_factory=TargetProblems)


def default_inserter(conn: sa.Connection, table: sa.Table, rows: Any) -> int:
    """Portable executemany insert (the farm_db resource passes its COPY / array-bind insert)."""
    records = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else list(rows)
    if records:
        conn.execute(table.insert(), records)
    return len(records)


# -- processing ----------------------------------------------------------------------------------
def process_farm(farm: FarmData, ctx: RunContext) -> FarmOutcome:
    """Run the ten processors in order; the first exception fails the farm (nothing partial).

    A farm with unreadable source values is not processed: it fails with one FarmProcessor log
    row naming each bad value (table, column, value, row).
    """
    outcome = FarmOutcome(farm.farm_no)
    if farm.problems:
        started = now_kst()
        message = clip_message(f"bad source value(s): {'; '.join(farm.problems)}")
        log = _log("FarmProcessor", started, 0, 0, ERROR, message)
        outcome.logs.append({**log, "error_cd": "BAD_SOURCE_VALUE"})
        outcome.error = message
        return outcome
    done: dict[str, proc.ProcessorResult] = {}
    for key, name, processor in proc.PROCESSORS:
        started = now_kst()
        clock = time.perf_counter()
        try:
            result = processor(farm, ctx, done)
        except Exception as exc:
            elapsed = round((time.perf_counter() - clock) * 1000)
            message = clip_message(f"{name}: {type(exc).__name__}: {exc}")
            stack = traceback.format_exc()
            outcome.logs.append(_log(name, started, elapsed, 0, ERROR, message, stack))
            outcome.logs.append(_log("FarmProcessor", started, elapsed, 0, ERROR, message, stack))
            outcome.error = message
            outcome.rows, outcome.week = [], {}
            return outcome
        elapsed = round((time.perf_counter() - clock) * 1000)
        done[key] = result
        outcome.rows.extend(result.rows)
        outcome.week.update(result.week)
        outcome.logs.append(_log(name, started, elapsed, len(result.rows), "SUCCESS"))
    return outcome


def clip_message(text: str, limit: int = ERROR_MSG_LIMIT) -> str:
    """At most `limit` characters and `limit` UTF-8 bytes (Oracle's VARCHAR2(4000) cap in bytes)."""
    return text[:limit].encode()[:limit].decode(errors="ignore")


def _log(
    proc_nm: str,
    started: dt.datetime,
    elapsed_ms: int,
    count: int,
    status: str,
    message: str | None = None,
    stack: str | None = None,
) -> dict[str, Any]:
    return {
        "proc_nm": proc_nm,
        "status_cd": status,
        "start_dt": started,
        "end_dt": started + dt.timedelta(milliseconds=elapsed_ms),
        "elapsed_ms": elapsed_ms,
        "proc_cnt": count,
        "error_cd": "PROCESSOR_ERROR" if status == ERROR else None,
        "error_msg": message,
        "error_stack": stack,
    }


def share_token(master_seq: int, farm_no: int, at: dt.datetime) -> str:
    """sha256 hex of master, farm, KST timestamp and 16 random bytes."""
    raw = f"{master_seq}-{farm_no}-{at.strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(16)}"
    return hashlib.sha256(raw.encode()).hexdigest()


SUB_COLUMNS = [c.name for c in t.ts_ins_week_sub.columns]
SUB_NUMERIC = [c for c in SUB_COLUMNS if c.startswith(("cnt_", "val_"))]


def sub_frame(master_seq: int, outcomes: Sequence[FarmOutcome], at: dt.datetime) -> pd.DataFrame:
    """TS_INS_WEEK_SUB rows of the completed farms, numbers defaulting to 0."""
    records = [
        {"master_seq": master_seq, "farm_no": o.farm_no, **row}
        for o in outcomes
        if o.error is None
        for row in o.rows
    ]
    frame = pd.DataFrame.from_records(records)
    if frame.empty:
        return frame
    for column in SUB_COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    present = {c: pd.to_numeric(frame[c], errors="coerce") for c in SUB_NUMERIC}
    for column, values in present.items():
        # A key absent from a row means the table default 0; an explicit None stays NULL.
        frame[column] = values
    frame["log_ins_dt"] = at
    frame["sub_gubun"] = frame["sub_gubun"].fillna("-")
    return frame[SUB_COLUMNS]


def _fill_absent_zeros(outcomes: Sequence[FarmOutcome]) -> None:
    for outcome in outcomes:
        for row in outcome.rows:
            for column in SUB_NUMERIC:
                row.setdefault(column, 0)


WEEK_VALUE_COLUMNS = [
    *t.WEEK_INT_COLUMNS,
    *t.WEEK_DEC_COLUMNS,
    "modon_sangsi_cnt",
    "modon_sangsi_chg",
]


def run_week(
    engine: sa.Engine,
    week: ReportWeek,
    group: str | None,
    options: RunOptions,
    *,
    farm_no: int | None = None,
    inserter: Inserter = default_inserter,
    log: Callable[[str], None] = lambda _msg: None,
) -> RunResult:
    """Build the weekly report of one group (or of one farm when `farm_no` is given)."""
    options.validate()
    result = RunResult(week, group, options.dry_run)
    with engine.connect() as conn:
        if farm_no is not None:
            headers = single_farm(conn, farm_no, week)
        else:
            assert group is not None
            headers = target_farms(conn, week, group, options)
            result.problems = target_problems(conn, week, options)
        seq = find_master(conn, week)
        existing = week_statuses(conn, seq)
    result.master_seq = seq
    result.targets = sorted(headers)
    wipes = options.test_mode and (options.init_all or options.init_week)
    if farm_no is not None:
        result.to_build = result.targets
    else:
        result.to_build = [
            f for f in result.targets if wipes or existing.get(f, (None, None))[0] != COMPLETE
        ]
    result.kept_complete = [f for f in result.targets if f not in result.to_build]
    if options.dry_run:
        log(
            f"dry run {week.label} group {group or '-'}: {len(result.targets)} target farm(s), "
            f"{len(result.to_build)} would be built, {len(result.kept_complete)} COMPLETE kept"
        )
        return result

    started = now_kst()
    with engine.begin() as conn:
        result.deleted = apply_deletion(conn, week, options)
        seq = ensure_master(conn, week, started)
    result.master_seq = seq
    try:
        _build(engine, seq, week, headers, result, options, farm_no, inserter, log, started)
    finally:
        with engine.begin() as conn:
            week_targets = (
                None
                if farm_no is not None
                else {f for g in GROUPS for f in target_farms(conn, week, g, options)}
            )
            status, counts = refresh_master(conn, seq, started, week_targets)
        result.master_status, result.master_counts = status, counts
    result.elapsed_s = (now_kst() - started).total_seconds()
    return result


def _build(
    engine: sa.Engine,
    seq: int,
    week: ReportWeek,
    headers: dict[int, dict[str, Any]],
    result: RunResult,
    options: RunOptions,
    farm_no: int | None,
    inserter: Inserter,
    log: Callable[[str], None],
    started: dt.datetime,
) -> None:
    wk, sb, lg = t.ts_ins_week, t.ts_ins_week_sub, t.ts_ins_job_log
    build = result.to_build
    if not build:
        return
    with engine.begin() as conn:
        # Runs of the same week (AM7, PM2, a backfill, the web system) queue on the master row, so
        # two of them never insert the same farm; farms another run completed meanwhile are kept.
        conn.execute(
            sa.select(t.ts_ins_master.c.seq).where(t.ts_ins_master.c.seq == seq).with_for_update()
        )
        existing = week_statuses(conn, seq)
        if farm_no is None:
            build = [f for f in build if existing.get(f, (None, None))[0] != COMPLETE]
            result.to_build = build
            result.kept_complete = [f for f in result.targets if f not in build]
            if not build:
                return
        keep_token = {
            f: token
            for f, (status, token) in existing.items()
            if farm_no is not None and status == COMPLETE and token
        }
        if farm_no is not None:
            # The web system's single-farm rebuild: replace that farm's rows of the week.
            for table in (sb, lg, wk):
                conn.execute(
                    table.delete().where(table.c.master_seq == seq, table.c.farm_no == farm_no)
                )
            existing = {}
        else:
            conn.execute(
                sb.delete().where(sb.c.master_seq == seq).where(farm_filter(sb.c.farm_no, build))
            )
        missing = [f for f in build if f not in existing]
        inserter(
            conn,
            wk,
            [
                {
                    "master_seq": seq,
                    "farm_no": f,
                    "report_year": week.year,
                    "report_week_no": week.week_no,
                    "dt_from": ymd(week.dt_from),
                    "dt_to": ymd(week.dt_to),
                    **{k: headers[f][k] for k in ("farm_nm", "owner_nm", "sigungu_cd")},
                    "schedule_group": headers[f]["schedule_group"],
                    "status_cd": READY,
                    "log_ins_dt": started,
                }
                for f in missing
            ],
        )
        clock = time.perf_counter()
        ctx, data = load_week_data(conn, week, build, headers)
        log(f"loaded {len(build)} farm(s) in {time.perf_counter() - clock:.1f}s")
        clock = time.perf_counter()
        outcomes = [process_farm(data[f], ctx) for f in build]
        log(f"processed {len(build)} farm(s) in {time.perf_counter() - clock:.1f}s")
        clock = time.perf_counter()
        _fill_absent_zeros(outcomes)
        frame = sub_frame(seq, outcomes, started)
        result.sub_rows = inserter(conn, sb, frame) if not frame.empty else 0
        now = now_kst()
        expire = ymd(now.date() + dt.timedelta(days=6))
        done_rows, error_rows = [], []
        for o in outcomes:
            header = {
                "b_master_seq": seq,
                "b_farm_no": o.farm_no,
                "farm_nm": headers[o.farm_no]["farm_nm"],
                "owner_nm": headers[o.farm_no]["owner_nm"],
                "sigungu_cd": headers[o.farm_no]["sigungu_cd"],
                "schedule_group": headers[o.farm_no]["schedule_group"],
            }
            if o.error is None:
                token = keep_token.get(o.farm_no) or share_token(seq, o.farm_no, now)
                result.tokens[o.farm_no] = token
                result.completed.append(o.farm_no)
                values = {c: o.week.get(c, 0) for c in WEEK_VALUE_COLUMNS}
                for c in (
                    "modon_sangsi_cnt",
                    "modon_sangsi_chg",
                    "modon_reg_chg",
                    "last_eu_chg_jd",
                ):
                    values[c] = o.week.get(c)
                done_rows.append(
                    {
                        **header,
                        **values,
                        "status_cd": COMPLETE,
                        "share_token": token,
                        "token_expire_dt": expire,
                    }
                )
            else:
                result.errors[o.farm_no] = o.error
                error_rows.append(
                    {**header, "status_cd": ERROR, "share_token": None, "token_expire_dt": None}
                )
        for rows in (done_rows, error_rows):
            if rows:
                keys = [k for k in rows[0] if not k.startswith("b_")]
                stmt = (
                    wk.update()
                    .where(wk.c.master_seq == sa.bindparam("b_master_seq"))
                    .where(wk.c.farm_no == sa.bindparam("b_farm_no"))
                    .values({k: sa.bindparam(k) for k in keys})
                )
                conn.execute(stmt, rows)
        logs = [
            {
                "master_seq": seq,
                "job_nm": options.job_nm,
                "farm_no": o.farm_no,
                "day_gb": DAY_GB,
                "report_year": week.year,
                "report_week_no": week.week_no,
                "log_ins_dt": started,
                **entry,
            }
            for o in outcomes
            for entry in o.logs
        ]
        result.job_log_rows = inserter(conn, lg, pd.DataFrame.from_records(logs))
        log(f"wrote {result.sub_rows} sub row(s) in {time.perf_counter() - clock:.1f}s")
