"""Asset checks of the inspig tables: their names and the report checks, read from the database.

The report asset declares `REPORT_CHECKS` and yields their results after each run.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import sqlalchemy as sa

from inspig_assets import schema as t
from inspig_assets.processors import PROCESSORS
from inspig_assets.targets import TargetProblems

CHECK_FARMS_COMPLETE = "all_target_farms_complete"
CHECK_MASTER_COUNTS = "master_counts_match_week_rows"
CHECK_FIXED_ROWS = "complete_reports_have_fixed_rows"
CHECK_JOB_LOG = "job_log_row_per_processor"
CHECK_PRODUCTIVITY = "productivity_farms_collected"
CHECK_FARM_LIST_KNOWN = "farm_list_farms_known"
CHECK_SCHEDULE_GROUPS = "schedule_groups_valid"

# The report's four checks: (asset, check name), in the order they are evaluated.
REPORT_CHECK_KEYS = (
    ("ts_ins_week", CHECK_FARMS_COMPLETE),
    ("ts_ins_master", CHECK_MASTER_COUNTS),
    ("ts_ins_week_sub", CHECK_FIXED_ROWS),
    ("ts_ins_job_log", CHECK_JOB_LOG),
)
# What the run was asked for against what it could target: evaluated by dry runs too.
TARGET_CHECK_KEYS = (
    ("ts_ins_week", CHECK_FARM_LIST_KNOWN),
    ("ts_ins_week", CHECK_SCHEDULE_GROUPS),
)
REPORT_CHECKS = [
    dg.AssetCheckSpec(name, asset=asset) for asset, name in (*REPORT_CHECK_KEYS, *TARGET_CHECK_KEYS)
]
# Entries of a failing check's metadata listing (the UI shows the first ones).
LISTED = 100

# (GUBUN, SUB_GUBUN) → rows every COMPLETE report has, even for a farm without sows.
FIXED_ROWS: dict[tuple[str, str], int] = {
    ("CONFIG", "-"): 1,
    ("ALERT", "-"): 4,
    ("MODON", "-"): 10,
    ("GB", "STAT"): 1,
    ("GB", "CHART"): 1,
    ("BM", "-"): 1,
    ("EU", "-"): 1,
    ("SG", "STAT"): 2,
    ("SG", "CHART"): 1,
    ("DOPE", "STAT"): 2,
    ("DOPE", "CHART"): 1,
    ("SHIP", "ROW"): 13,
    ("SHIP", "STAT"): 1,
    ("SHIP", "CHART"): 7,
    ("SCHEDULE", "-"): 1,
    ("SCHEDULE", "HELP"): 1,
    ("SCHEDULE", "METHOD"): 1,
}


def master_count_mismatch(conn: sa.Connection, master_seq: int) -> dict[str, tuple[int, int]]:
    """Master counts that disagree with a recount of TS_INS_WEEK: stored → recounted.

    COMPLETE and ERROR counts must match exactly; the target count covers at least the farms with
    rows (it also counts target farms of the other group that has not run yet).
    """
    ms, wk = t.ts_ins_master, t.ts_ins_week
    stored = conn.execute(
        sa.select(ms.c.target_cnt, ms.c.complete_cnt, ms.c.error_cnt).where(ms.c.seq == master_seq)
    ).one()
    rows = dict(
        conn.execute(
            sa.select(wk.c.status_cd, sa.func.count())
            .where(wk.c.master_seq == master_seq)
            .group_by(wk.c.status_cd)
        ).fetchall()
    )
    target, complete, error = (int(v or 0) for v in stored)
    mismatch: dict[str, tuple[int, int]] = {}
    if target < sum(rows.values()):
        mismatch["target_cnt"] = (target, sum(rows.values()))
    for name, value, recount in (
        ("complete_cnt", complete, rows.get("COMPLETE", 0)),
        ("error_cnt", error, rows.get("ERROR", 0)),
    ):
        if value != recount:
            mismatch[name] = (value, recount)
    return mismatch


def missing_fixed_rows(conn: sa.Connection, master_seq: int, group: str) -> dict[int, list[str]]:
    """COMPLETE farms of `group` lacking one of the fixed rows: farm → missing row kinds."""
    wk, sb = t.ts_ins_week, t.ts_ins_week_sub
    farms = [
        r[0]
        for r in conn.execute(
            sa.select(wk.c.farm_no).where(
                wk.c.master_seq == master_seq,
                wk.c.status_cd == "COMPLETE",
                wk.c.schedule_group == group,
            )
        )
    ]
    if not farms:
        return {}
    counts: dict[tuple[int, str, str], int] = {}
    rows = conn.execute(
        sa.select(sb.c.farm_no, sb.c.gubun, sb.c.sub_gubun, sa.func.count())
        .join(wk, sa.and_(wk.c.master_seq == sb.c.master_seq, wk.c.farm_no == sb.c.farm_no))
        .where(sb.c.master_seq == master_seq, wk.c.status_cd == "COMPLETE")
        .where(wk.c.schedule_group == group)
        .group_by(sb.c.farm_no, sb.c.gubun, sb.c.sub_gubun)
    )
    for farm, gubun, sub_gubun, n in rows:
        counts[(farm, gubun, sub_gubun)] = n
    missing: dict[int, list[str]] = {}
    for farm in farms:
        for (gubun, sub_gubun), n in FIXED_ROWS.items():
            if counts.get((farm, gubun, sub_gubun), 0) < n:
                missing.setdefault(farm, []).append(f"{gubun}/{sub_gubun}")
    return missing


def farms_without_logs(conn: sa.Connection, master_seq: int, group: str) -> list[int]:
    """COMPLETE farms of `group` without a SUCCESS log row for each of the ten processors."""
    wk, lg = t.ts_ins_week, t.ts_ins_job_log
    expected = len(PROCESSORS)
    logged = (
        sa.select(lg.c.farm_no, sa.func.count(sa.distinct(lg.c.proc_nm)).label("n"))
        .where(lg.c.master_seq == master_seq, lg.c.status_cd == "SUCCESS")
        .group_by(lg.c.farm_no)
        .subquery()
    )
    rows = conn.execute(
        sa.select(wk.c.farm_no)
        .outerjoin(logged, logged.c.farm_no == wk.c.farm_no)
        .where(wk.c.master_seq == master_seq, wk.c.status_cd == "COMPLETE")
        .where(wk.c.schedule_group == group)
        .where(sa.func.coalesce(logged.c.n, 0) < expected)
    )
    return sorted(r[0] for r in rows)


def error_farms(conn: sa.Connection, master_seq: int, group: str) -> dict[int, str]:
    """Farms of `group` not COMPLETE, with their latest error message."""
    wk, lg = t.ts_ins_week, t.ts_ins_job_log
    farms = {
        r[0]: r[1]
        for r in conn.execute(
            sa.select(wk.c.farm_no, wk.c.status_cd).where(
                wk.c.master_seq == master_seq,
                wk.c.schedule_group == group,
                wk.c.status_cd != "COMPLETE",
            )
        )
    }
    if not farms:
        return {}
    messages: dict[int, str] = {}
    rows = conn.execute(
        sa.select(lg.c.farm_no, lg.c.error_msg)
        .where(lg.c.master_seq == master_seq, lg.c.proc_nm == "FarmProcessor")
        .order_by(lg.c.seq)
    )
    for farm, message in rows:
        if farm in farms:
            messages[farm] = message or ""
    return {f: messages.get(f, status) for f, status in sorted(farms.items())}


@dataclass(frozen=True)
class BuiltPartition:
    """One week and group a report run built: the partition, its week's master and the group."""

    partition: str
    week_label: str
    master_seq: int | None
    group: str
    problems: TargetProblems = field(default_factory=TargetProblems)


def target_check_results(built: Sequence[BuiltPartition]) -> Iterator[dg.AssetCheckResult]:
    """farm_list farms that are no target farm, and subscriptions of no group, keyed partition/farm.

    A farm listed here is built by no run: the check fails so that it is never left out silently
    while the week's master reads COMPLETE.
    """
    unknown = {
        f"{b.partition}/{farm}": "not an active AUTO subscription of a farm in use"
        for b in built
        for farm in b.problems.unknown_farms
    }
    invalid = {
        f"{b.partition}/{farm}": value
        for b in built
        for farm, value in b.problems.invalid_groups.items()
    }
    for name, label, findings in (
        (CHECK_FARM_LIST_KNOWN, "unknown_farms", unknown),
        (CHECK_SCHEDULE_GROUPS, "invalid_schedule_groups", invalid),
    ):
        yield dg.AssetCheckResult(
            asset_key="ts_ins_week",
            check_name=name,
            passed=not findings,
            metadata={
                label: dg.MetadataValue.json(dict(list(findings.items())[:LISTED])),
                f"{label}_count": len(findings),
            },
        )


def report_check_results(
    conn: sa.Connection, built: Sequence[BuiltPartition]
) -> Iterator[dg.AssetCheckResult]:
    """The four report checks over every partition of a run (a single week is a range of one).

    Findings are keyed `partition/farm` (`week/count` for the master counts, `partition` for
    the farms without logs).
    """
    failed: dict[str, str] = {}
    mismatch: dict[str, list[int]] = {}
    missing: dict[str, list[str]] = {}
    no_logs: dict[str, list[int]] = {}
    for b in built:
        if b.master_seq is None:
            continue
        for farm, message in error_farms(conn, b.master_seq, b.group).items():
            failed[f"{b.partition}/{farm}"] = message[:300]
        for name, counts in master_count_mismatch(conn, b.master_seq).items():
            mismatch[f"{b.week_label}/{name}"] = list(counts)
        for farm, kinds in missing_fixed_rows(conn, b.master_seq, b.group).items():
            missing[f"{b.partition}/{farm}"] = kinds
        lacking = farms_without_logs(conn, b.master_seq, b.group)
        if lacking:
            no_logs[b.partition] = lacking
    found: dict[str, tuple[str, dict[str, Any]]] = {
        CHECK_FARMS_COMPLETE: ("failed_farms", failed),
        CHECK_MASTER_COUNTS: ("mismatch", mismatch),
        CHECK_FIXED_ROWS: ("missing", missing),
        CHECK_JOB_LOG: ("farms_without_logs", no_logs),
    }
    for asset, name in REPORT_CHECK_KEYS:
        label, findings = found[name]
        yield dg.AssetCheckResult(
            asset_key=asset,
            check_name=name,
            passed=not findings,
            metadata={
                label: dg.MetadataValue.json(dict(list(findings.items())[:LISTED])),
                f"{label}_count": len(findings),
            },
        )


def report_checks_not_run(
    metadata: dict[str, Any], *, passed: bool, keys: Sequence[tuple[str, str]] = REPORT_CHECK_KEYS
) -> Iterator[dg.AssetCheckResult]:
    """Report checks of a run that built nothing (a dry run passes, a closed gate warns)."""
    for asset, name in keys:
        yield dg.AssetCheckResult(
            asset_key=asset,
            check_name=name,
            passed=passed,
            severity=dg.AssetCheckSeverity.ERROR if passed else dg.AssetCheckSeverity.WARN,
            metadata=metadata,
        )
