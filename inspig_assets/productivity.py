"""TS_PRODUCTIVITY: PCODE 031–035 statistics per farm and period (W = ISO week, M = month).

Two sources give the same rows: the PigPlan productivity API's payload (`rows_from_payload`) and,
in local mode, the standard definitions computed from the source tables (`compute_local`).
"""

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa

from inspig_assets import schema as t
from inspig_assets.loader import SourceValues, farm_filter, load_farm_config, work_events_query
from inspig_assets.model import (
    ALIVE,
    LACTATING,
    PREGNANT,
    SURROGATE,
    Sow,
    Work,
    round_half_up,
)
from inspig_assets.periods import add_months, ymd
from inspig_assets.targets import active_services

PCODES = ("031", "032", "033", "034", "035")


@dataclass(frozen=True)
class StatPeriod:
    """A statistics period: W (ISO week, stat date = Sunday) or M (calendar month)."""

    period: str
    first: dt.date
    last: dt.date

    @classmethod
    def week(cls, monday: dt.date) -> "StatPeriod":
        """The ISO week starting on `monday`."""
        return cls("W", monday, monday + dt.timedelta(days=6))

    @classmethod
    def month(cls, first: dt.date) -> "StatPeriod":
        """The calendar month starting on `first`."""
        return cls("M", first, add_months(first, 1) - dt.timedelta(days=1))

    @property
    def stat_year(self) -> int:
        """ISO year for weeks, calendar year for months."""
        return self.last.isocalendar().year if self.period == "W" else self.last.year

    @property
    def period_no(self) -> int:
        """ISO week or month number."""
        return self.last.isocalendar().week if self.period == "W" else self.last.month

    @property
    def stat_date(self) -> str:
        """`YYYY-MM-DD` of the period's last day (the API's statDate)."""
        return self.last.isoformat()

    @property
    def days(self) -> int:
        """Length in days."""
        return (self.last - self.first).days + 1

    @property
    def label(self) -> str:
        """`2025-W51` or `2025-12`."""
        if self.period == "W":
            return f"{self.stat_year}-W{self.period_no:02d}"
        return f"{self.stat_year}-{self.period_no:02d}"


def stat_periods(
    start: dt.date, end: dt.date, period: Callable[[dt.date], StatPeriod]
) -> list[StatPeriod]:
    """The consecutive periods (`StatPeriod.week` or `.month`) from `start` until before `end`."""
    periods: list[StatPeriod] = []
    while start < end:
        periods.append(period(start))
        start = periods[-1].last + dt.timedelta(days=1)
    return periods


def _row(
    farm: int, pcode: str, period: StatPeriod, values: Mapping[str, float | None]
) -> dict[str, Any]:
    return {
        "farm_no": farm,
        "pcode": pcode,
        "stat_year": period.stat_year,
        "period": period.period,
        "period_no": period.period_no,
        "stat_date": period.stat_date,
        **{k: v for k, v in values.items() if k in t.PRODUCTIVITY_VALUE_COLUMNS},
    }


class PayloadError(ValueError):
    """The productivity API answered with something that is not its payload shape."""


def period_of(kind: str, index: str) -> StatPeriod:
    """The period an API `__INDEX__` date belongs to (ISO week or calendar month)."""
    day = dt.date.fromisoformat(index[:10])
    if kind == "W":
        return StatPeriod.week(day - dt.timedelta(days=day.weekday()))
    return StatPeriod.month(day.replace(day=1))


def rows_from_payload(farm: int, kind: str, payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows from `{"data":[{"__INDEX__", "__STATCD__", "__VAL__", …}]}`, one per period and PCODE.

    A stat code `PPPsss` fills column `Csss` of PCODE `PPP`; codes outside 031–035 are ignored and
    unparsable values become NULL. STAT_YEAR / PERIOD_NO are the ISO year and week (W) or the
    calendar year and month (M) of `__INDEX__`, so a late-December week is filed under its ISO
    year, as the weekly report looks it up.
    """
    data = payload.get("data") if isinstance(payload, Mapping) else None
    if not isinstance(data, list):
        raise PayloadError("productivity payload has no 'data' list")
    grouped: dict[str, dict[str, dict[str, float | None]]] = {}
    for item in data:
        if not isinstance(item, Mapping):
            raise PayloadError("productivity payload item is not an object")
        index = str(item.get("__INDEX__") or "")
        code = str(item.get("__STATCD__") or "")
        if len(code) != 6 or code[:3] not in PCODES:
            continue
        try:
            dt.date.fromisoformat(index[:10])
        except ValueError as exc:
            raise PayloadError(f"productivity payload item has a bad __INDEX__ {index!r}") from exc
        try:
            value: float | None = float(str(item.get("__VAL__")).replace(",", ""))
        except (TypeError, ValueError):
            value = None
        grouped.setdefault(index[:10], {}).setdefault(code[:3], {})[f"c{code[3:]}"] = value
    rows = []
    for index, pcodes in sorted(grouped.items()):
        period = period_of(kind, index)
        rows.extend(_row(farm, pcode, period, cols) for pcode, cols in sorted(pcodes.items()))
    return rows


# -- local computation -----------------------------------------------------------------------------
def _load(
    conn: sa.Connection,
    farms: Sequence[int],
    first: dt.date,
    last: dt.date,
    problems: dict[int, list[str]],
) -> tuple[dict[int, list[Sow]], dict[int, dict[str, int]], dict[tuple[int, int, int], tuple]]:
    values = SourceValues(problems)
    history = first - dt.timedelta(days=400)
    m, w = t.tb_modon, t.tb_modon_wk
    sows: dict[tuple[int, int], Sow] = {}
    by_farm: dict[int, list[Sow]] = {f: [] for f in farms}
    for r in conn.execute(
        sa.select(
            m.c.farm_no,
            m.c.pig_no,
            m.c.birth_dt,
            m.c.in_dt,
            m.c.out_dt,
            m.c.in_sancha,
            m.c.in_gyobae_cnt,
            m.c.status_cd,
        )
        .where(farm_filter(m.c.farm_no, farms))
        .where(m.c.use_yn == "Y", m.c.in_dt <= last, m.c.out_dt >= first)
    ):
        sow = Sow(
            r[1], r[2].toordinal() if r[2] else None, r[3].toordinal(), None,
            r[4].toordinal() if r[4] else ALIVE, int(r[5] or 0), int(r[6] or 0), r[7], None, None,
        )  # fmt: skip
        sows[(r[0], r[1])] = sow
        by_farm[r[0]].append(sow)
    for r in conn.execute(
        work_events_query(farms).where(
            w.c.wk_dt >= ymd(history), w.c.wk_dt <= ymd(last + dt.timedelta(days=130))
        )
    ):
        sow = sows.get((r[0], r[1]))
        if sow is None:
            continue
        day = values.day(r[0], w, "wk_dt", r[2], f"pig {r[1]}, {r[3]}")
        if day is None:
            continue
        sow.works.append(
            Work(day, r[3], int(r[4] or 0), int(r[5] or 0), r[6], r[7] or "N", int(r[8] or 0))
        )
    for sow in sows.values():
        sow.works.sort(key=lambda x: (x.day, x.seq))
    config = {
        f: {"140002": cfg["140002"]} for f, cfg in load_farm_config(conn, farms, problems).items()
    }
    details: dict[tuple[int, int, int], tuple] = {}
    for table, cols in ((t.tb_bunman, ("silsan", "sasan", "mila")), (t.tb_eu, ("dusu", "dusu_su"))):
        for r in conn.execute(
            sa.select(table.c.farm_no, table.c.pig_no, table.c.wk_dt, *[table.c[c] for c in cols])
            .where(farm_filter(table.c.farm_no, farms))
            .where(table.c.use_yn == "Y", table.c.wk_dt.between(ymd(first), ymd(last)))
        ):
            day = values.day(r[0], table, "wk_dt", r[2], f"pig {r[1]}")
            if day is not None:
                details[(r[0], r[1], day)] = tuple(int(v or 0) for v in r[3:])
    lpd = t.tm_lpd_data
    shipped = dict(
        conn.execute(
            sa.select(lpd.c.farm_no, sa.func.count())
            .where(farm_filter(lpd.c.farm_no, farms))
            .where(
                lpd.c.use_yn == "Y", lpd.c.dochuk_dt.between(first.isoformat(), last.isoformat())
            )
            .group_by(lpd.c.farm_no)
        ).fetchall()
    )
    for farm in farms:
        config[farm]["shipped"] = int(shipped.get(farm, 0))
    return by_farm, config, details


def _productive_from(sow: Sow) -> int | None:
    """First day the sow counts in the productive herd (상시모돈: mated at least once).

    From entry when she entered mated or with a parity, else from her first recorded mating,
    farrowing, weaning or accident (any of them means she has been mated).
    """
    if sow.in_sancha > 0 or sow.in_gyobae_cnt > 0:
        return sow.in_dt
    return next((w.day for w in sow.works if w.gubun in "GBEF"), None)


# Accidents that are a pregnant sow leaving the herd (moved out, sold): she was gestating.
PREGNANT_EXITS = ("050005", "050006")


def _service_failed(sow: Sow, following: Work | None) -> bool:
    """Whether a service (or a pregnancy at entry) followed by `following` led to no farrowing.

    Failed: a return to heat, an abortion or a negative check (an accident other than a pregnant
    sow's exit), a new service, or the sow's exit before any further event. A service still
    waiting for its outcome while the sow is in the herd counts as a pregnancy.
    """
    if following is None:
        return sow.out != ALIVE
    if following.gubun == "F":
        return following.sago_cd not in PREGNANT_EXITS
    return following.gubun == "G"


def _open_from(sow: Sow, work: Work | None) -> bool:
    """Whether the days from `work` (None: from entry) to the sow's next work are non-productive."""
    if work is None:
        if sow.status_cd in (LACTATING, SURROGATE):
            return False
        if sow.status_cd == PREGNANT:
            return _service_failed(sow, sow.works_after(None))
        return True
    if work.gubun == "B":
        return False
    if work.gubun == "E":
        return work.daeri != "Y"  # a nurse sow (surrogate) is lactating
    if work.gubun == "F":
        return work.sago_cd not in PREGNANT_EXITS
    return _service_failed(sow, sow.works_after(work))


def non_productive_days(sow: Sow, first: int, last: int) -> int:
    """Non-productive days (NPD) of `sow` among the productive days `first`..`last`.

    The days a productive sow is neither gestating nor lactating: from entry or weaning to the
    service that leads to a farrowing; from a service that failed (return to heat, abortion,
    negative check) on; from the last event to her exit when she was not pregnant.
    """
    days = 0
    judged: dict[int, bool] = {}
    for day in range(first, last + 1):
        work = sow.last_work(day)
        key = id(work)
        if key not in judged:
            judged[key] = _open_from(sow, work)
        days += judged[key]
    return days


def farm_statistics(
    sows: Sequence[Sow],
    details: Mapping[tuple[int, int, int], tuple],
    farm: int,
    period: StatPeriod,
    gestation: int,
    shipped: int,
) -> dict[str, dict[str, float | None]]:
    """PCODE → {column: value} for one farm (the standard definitions)."""
    lo, hi = period.first.toordinal(), period.last.toordinal()
    days = hi - lo + 1
    inventory_days = 0
    registered = 0
    npd = 0
    matings = first_matings = re_matings = 0
    intervals: list[int] = []
    buckets = [0] * 8
    litters = total = live = still = mummy = 0
    weanings = weaned = lact_days = 0
    bred = bred_farrowed = 0
    for sow in sows:
        start = _productive_from(sow)
        if start is not None:
            a, b = max(start, sow.in_dt, lo), min(sow.out - 1, hi)
            if b >= a:
                inventory_days += b - a + 1
                npd += non_productive_days(sow, a, b)
        if sow.in_dt <= hi < sow.out:
            registered += 1
        for work in sow.works:
            if work.gubun == "G":
                if lo <= work.day <= hi:
                    matings += 1
                    if work.sancha == 0 and work.gyobae_cnt == 1:
                        first_matings += 1
                    if work.gyobae_cnt > 1:
                        re_matings += 1
                    prev = sow.prev_work(work)
                    if (
                        work.gyobae_cnt == 1
                        and work.sancha
                        and prev is not None
                        and prev.gubun == "E"
                    ):
                        gap = work.day - prev.day
                        intervals.append(gap)
                        buckets[min(max(gap, 3), 10) - 3] += 1
                if lo - gestation <= work.day <= hi - gestation:
                    bred += 1
                    nxt = sow.next_work(work, 10**9)
                    if nxt is not None and nxt.gubun == "B":
                        bred_farrowed += 1
            elif work.gubun == "B" and lo <= work.day <= hi:
                s, st, mu = details.get((farm, sow.pig_no, work.day), (0, 0, 0))
                litters += 1
                live += s
                still += st
                mummy += mu
                total += s + st + mu
            elif work.gubun == "E" and lo <= work.day <= hi:
                heads = sum(details.get((farm, sow.pig_no, work.day), (0, 0)))
                weanings += 1
                weaned += heads
                birth = next(
                    (x for x in reversed(sow.works) if x.gubun == "B" and x.day <= work.day), None
                )
                if birth is not None:
                    lact_days += work.day - birth.day
    inventory = inventory_days / days
    per_year = 365 / days

    def r(value: float | None, digits: int = 2) -> float | None:
        return round_half_up(value, digits) if value is not None else None

    def per(a: float, b: float) -> float | None:
        return a / b if b else None

    return {
        "031": {
            "c001": matings,
            "c002": first_matings,
            "c003": re_matings,
            "c004": r(per(sum(intervals), len(intervals)), 1),
            **{f"c{29 + i:03d}": buckets[i] for i in range(8)},
        },
        "032": {
            "c001": litters,
            "c002": total,
            "c003": live,
            "c004": still,
            "c005": mummy,
            "c006": r(per(total, litters), 1),
            "c007": r(per(live, litters), 1),
        },
        "033": {
            "c001": weanings,
            "c002": weaned,
            "c003": r(per(weaned, weanings), 1),
            "c004": r(per(lact_days, weanings), 1),
        },
        "034": {
            "c001": r(per(bred_farrowed * 100, bred), 1),
            "c002": r(per(npd * per_year, inventory), 1),
            "c003": r(per(litters * per_year, inventory), 2),
            "c023": r(per(weaned * per_year, inventory), 1),
            "c029": r(per(shipped * per_year, inventory), 1),
        },
        "035": {"c001": r(inventory, 2), "c002": registered},
    }


def compute_local(
    conn: sa.Connection,
    farms: Sequence[int],
    period: StatPeriod,
    failed: dict[int, str] | None = None,
) -> list[dict[str, Any]]:
    """Rows for every farm, computed from the PigPlan source tables (one read per table).

    A farm with an unreadable source value (a bad WK_DT, a CVALUE that is no number) gets no rows;
    `failed` receives it with the values named.
    """
    if not farms:
        return []
    problems: dict[int, list[str]] = {}
    by_farm, config, details = _load(conn, farms, period.first, period.last, problems)
    rows = []
    for farm in farms:
        if farm in problems:
            if failed is not None:
                failed[farm] = (
                    f"local computation, farm {farm}, period {period.label}: "
                    f"bad source value(s): {'; '.join(problems[farm])}"
                )
            continue
        stats = farm_statistics(
            by_farm[farm], details, farm, period, config[farm]["140002"], config[farm]["shipped"]
        )
        rows.extend(_row(farm, pcode, period, values) for pcode, values in stats.items())
    return rows


def save_rows(
    conn: sa.Connection,
    rows: Sequence[Mapping[str, Any]],
    farms: Iterable[int],
    period: StatPeriod,
    inserter: Callable[[sa.Connection, sa.Table, Any], int],
    now: dt.datetime,
) -> int:
    """Replace the period's rows of `farms` (delete on the unique key, bulk insert)."""
    p = t.ts_productivity
    farms = list(farms)
    if farms:
        conn.execute(
            p.delete()
            .where(farm_filter(p.c.farm_no, farms))
            .where(
                p.c.stat_year == period.stat_year,
                p.c.period == period.period,
                p.c.period_no == period.period_no,
                p.c.pcode.in_(PCODES),
            )
        )
    if not rows:
        return 0
    frame = pd.DataFrame.from_records(list(rows))
    for column in t.PRODUCTIVITY_VALUE_COLUMNS:
        if column not in frame.columns:
            frame[column] = None
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    frame["ins_dt"] = now
    frame["upd_dt"] = now
    return inserter(conn, p, frame)


def service_farms(conn: sa.Connection, as_of: dt.date) -> list[int]:
    """Active AUTO subscription farms (all schedule groups) in use."""
    services = active_services(conn, as_of)
    chosen = [f for f, s in services.items() if (s["reg_type"] or "AUTO") == "AUTO"]
    if not chosen:
        return []
    in_use = {
        r[0]
        for r in conn.execute(
            sa.select(t.ta_farm.c.farm_no).where(
                t.ta_farm.c.use_yn == "Y", farm_filter(t.ta_farm.c.farm_no, chosen)
            )
        )
    }
    return sorted(in_use)


def all_farms(conn: sa.Connection) -> list[int]:
    """Farms in use, not test farms, with an approved member (the `productivity-all` population)."""
    f, m = t.ta_farm, t.ta_member
    approved = sa.exists().where(m.c.farm_no == f.c.farm_no, m.c.user_ok_cd == t.MEMBER_APPROVED)
    query = sa.select(f.c.farm_no).where(
        f.c.use_yn == "Y", sa.func.coalesce(f.c.test_yn, "N") == "N", approved
    )
    return [r[0] for r in conn.execute(query.order_by(f.c.farm_no))]
