"""Set-based loading: each source table is read once per run for all target farms of a week."""

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from inspig_assets import schema as t
from inspig_assets.model import (
    ALIVE,
    CONFIG_DEFAULTS,
    FarmData,
    Move,
    PlanRow,
    PrevWeek,
    RunContext,
    Sow,
    Work,
)
from inspig_assets.periods import ReportWeek, add_months, ymd

# History read before DT_TO: covers year-to-date (≤ 371 days) and the rearing-rate window.
HISTORY_DAYS = 430
# Litters and piglet moves are read in detail only this far before DT_FROM (a lactation and more);
# year-to-date litter and mating figures are aggregated by the database.
RECENT_DAYS = 70
ORACLE_IN_LIMIT = 1000
GB_CHART_COLUMNS = tuple(f"c{i:03d}" for i in range(29, 37))


def farm_filter(column: sa.ColumnElement[Any], farms: Sequence[int]) -> sa.ColumnElement[bool]:
    """`column IN (...)`, split into lists of 1,000 (Oracle's limit)."""
    farms = list(farms)
    if len(farms) <= ORACLE_IN_LIMIT:
        return column.in_(farms)
    return sa.or_(
        *[column.in_(farms[i : i + ORACLE_IN_LIMIT]) for i in range(0, len(farms), ORACLE_IN_LIMIT)]
    )


def work_events_query(farms: Sequence[int]) -> sa.Select:
    """Sow work events (TB_MODON_WK rows in use) of the farms, in the column order of `Work`."""
    w = t.tb_modon_wk
    return (
        sa.select(
            w.c.farm_no,
            w.c.pig_no,
            w.c.wk_dt,
            w.c.wk_gubun,
            w.c.sancha,
            w.c.gyobae_cnt,
            w.c.sago_gubun_cd,
            w.c.daeri_yn,
            w.c.seq,
        )
        .where(farm_filter(w.c.farm_no, farms))
        .where(w.c.use_yn == "Y")
    )


def fetch(conn: sa.Connection, stmt: sa.Executable) -> list[tuple[Any, ...]]:
    """All rows as plain DBAPI tuples (no per-row result processing: the bulk path)."""
    result = conn.execute(stmt)
    rows = result.cursor.fetchall() if result.cursor is not None else []
    result.close()
    return rows


_YMD = re.compile(r"\d{8}")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_day(value: Any) -> int:
    """Ordinal of a DATE, a `YYYYMMDD` text (the WK_DT columns) or `YYYY-MM-DD` (DOCHUK_DT).

    Raises ValueError for any other text and for an impossible calendar day (`20260230`).
    """
    if isinstance(value, dt.datetime):
        return value.date().toordinal()
    if isinstance(value, dt.date):
        return value.toordinal()
    text = str(value)
    if _YMD.fullmatch(text):
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8])).toordinal()
    if _ISO.fullmatch(text):
        return dt.date.fromisoformat(text).toordinal()
    raise ValueError("not a YYYYMMDD or YYYY-MM-DD day")


class SourceValues:
    """Parses the source's text-typed values; a bad one becomes a problem of its farm.

    A problem names table, column, value and row (`TB_MODON_WK.WK_DT = '20260230' (pig 12): day
    is out of range for month`); the farm then ends ERROR and the other farms are built.
    """

    def __init__(self, problems: dict[int, list[str]]) -> None:
        self.problems = problems
        self.cache: dict[Any, int] = {}

    def note(self, farm: int, table: str, column: str, value: Any, why: str, row: str = "") -> None:
        """Record a bad value of `farm`."""
        where = f" ({row})" if row else ""
        found = self.problems.setdefault(farm, [])
        if len(found) < 20:  # enough to find them; the message is clipped at 4000 bytes anyway
            found.append(f"{table.upper()}.{column.upper()} = {value!r}{where}: {why}")

    def day(self, farm: int, table: sa.Table, column: str, value: Any, row: str = "") -> int | None:
        """Ordinal of a day value (None when NULL or bad; a bad one is noted)."""
        if value is None:
            return None
        found = self.cache.get(value)
        if found is not None:
            return found
        try:
            found = self.cache[value] = parse_day(value)
        except ValueError as exc:
            self.note(farm, table.name, column, value, str(exc), row)
        return found

    def check_days(self, rows: Iterable[tuple[Any, ...]], table: sa.Table, column: str) -> None:
        """Note the bad days among (farm, value) rows that are only aggregated by the database."""
        for farm, value in rows:
            self.day(farm, table, column, value)


def _date(value: dt.date | None) -> int | None:
    """Ordinal of a DATE column's value (None stays None)."""
    return parse_day(value) if value is not None else None


def _int(value: Any, default: int = 0) -> int:
    return int(value) if value is not None else default


def _config_value(value: Any) -> int | None:
    """A TC_*.CVALUE number (`115`, ` 115 `, `115.0`); None when NULL or blank (not set)."""
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    number = float(text)  # ValueError for text that is no number
    if not number.is_integer():
        raise ValueError("not a whole number")
    return int(number)


def load_farm_config(
    conn: sa.Connection, farms: Sequence[int], problems: dict[int, list[str]] | None = None
) -> dict[int, dict[str, int]]:
    """TC_CODE_SYS defaults (PCODE 14) overridden by TC_FARM_CONFIG.

    A value that is no whole number is a problem (in `problems`) of the farm whose setting it
    is: a TC_FARM_CONFIG row's farm, or every farm that uses a bad TC_CODE_SYS default.
    """
    values = SourceValues(problems if problems is not None else {})
    system = dict(CONFIG_DEFAULTS)
    bad_system: dict[str, Any] = {}
    rows = fetch(
        conn,
        sa.select(t.tc_code_sys.c.code, t.tc_code_sys.c.cvalue).where(
            t.tc_code_sys.c.pcode == "14",
            t.tc_code_sys.c.language_cd == "ko",
            t.tc_code_sys.c.use_yn == "Y",
            t.tc_code_sys.c.code.in_(list(CONFIG_DEFAULTS)),
        ),
    )
    for code, value in rows:
        try:
            number = _config_value(value)
        except ValueError as exc:
            bad_system[code] = (value, str(exc))
            continue
        if number is not None:
            system[code] = number
    result = {farm: dict(system) for farm in farms}
    overridden: set[tuple[int, str]] = set()
    rows = fetch(
        conn,
        sa.select(t.tc_farm_config.c.farm_no, t.tc_farm_config.c.code, t.tc_farm_config.c.cvalue)
        .where(farm_filter(t.tc_farm_config.c.farm_no, farms))
        .where(t.tc_farm_config.c.use_yn == "Y")
        .where(t.tc_farm_config.c.code.in_(list(CONFIG_DEFAULTS))),
    )
    for farm, code, value in rows:
        try:
            number = _config_value(value)
        except ValueError as exc:
            values.note(farm, "tc_farm_config", "cvalue", value, str(exc), f"code {code}")
            overridden.add((farm, code))
            continue
        if number is not None:
            result[farm][code] = number
            overridden.add((farm, code))
    for farm in farms:
        for code, (value, why) in bad_system.items():
            if (farm, code) not in overridden:
                values.note(farm, "tc_code_sys", "cvalue", value, why, f"code {code}")
    return result


def national_price(conn: sa.Connection, week: ReportWeek) -> float | None:
    """Auction price of the week: ROUND(Σ count × price / Σ count) at the national market."""
    s = t.tm_sisae_detail
    total = sa.func.sum(s.c.auctcnt * s.c.auctamt)
    count = sa.func.sum(s.c.auctcnt)
    row = conn.execute(
        sa.select(total, count).where(
            s.c.abattcd == "057016",
            s.c.start_dt.between(ymd(week.dt_from), ymd(week.dt_to)),
            s.c.grade_cd == "ST",
            s.c.skin_yn == "Y",
            s.c.judgesex_cd.is_(None),
            s.c.auctamt > 0,
        )
    ).one()
    if not row[1]:
        return None
    return float(round(float(row[0]) / float(row[1])))


def load_week_data(
    conn: sa.Connection,
    week: ReportWeek,
    farms: Sequence[int],
    headers: dict[int, dict[str, Any]] | None = None,
) -> tuple[RunContext, dict[int, FarmData]]:
    """Read every source table once for `farms` and build each farm's FarmData.

    A text-typed day or number that cannot be read becomes a problem of its farm
    (`FarmData.problems`), never an exception of the whole load.
    """
    problems: dict[int, list[str]] = {}
    values = SourceValues(problems)
    base = week.dt_to
    floor = base - dt.timedelta(days=HISTORY_DAYS)
    floor_s, base_s = ymd(floor), ymd(base)
    data = {farm: FarmData(farm_no=farm) for farm in farms}
    if not farms:
        return RunContext(week, national_price(conn, week)), data
    for farm, header in (headers or {}).items():
        if farm in data:
            data[farm].farm_nm = header.get("farm_nm")
            data[farm].owner_nm = header.get("owner_nm")
            data[farm].sigungu_cd = header.get("sigungu_cd")
            data[farm].schedule_group = header.get("schedule_group") or "AM7"

    for farm, cfg in load_farm_config(conn, farms, problems).items():
        data[farm].config = cfg

    m = t.tb_modon
    sows: dict[tuple[int, int], Sow] = {}
    rows = fetch(
        conn,
        sa.select(
            m.c.farm_no,
            m.c.pig_no,
            m.c.birth_dt,
            m.c.in_dt,
            m.c.last_wk_dt,
            m.c.out_dt,
            m.c.in_sancha,
            m.c.in_gyobae_cnt,
            m.c.status_cd,
            m.c.out_gubun_cd,
            m.c.out_reason_cd,
        )
        .where(farm_filter(m.c.farm_no, farms))
        .where(m.c.use_yn == "Y", m.c.in_dt <= base, m.c.out_dt > floor),
    )
    for r in rows:
        sow = Sow(
            r[1], _date(r[2]), _date(r[3]), _date(r[4]), _date(r[5]) or ALIVE,
            _int(r[6]), _int(r[7]), r[8], r[9], r[10],
        )  # fmt: skip
        sows[(r[0], r[1])] = sow
        data[r[0]].sows.append(sow)

    w = t.tb_modon_wk
    rows = fetch(conn, work_events_query(farms).where(w.c.wk_dt > floor_s, w.c.wk_dt <= base_s))
    for r in rows:
        sow = sows.get((r[0], r[1]))
        if sow is not None:
            day = values.day(r[0], w, "wk_dt", r[2], f"pig {r[1]}, {r[3]}")
            if day is None:
                continue
            sow.works.append(
                Work(
                    day,
                    r[3],
                    _int(r[4]),
                    _int(r[5]),
                    r[6],
                    r[7] or "N",
                    _int(r[8]),
                )  # type: ignore[arg-type]
            )
    for sow in sows.values():
        sow.works.sort(key=lambda x: (x.day, x.seq))

    def detail(table: sa.Table, *columns: str, since: str = floor_s) -> Iterable[Any]:
        return fetch(
            conn,
            sa.select(
                table.c.farm_no, table.c.pig_no, table.c.wk_dt, *[table.c[c] for c in columns]
            )
            .where(farm_filter(table.c.farm_no, farms))
            .where(table.c.use_yn == "Y", table.c.wk_dt > since, table.c.wk_dt <= base_s),
        )

    def wk_day(table: sa.Table, r: tuple[Any, ...]) -> int | None:
        return values.day(r[0], table, "wk_dt", r[2], f"pig {r[1]}")

    recent = ymd(week.dt_from - dt.timedelta(days=RECENT_DAYS))
    for r in detail(t.tb_bunman, "silsan", "sasan", "mila", since=recent):
        if (day := wk_day(t.tb_bunman, r)) is not None:
            data[r[0]].bunman[(r[1], day)] = (_int(r[3]), _int(r[4]), _int(r[5]))
    for r in detail(t.tb_eu, "dusu", "dusu_su", "total_kg"):
        if (day := wk_day(t.tb_eu, r)) is not None:
            data[r[0]].eu[(r[1], day)] = (_int(r[3]) + _int(r[4]), float(r[5] or 0))
    for r in detail(t.tb_sago, "sago_gubun_cd"):
        if (day := wk_day(t.tb_sago, r)) is not None:
            data[r[0]].sago.append((r[1], day, r[3]))
    ytd_s = ymd(week.ytd_from)
    # Days the database only counts (year-to-date matings and litters) are read too, so that a
    # bad one is named instead of counted.
    for table in (t.tb_gyobae, t.tb_bunman):
        day_values = sa.select(table.c.farm_no, table.c.wk_dt).distinct()
        values.check_days(
            fetch(
                conn,
                day_values.where(farm_filter(table.c.farm_no, farms)).where(
                    table.c.use_yn == "Y", table.c.wk_dt.between(ytd_s, base_s)
                ),
            ),
            table,
            "wk_dt",
        )
    for table, name in ((t.tb_gyobae, "gyobae"), (t.tb_bunman, "bunman")):
        columns = [sa.func.count()]
        if name == "bunman":
            columns += [
                sa.func.sum(table.c.silsan + table.c.sasan + table.c.mila),
                sa.func.sum(table.c.silsan),
            ]
        rows = fetch(
            conn,
            sa.select(table.c.farm_no, *columns)
            .where(farm_filter(table.c.farm_no, farms))
            .where(table.c.use_yn == "Y", table.c.wk_dt.between(ytd_s, base_s))
            .group_by(table.c.farm_no),
        )
        for r in rows:
            if name == "gyobae":
                data[r[0]].gyobae_ytd = int(r[1])
            else:
                data[r[0]].bunman_ytd = (int(r[1]), int(r[2] or 0), int(r[3] or 0))

    j = t.tb_modon_jadon_trans
    rows = fetch(
        conn,
        sa.select(
            j.c.farm_no,
            j.c.pig_no,
            j.c.sancha,
            j.c.gubun_cd,
            j.c.wk_dt,
            j.c.bun_dt,
            j.c.dusu,
            j.c.dusu_su,
        )
        .where(farm_filter(j.c.farm_no, farms))
        .where(
            j.c.use_yn == "Y",
            j.c.wk_dt >= week.dt_from - dt.timedelta(days=RECENT_DAYS),
            j.c.wk_dt <= base,
        ),
    )
    for r in rows:
        data[r[0]].moves.setdefault(r[1], []).append(
            Move(
                _int(r[2]),
                r[3],
                _date(r[4]),
                _date(r[5]),
                _int(r[6]) + _int(r[7]),
            )  # type: ignore[arg-type]
        )

    lpd = t.tm_lpd_data
    rows = fetch(
        conn,
        sa.select(
            lpd.c.farm_no,
            lpd.c.dochuk_dt,
            lpd.c.net_kg,
            lpd.c.back_depth,
            lpd.c.meat_quality,
            lpd.c.sex_gubun,
        )
        .where(farm_filter(lpd.c.farm_no, farms))
        .where(
            lpd.c.use_yn == "Y",
            lpd.c.dochuk_dt.between(week.dt_from.isoformat(), base.isoformat()),
        ),
    )
    for r in rows:
        if (day := values.day(r[0], lpd, "dochuk_dt", r[1])) is not None:
            data[r[0]].lpd.append((day, float(r[2] or 0), float(r[3] or 0), r[4], r[5]))
    # One pass for year-to-date and the rearing-rate months: count and Σ kg per farm, month and
    # "inside year-to-date" flag (the ISO year may start in the previous December).
    month = sa.func.substr(lpd.c.dochuk_dt, 1, 7)
    ytd_from_s = week.ytd_from.isoformat()
    in_ytd = sa.case((lpd.c.dochuk_dt >= ytd_from_s, 1), else_=0)
    rear_from, rear_to = add_months(base, -6), add_months(base, 0) - dt.timedelta(days=1)
    rows = fetch(
        conn,
        sa.select(lpd.c.farm_no, month, in_ytd, sa.func.count(), sa.func.sum(lpd.c.net_kg))
        .where(farm_filter(lpd.c.farm_no, farms))
        .where(
            lpd.c.use_yn == "Y",
            lpd.c.dochuk_dt.between(min(week.ytd_from, rear_from).isoformat(), base.isoformat()),
        )
        .group_by(lpd.c.farm_no, month, in_ytd),
    )
    rear_months = (rear_from.isoformat()[:7], rear_to.isoformat()[:7])
    values.check_days(
        fetch(
            conn,
            sa.select(lpd.c.farm_no, lpd.c.dochuk_dt)
            .distinct()
            .where(farm_filter(lpd.c.farm_no, farms))
            .where(
                lpd.c.use_yn == "Y",
                lpd.c.dochuk_dt.between(
                    min(week.ytd_from, rear_from).isoformat(), base.isoformat()
                ),
            ),
        ),
        lpd,
        "dochuk_dt",
    )
    for farm, ym, ytd_flag, count, net in rows:
        target = data[farm]
        if ytd_flag:
            n, kg = target.lpd_ytd
            target.lpd_ytd = (n + int(count), kg + float(net or 0))
        if rear_months[0] <= ym <= rear_months[1]:
            target.lpd_months[ym] = target.lpd_months.get(ym, 0) + int(count)

    tr = t.tm_etc_trade
    rows = fetch(
        conn,
        sa.select(tr.c.farm_no, tr.c.wk_dt, tr.c.total_price, tr.c.total_kg)
        .where(farm_filter(tr.c.farm_no, farms))
        .where(
            tr.c.use_yn == "Y",
            tr.c.account_cd.like("511%"),
            tr.c.wk_dt.between(week.dt_from, week.dt_to),
            tr.c.total_kg > 0,
            tr.c.total_price > 0,
        ),
    )
    for r in rows:
        data[r[0]].trade.append((_date(r[1]), float(r[2]), float(r[3])))  # type: ignore[arg-type]

    p = t.tb_plan_modon
    rows = fetch(
        conn,
        sa.select(
            p.c.farm_no,
            p.c.seq,
            p.c.wk_nm,
            p.c.std_cd,
            p.c.pass_day,
            p.c.modon_status_cd,
            p.c.job_gubun_cd,
            p.c.bf_pass_yn,
            p.c.s_sancha,
            p.c.e_sancha,
        )
        .where(farm_filter(p.c.farm_no, farms))
        .where(p.c.use_yn == "Y"),
    )
    for r in rows:
        data[r[0]].plans.append(
            PlanRow(
                r[1], r[2] or "", r[3] or "", _int(r[4]), r[5], r[6] or "", r[7] or "N", r[8], r[9]
            )
        )

    c = t.ts_ins_conf
    conf_columns = ("week_tw_gy", "week_tw_bm", "week_tw_im", "week_tw_eu", "week_tw_vc")
    rows = fetch(
        conn,
        sa.select(c.c.farm_no, *[c.c[k] for k in conf_columns]).where(
            farm_filter(c.c.farm_no, farms)
        ),
    )
    for r in rows:
        data[r[0]].conf = dict(zip(conf_columns, r[1:], strict=True))

    pr = t.ts_productivity
    rows = fetch(
        conn,
        sa.select(pr.c.farm_no, pr.c.pcode, pr.c.c001, *[pr.c[k] for k in GB_CHART_COLUMNS])
        .where(farm_filter(pr.c.farm_no, farms))
        .where(
            pr.c.stat_year == week.year,
            pr.c.period == "W",
            pr.c.period_no == week.week_no,
            pr.c.pcode.in_(["031", "035"]),
        ),
    )
    for r in rows:
        if r[1] == "035":
            data[r[0]].sangsi = float(r[2]) if r[2] is not None else None
        else:
            data[r[0]].gb_chart = [float(v or 0) for v in r[3:]]

    _load_previous_week(conn, week.previous, farms, data)
    for farm, found in problems.items():
        data[farm].problems = found
    return RunContext(week, national_price(conn, week)), data


def _load_previous_week(
    conn: sa.Connection, prev: ReportWeek, farms: Sequence[int], data: dict[int, FarmData]
) -> None:
    """Each farm's COMPLETE report of the week before (whatever the master's status)."""
    ms, wk, sb = t.ts_ins_master, t.ts_ins_week, t.ts_ins_week_sub
    master = conn.execute(
        sa.select(ms.c.seq).where(
            ms.c.day_gb == "WEEK",
            ms.c.report_year == prev.year,
            ms.c.report_week_no == prev.week_no,
        )
    ).scalar()
    if master is None:
        return
    rows = fetch(
        conn,
        sa.select(wk.c.farm_no, wk.c.modon_reg_cnt, wk.c.modon_sangsi_cnt)
        .where(wk.c.master_seq == master, wk.c.status_cd == "COMPLETE")
        .where(farm_filter(wk.c.farm_no, farms)),
    )
    for r in rows:
        data[r[0]].prev = PrevWeek(
            {"modon_reg_cnt": r[1], "modon_sangsi_cnt": r[2]}, {}, None, [], None
        )
    columns = [sb.c[k] for k in ("farm_no", "gubun", "sub_gubun", "code_1", "str_3")]
    counts = [sb.c[f"cnt_{i}"] for i in range(1, 7)]
    texts = [sb.c[f"str_{i}"] for i in range(1, 8)]
    rows = fetch(
        conn,
        sa.select(*columns, *counts, *texts)
        .where(sb.c.master_seq == master)
        .where(farm_filter(sb.c.farm_no, farms))
        .where(sb.c.gubun.in_(["MODON", "SCHEDULE"]))
        .where(sb.c.sub_gubun.in_(["-", "GB", "HELP"])),
    )
    for r in rows:
        prev_week = data[r[0]].prev
        if prev_week is None:
            continue
        cnt = {f"cnt_{i}": (float(v) if v is not None else 0.0) for i, v in enumerate(r[5:11], 1)}
        txt = {f"str_{i}": v for i, v in enumerate(r[11:18], 1)}
        if r[1] == "MODON":
            prev_week.modon_totals[r[3]] = sum(cnt[f"cnt_{i}"] for i in range(1, 6))
        elif r[2] == "-":
            prev_week.schedule = {**cnt, **txt}
        elif r[2] == "GB":
            prev_week.schedule_gb.append({**cnt, **txt, "str_3": r[4]})
        else:
            prev_week.help = txt
