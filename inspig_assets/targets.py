"""Target farms of a report run: active subscriptions, farm headers, the schedule gate."""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from inspig_assets import schema as t
from inspig_assets.loader import farm_filter
from inspig_assets.options import GROUPS, RunOptions, RunRefused
from inspig_assets.periods import ReportWeek, ymd


def active_services(conn: sa.Connection, today: dt.date) -> dict[int, Mapping[str, Any]]:
    """VW_INS_SERVICE_ACTIVE: each farm's latest subscription row that is active on `today`."""
    s = t.ts_ins_service
    day = ymd(today)
    rows = conn.execute(
        sa.select(s.c.farm_no, s.c.inspig_reg_dt, s.c.reg_type, s.c.schedule_group_week).where(
            s.c.inspig_yn == "Y",
            s.c.use_yn == "Y",
            s.c.inspig_from_dt.is_not(None),
            s.c.inspig_to_dt.is_not(None),
            s.c.inspig_from_dt <= day,
            s.c.inspig_to_dt >= day,
            sa.func.coalesce(s.c.inspig_stop_dt, "99991231") >= day,
        )
    ).mappings()
    latest: dict[int, Mapping[str, Any]] = {}
    for row in rows:
        seen = latest.get(row["farm_no"])
        if seen is None or row["inspig_reg_dt"] > seen["inspig_reg_dt"]:
            latest[row["farm_no"]] = row
    return latest


def schedule_group(value: str | None) -> str | None:
    """TS_INS_SERVICE.SCHEDULE_GROUP_WEEK as a group; None for a value that is no group.

    Surrounding spaces and case are ignored; NULL (or blank, which Oracle stores as NULL) is AM7,
    the seed's default.
    """
    text = (value or "").strip().upper() or "AM7"
    return text if text in GROUPS else None


def _auto_services(conn: sa.Connection, week: ReportWeek) -> dict[int, Mapping[str, Any]]:
    """Active AUTO subscriptions as of the Monday after the week."""
    services = active_services(conn, week.dt_to + dt.timedelta(days=1))
    return {f: s for f, s in services.items() if (s["reg_type"] or "AUTO") == "AUTO"}


def _restricted(farms: dict[int, Any], options: RunOptions) -> dict[int, Any]:
    only = options.target_list
    if only is not None:
        return {f: s for f, s in farms.items() if f in only}
    if options.exclude_farms:
        return {f: s for f, s in farms.items() if f not in options.exclude_farms}
    return farms


def target_farms(
    conn: sa.Connection, week: ReportWeek, group: str, options: RunOptions
) -> dict[int, dict[str, Any]]:
    """Active AUTO service farms of `group` (as of the Monday after the week), with their header."""
    chosen = {
        farm: svc
        for farm, svc in _auto_services(conn, week).items()
        if schedule_group(svc["schedule_group_week"]) == group
    }
    return _farm_headers(conn, _restricted(chosen, options), group)


@dataclass(frozen=True)
class TargetProblems:
    """Farms a run was asked for or subscribed, that no group's run will build.

    `unknown_farms`: farm_list entries that are not an active AUTO subscription of a farm in use;
    `invalid_groups`: subscribed farms (within farm_list / exclude_farms) whose schedule group
    is neither AM7 nor PM2, farm → the stored value.
    """

    unknown_farms: tuple[int, ...] = ()
    invalid_groups: Mapping[int, str | None] = field(default_factory=dict)


def target_problems(conn: sa.Connection, week: ReportWeek, options: RunOptions) -> TargetProblems:
    """What `target_farms` leaves out of every group although the run or the subscription asks."""
    services = _auto_services(conn, week)
    in_use = set(_farm_headers(conn, services, None)) if services else set()
    subscribed = {f: s for f, s in _restricted(services, options).items() if f in in_use}
    invalid = {
        farm: svc["schedule_group_week"]
        for farm, svc in sorted(subscribed.items())
        if schedule_group(svc["schedule_group_week"]) is None
    }
    unknown = tuple(sorted(set(options.farm_list or ()) - in_use))
    return TargetProblems(unknown, invalid)


def _farm_headers(
    conn: sa.Connection, services: Mapping[int, Mapping[str, Any]], group: str | None
) -> dict[int, dict[str, Any]]:
    if not services:
        return {}
    f = t.ta_farm
    rows = conn.execute(
        sa.select(f.c.farm_no, f.c.farm_nm, f.c.principal_nm, f.c.sigun_cd)
        .where(f.c.use_yn == "Y")
        .where(farm_filter(f.c.farm_no, sorted(services)))
    )
    headers = {}
    for farm, name, owner, sigun in rows:
        svc = services.get(farm) or {}
        headers[farm] = {
            "farm_nm": name,
            "owner_nm": owner,
            "sigungu_cd": sigun,
            "schedule_group": group or schedule_group(svc.get("schedule_group_week")) or "AM7",
        }
    return dict(sorted(headers.items()))


def single_farm(conn: sa.Connection, farm_no: int, week: ReportWeek) -> dict[int, dict[str, Any]]:
    """One farm whatever its subscription (the web system's request); its group if subscribed."""
    services = active_services(conn, week.dt_to + dt.timedelta(days=1))
    svc = services.get(farm_no) or {"schedule_group_week": None}
    headers = _farm_headers(conn, {farm_no: svc}, None)
    if not headers:
        raise RunRefused(f"farm {farm_no} does not exist or is not in use (TA_FARM.USE_YN)")
    return headers


def schedule_gate(conn: sa.Connection) -> str | None:
    """TA_SYS_CONFIG.INS_SCHEDULE_YN (SEQ=1); scheduled runs proceed only on Y or T."""
    try:
        return conn.execute(
            sa.select(t.ta_sys_config.c.ins_schedule_yn).where(t.ta_sys_config.c.seq == 1)
        ).scalar()
    except sa.exc.DBAPIError:
        return None
