"""The ten weekly-report processors: TS_INS_WEEK_SUB rows and TS_INS_WEEK columns for one farm.

Each processor is a plain function of (FarmData, RunContext, results so far) that returns the
rows it writes under its GUBUN and the TS_INS_WEEK columns it sets. Nothing here touches a database.
"""

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from inspig_assets import planner
from inspig_assets.model import (
    ABORTED,
    DEFAULT_REARING_RATE,
    GILT,
    LACTATING,
    PREGNANT,
    RETURNED,
    SURROGATE,
    WEANED,
    FarmData,
    RunContext,
    Sow,
    date_of,
    mean,
    mmdd,
    ratio,
    round_half_up,
)
from inspig_assets.periods import add_months

SubRow = dict[str, Any]


@dataclass
class ProcessorResult:
    """Rows and header columns produced by one processor."""

    rows: list[SubRow] = field(default_factory=list)
    week: dict[str, Any] = field(default_factory=dict)


Result = ProcessorResult
Done = dict[str, ProcessorResult]


def sub(gubun: str, sort_no: int = 1, sub_gubun: str = "-", **values: Any) -> SubRow:
    """A TS_INS_WEEK_SUB row; omitted numbers take the table default 0, strings NULL."""
    return {"gubun": gubun, "sub_gubun": sub_gubun, "sort_no": sort_no, **values}


def slots(prefix: str, values: list[Any], start: int = 1) -> dict[str, Any]:
    """`{prefix_1: v1, prefix_2: v2, …}`."""
    return {f"{prefix}_{i}": v for i, v in enumerate(values, start=start)}


# -- Config ----------------------------------------------------------------------------------------
def rearing_window(farm: FarmData, ctx: RunContext) -> tuple[dt.date, dt.date]:
    """The 6 whole months before the report week's month (first day of first, of last)."""
    anchor = ctx.week.dt_to
    return add_months(anchor, -6), add_months(anchor, -1)


def rearing_rate(farm: FarmData, ctx: RunContext) -> float:
    """Post-weaning rearing rate: shipped head / piglets weaned ship_offset earlier, per month."""
    cfg = farm.config
    offset = cfg["140005"] - cfg["140003"]
    first, _ = rearing_window(farm, ctx)
    months = [add_months(first, i) for i in range(6)]
    index = {(m.year, m.month): i for i, m in enumerate(months)}
    shipped = [farm.lpd_months.get(f"{m.year:04d}-{m.month:02d}", 0) for m in months]
    weaned = [0] * 6
    for (_pig, eu_day), (heads, _kg) in farm.eu.items():
        d = date_of(eu_day + offset)
        i = index.get((d.year, d.month))
        if i is not None:
            weaned[i] += heads
    rates = [shipped[i] / weaned[i] * 100 for i in range(6) if weaned[i] > 0]
    rate = round_half_up(sum(rates) / len(rates), 1) if rates else None
    return rate if rate else DEFAULT_REARING_RATE


def config_processor(farm: FarmData, ctx: RunContext, done: Done) -> Result:
    """CONFIG: the farm's effective settings and post-weaning rearing rate."""
    cfg = farm.config
    rate = rearing_rate(farm, ctx)
    codes = sorted(cfg)
    first, last = rearing_window(farm, ctx)
    row = sub(
        "CONFIG",
        cnt_1=cfg["140002"],
        cnt_2=cfg["140003"],
        cnt_3=cfg["140005"],
        cnt_4=cfg["140007"],
        cnt_5=cfg["140008"],
        val_1=rate,
        str_1=json.dumps([*codes, "REARING_RATE"]),
        str_2=json.dumps(
            [*[ctx.code_names.get(c, c) for c in codes], "이유후육성율"], ensure_ascii=False
        ),
        str_3=json.dumps([*[cfg[c] for c in codes], rate]),
        str_4=first.strftime("%y.%m"),
        str_5=last.strftime("%y.%m"),
    )
    return ProcessorResult([row])


def config_values(done: dict[str, ProcessorResult]) -> dict[str, float]:
    """What later processors read from the CONFIG row."""
    row = done["config"].rows[0]
    return {
        "gestation": row["cnt_1"],
        "lactation": row["cnt_2"],
        "ship_age": row["cnt_3"],
        "first_age": row["cnt_4"],
        "return_days": row["cnt_5"],
        "rearing_rate": row["val_1"],
    }


# -- Alert -----------------------------------------------------------------------------------------
ALERT_BUCKETS = (("~3", 0, 3), ("4~7", 4, 7), ("8~14", 8, 14), ("14~", 15, 9999))


def alert_processor(farm: FarmData, ctx: RunContext, done: Done) -> Result:
    """ALERT: overdue sows (unmated gilts, weaned or accident not mated, late farrowing/wean)."""
    cfg = config_values(done)
    base = ctx.week.dt_to.toordinal()
    counts = [[0] * 5 for _ in ALERT_BUCKETS]

    def add(kind: int, delay: int) -> None:
        for i, (_, low, high) in enumerate(ALERT_BUCKETS):
            if low <= delay <= high:
                counts[i][kind] += 1
                return

    for sow in farm.sows:
        if not sow.alive_at(base):
            continue
        last = sow.last_work(base)
        if last is None:
            status = sow.status(base)
            if status == GILT and sow.birth is not None:
                add(0, base - sow.birth - int(cfg["first_age"]))
            elif status == WEANED and sow.last_wk is not None:
                add(1, base - sow.last_wk - int(cfg["return_days"]))
            elif status in (RETURNED, ABORTED) and sow.last_wk is not None:
                add(2, base - sow.last_wk)
        elif last.gubun == "E" and last.daeri != "Y":
            add(1, base - last.day - int(cfg["return_days"]) + 1)
        elif last.gubun == "F":
            add(2, base - last.day)
        elif last.gubun == "G":
            add(3, base - last.day - int(cfg["gestation"]))
        elif last.gubun == "B":
            add(4, base - last.day - int(cfg["lactation"]))
    rows = [
        sub("ALERT", i + 1, code_1=code, **slots("cnt", counts[i]))
        for i, (code, _, _) in enumerate(ALERT_BUCKETS)
    ]
    totals = [sum(c[k] for c in counts) for k in range(5)]
    week = {
        "alert_hubo": totals[0],
        "alert_eu_mi": totals[1],
        "alert_sg_mi": totals[2],
        "alert_bm_delay": totals[3],
        "alert_eu_delay": totals[4],
        "alert_total": sum(totals),
    }
    return ProcessorResult(rows, week)


# -- Modon -----------------------------------------------------------------------------------------
MODON_CODES = ("후보돈", "0산", "1산", "2산", "3산", "4산", "5산", "6산", "7산", "8산↑")
STATUS_COLUMN = {
    GILT: 0,
    PREGNANT: 1,
    LACTATING: 2,
    SURROGATE: 2,
    WEANED: 3,
    RETURNED: 4,
    ABORTED: 4,
}


def modon_processor(farm: FarmData, ctx: RunContext, done: Done) -> Result:
    """MODON: current sows by parity and status, with the change against the previous week."""
    base = ctx.week.dt_to.toordinal()
    table = [[0] * 5 for _ in MODON_CODES]
    for sow in farm.sows:
        if not sow.alive_at(base):
            continue
        status = sow.status(base)
        parity = sow.parity(base)
        row = 0 if parity == 0 and status == GILT else min(parity + 1, 9)
        column = STATUS_COLUMN.get(status)
        if column is not None:
            table[row][column] += 1
    prev = farm.prev
    rows = []
    for i, code in enumerate(MODON_CODES):
        total = sum(table[i])
        change = total - prev.modon_totals.get(code, 0) if prev is not None else 0
        rows.append(sub("MODON", i + 1, code_1=code, **slots("cnt", [*table[i], change])))
    reg = sum(sum(r) for r in table[1:])
    week: dict[str, Any] = {"modon_reg_cnt": reg, "modon_sangsi_cnt": farm.sangsi}
    if prev is not None:
        week["modon_reg_chg"] = reg - int(prev.week.get("modon_reg_cnt") or 0)
        prev_sangsi = prev.week.get("modon_sangsi_cnt")
        week["modon_sangsi_chg"] = (
            round_half_up(farm.sangsi - float(prev_sangsi), 2)
            if farm.sangsi is not None and prev_sangsi is not None
            else None
        )
    else:
        week["modon_reg_chg"] = None
        week["modon_sangsi_chg"] = None
    return ProcessorResult(rows, week)


# -- planned counts of the previous week ---------------------------------------------------------
def _prev_schedule(farm: FarmData) -> dict[str, Any] | None:
    return farm.prev.schedule if farm.prev is not None else None


def _prev_hint(farm: FarmData, column: str) -> str | None:
    if farm.prev is None or farm.prev.help is None:
        return None
    return farm.prev.help.get(column)


def _last_week_plan(
    farm: FarmData, ctx: RunContext, job: str, cfg: dict[str, float]
) -> planner.Plan:
    """What the schedule processor would have planned for the report week itself."""
    return planner.plan_job(farm, job, ctx.week, ctx.week.previous.dt_to.toordinal(), cfg)


# -- Mating ----------------------------------------------------------------------------------------
RETURN_BUCKETS = (3, 4, 5, 6, 7, 8, 9)


def _return_bucket(days: int) -> int:
    for i, limit in enumerate(RETURN_BUCKETS):
        if days <= limit:
            return i
    return 7


def mating_processor(farm: FarmData, ctx: RunContext, done: Done) -> Result:
    """GB: matings of the week, outcomes, return and first-mating ages, planned vs done."""
    cfg = config_values(done)
    week = ctx.week
    lo, hi = week.dt_from.toordinal(), week.dt_to.toordinal()
    total = sago = bunman = first = sago_gb = js_gb = 0
    returns: list[int] = []
    first_ages: list[int] = []
    chart = [0] * 8
    for sow in farm.sows:
        for work in sow.works:
            if work.gubun != "G" or not lo <= work.day <= hi:
                continue
            total += 1
            nxt = sow.next_work(work, hi)
            if nxt is not None and nxt.gubun == "F":
                sago += 1
            elif nxt is not None and nxt.gubun == "B":
                bunman += 1
            prev = sow.prev_work(work)
            if work.gyobae_cnt == 1 and work.sancha != 0 and prev is not None:
                returns.append(work.day - prev.day)
            is_first = work.sancha == 0 and work.gyobae_cnt == 1
            if is_first:
                first += 1
                if sow.birth is not None:
                    first_ages.append(work.day - sow.birth)
            if work.gyobae_cnt > 1:
                sago_gb += 1
            elif work.gyobae_cnt == 1:
                js_gb += 1
            if not is_first:
                last_e = next(
                    (w for w in reversed(sow.works) if w.gubun == "E" and w.day < work.day), None
                )
                if last_e is not None:
                    chart[_return_bucket(work.day - last_e.day)] += 1
    acc = farm.gyobae_ytd
    if farm.gb_chart is not None:
        chart = [int(v or 0) for v in farm.gb_chart]

    prev_schedule = _prev_schedule(farm)
    if prev_schedule is not None:
        planned = int(prev_schedule.get("cnt_1") or 0)
        detail = farm.prev.schedule_gb if farm.prev is not None else []
        if detail:
            gilt = sum(int(r.get("cnt_1") or 0) for r in detail if r.get("str_3") == GILT)
            normal = sum(int(r.get("cnt_1") or 0) for r in detail if r.get("str_3") != GILT)
        else:
            gilt, normal = 0, planned
        hint = _prev_hint(farm, "str_1")
    else:
        plan = _last_week_plan(farm, ctx, planner.JOB_MATING, cfg)
        gilt, normal = plan.by_status.get(GILT, 0), plan.total - plan.by_status.get(GILT, 0)
        hint = None
    if hint is None:
        hint = planner.mating_hint(farm, cfg)
    row = sub(
        "GB",
        1,
        "STAT",
        cnt_1=total,
        cnt_2=sago,
        cnt_3=bunman,
        val_1=mean(returns),
        val_2=mean(first_ages),
        cnt_4=first,
        cnt_5=sago_gb,
        cnt_6=js_gb,
        cnt_7=gilt,
        cnt_8=normal,
        cnt_9=acc,
        hint1=hint,
    )
    chart_row = sub("GB", 1, "CHART", **slots("cnt", chart))
    return ProcessorResult([row, chart_row], {"last_gb_cnt": total, "last_gb_sum": acc})


# -- Farrowing -------------------------------------------------------------------------------------
def _litter_moves(farm: FarmData, pig: int, bun_day: int) -> tuple[int, int, int]:
    """(piglet deaths, fostered in, fostered out) recorded against the litter born on `bun_day`."""
    ps = ji = jc = 0
    for move in farm.moves.get(pig, ()):
        if move.bun_day != bun_day:
            continue
        if move.gubun_cd == "160001":
            ps += move.heads
        elif move.gubun_cd == "160003":
            ji += move.heads
        elif move.gubun_cd == "160004":
            jc += move.heads
    return ps, ji, jc


def farrowing_processor(farm: FarmData, ctx: RunContext, done: Done) -> Result:
    """BM: litters of the week (total, live, stillborn, mummies, nursing start), year-to-date."""
    cfg = config_values(done)
    week = ctx.week
    lo, hi = week.dt_from.toordinal(), week.dt_to.toordinal()
    n = tot = live = dead = mummy = pogae = sdotae = yangja = 0
    ytd_n, ytd_tot, ytd_live = farm.bunman_ytd
    for (pig, bday), (silsan, sasan, mila) in farm.bunman.items():
        if not lo <= bday <= hi:
            continue
        ps, ji, jc = _litter_moves(farm, pig, bday)
        n += 1
        tot += silsan + sasan + mila
        live += silsan
        dead += sasan
        mummy += mila
        pogae += silsan - ps + ji - jc
        sdotae += ps
        yangja += ji - jc
    prev_schedule = _prev_schedule(farm)
    if prev_schedule is not None:
        planned = int(prev_schedule.get("cnt_3") or 0)
        hint = _prev_hint(farm, "str_2")
    else:
        planned = _last_week_plan(farm, ctx, planner.JOB_FARROWING, cfg).total
        hint = None
    hint = hint or planner.job_hint(farm, planner.JOB_FARROWING, cfg)
    avgs = [ratio(v, n, 1, 1.0) for v in (tot, live, dead, mummy, pogae, sdotae, yangja)]
    row = sub(
        "BM",
        1,
        **slots("cnt", [n, tot, live, dead, mummy, pogae, planned, sdotae, yangja]),
        **slots("val", avgs),
        hint1=hint,
    )
    header = {
        "last_bm_cnt": n,
        "last_bm_total": tot,
        "last_bm_live": live,
        "last_bm_dead": dead,
        "last_bm_mummy": mummy,
        "last_bm_avg_total": avgs[0],
        "last_bm_avg_live": avgs[1],
        "last_bm_sum_cnt": ytd_n,
        "last_bm_sum_total": ytd_tot,
        "last_bm_sum_live": ytd_live,
        "last_bm_sum_avg_total": ratio(ytd_tot, ytd_n, 1, 1.0),
        "last_bm_sum_avg_live": ratio(ytd_live, ytd_n, 1, 1.0),
    }
    return ProcessorResult([row], header)


# -- Weaning ---------------------------------------------------------------------------------------
def weaning_processor(farm: FarmData, ctx: RunContext, done: Done) -> Result:
    """EU: weanings of the week (piglets, weight, lactation length, survival), year-to-date."""
    cfg = config_values(done)
    week = ctx.week
    lo, hi, ytd_lo = week.dt_from.toordinal(), week.dt_to.toordinal(), week.ytd_from.toordinal()
    n = piglets = live_born = total_born = lact_days = ps = bb = ji = jc = pogae = 0
    kg = 0.0
    ytd_n = ytd_piglets = 0
    for sow in farm.sows:
        for work in sow.works:
            if work.gubun != "E" or not ytd_lo <= work.day <= hi:
                continue
            heads, weight = farm.eu.get((sow.pig_no, work.day), (0, 0.0))
            ytd_n += 1
            ytd_piglets += heads
            if work.day < lo:
                continue
            n += 1
            piglets += heads
            kg += weight
            birth = next(
                (
                    w
                    for w in reversed(sow.works)
                    if w.gubun == "B" and w.sancha == work.sancha and w.day <= work.day
                ),
                None,
            )
            if birth is None:
                continue
            silsan, sasan, mila = farm.bunman.get((sow.pig_no, birth.day), (0, 0, 0))
            live_born += silsan
            total_born += silsan + sasan + mila
            lact_days += work.day - birth.day
            nxt = sow.next_work(work, hi)
            if nxt is not None and nxt.gubun == "G":
                end = nxt.day
            elif nxt is None and work.daeri != "Y":
                end = hi
            else:
                end = work.day - 1
            for move in farm.moves.get(sow.pig_no, ()):
                if move.sancha != work.sancha or not birth.day <= move.day <= end:
                    continue
                if move.gubun_cd == "160001":
                    ps += move.heads
                elif move.gubun_cd == "160002":
                    bb += move.heads
                elif move.gubun_cd == "160003":
                    ji += move.heads
                elif move.gubun_cd == "160004":
                    jc += move.heads
            lps, lji, ljc = _litter_moves(farm, sow.pig_no, birth.day)
            pogae += silsan - lps + lji - ljc
    avg_jd = ratio(piglets, n, 1, 1.0)
    ytd_avg = ratio(ytd_piglets, ytd_n, 1, 1.0)
    prev_schedule = _prev_schedule(farm)
    if prev_schedule is not None:
        planned = int(prev_schedule.get("cnt_4") or 0)
        hint = _prev_hint(farm, "str_3")
    else:
        planned = _last_week_plan(farm, ctx, planner.JOB_WEANING, cfg).total
        hint = None
    hint = hint or planner.job_hint(farm, planner.JOB_WEANING, cfg)
    row = sub(
        "EU",
        1,
        **slots("cnt", [n, piglets, live_born, lact_days, planned, ps, bb, ji, jc]),
        val_1=avg_jd,
        val_2=ratio(kg, piglets, 2, 1.0),
        val_3=ratio(piglets, live_born),
        val_4=ratio(lact_days, n, 1, 1.0),
        val_5=pogae,
        str_1=str(total_born),
        hint1=hint,
    )
    header = {
        "last_eu_cnt": n,
        "last_eu_jd_cnt": piglets,
        "last_eu_avg_jd": avg_jd,
        "last_eu_avg_kg": ratio(kg, piglets, 2, 1.0),
        "last_eu_sum_cnt": ytd_n,
        "last_eu_sum_jd": ytd_piglets,
        "last_eu_sum_avg_jd": ytd_avg,
        "last_eu_chg_jd": round_half_up(avg_jd - ytd_avg, 1) if ytd_avg > 0 else None,
    }
    return ProcessorResult([row], header)


# -- Accident --------------------------------------------------------------------------------------
SAGO_CODES = ("050008", "050009", "050007", "050002", "050003", "050004", "050005", "050006")
GYUNGIL_BUCKETS = ((0, 7), (8, 10), (11, 15), (16, 20), (21, 35), (36, 40), (41, 45), (46, 10**6))


def accident_processor(farm: FarmData, ctx: RunContext, done: Done) -> Result:
    """SG: pregnancy accidents by kind, days since mating, week / last month / year-to-date."""
    week = ctx.week
    lo, hi = week.dt_from.toordinal(), week.dt_to.toordinal()
    month_lo, ytd_lo = week.month_from.toordinal(), week.ytd_from.toordinal()
    sows = {s.pig_no: s for s in farm.sows}
    wk_counts, mo_counts = [0] * 8, [0] * 8
    wk_total = mo_total = ytd_total = 0
    wk_days: list[int] = []
    ytd_days: list[int] = []
    chart = [0] * 8
    for pig, sday, code in farm.sago:
        in_week, in_month, in_ytd = lo <= sday <= hi, month_lo <= sday <= hi, ytd_lo <= sday <= hi
        if not (in_week or in_month or in_ytd):
            continue
        sow = sows.get(pig)
        gyungil = None
        if sow is not None:
            matings = [w.day for w in sow.works if w.gubun == "G"]
            before = [d for d in matings if d < sday]
            mated = max(before) if before else (max(matings) if matings else None)
            if mated is not None and sday - mated > 0:
                gyungil = sday - mated
        slot = SAGO_CODES.index(code) if code in SAGO_CODES else None
        counted = gyungil is not None and code not in ("050005", "050006")
        if in_week:
            wk_total += 1
            if slot is not None:
                wk_counts[slot] += 1
            if counted:
                wk_days.append(gyungil)  # type: ignore[arg-type]
                for b, (low, high) in enumerate(GYUNGIL_BUCKETS):
                    if low <= gyungil <= high:  # type: ignore[operator]
                        chart[b] += 1
                        break
        if in_month:
            mo_total += 1
            if slot is not None:
                mo_counts[slot] += 1
        if in_ytd:
            ytd_total += 1
            if counted:
                ytd_days.append(gyungil)  # type: ignore[arg-type]
    rows = [
        sub(
            "SG",
            1,
            "STAT",
            **slots("cnt", wk_counts),
            **slots("val", [ratio(c, wk_total) for c in wk_counts]),
            val_9=mean(wk_days),
        ),
        sub(
            "SG",
            2,
            "STAT",
            **slots("cnt", [*mo_counts, ytd_total]),
            **slots("val", [ratio(c, mo_total) for c in mo_counts]),
            val_9=mean(ytd_days),
        ),
        sub("SG", 1, "CHART", **slots("cnt", chart)),
    ]
    header = {
        "last_sg_cnt": wk_total,
        "last_sg_avg_gyungil": mean(wk_days),
        "last_sg_sum": ytd_total,
        "last_sg_sum_avg_gyungil": mean(ytd_days),
    }
    return ProcessorResult(rows, header)


# -- Culling ---------------------------------------------------------------------------------------
OUT_CODES = ("080001", "080002", "080003", "080004")
OTHER_REASON = "031001"
CHART_STATUSES = ("010001", "010002", "010003", "010004", "010005", "010006", "010007")


def culling_processor(farm: FarmData, ctx: RunContext, done: Done) -> Result:
    """DOPE: culls, deaths, transfers and sales by kind, reason and pre-exit status."""
    week = ctx.week
    lo, hi = week.dt_from.toordinal(), week.dt_to.toordinal()
    month_lo, ytd_lo = week.month_from.toordinal(), week.ytd_from.toordinal()
    wk = [0] * 4
    mo = [0] * 4
    ytd = wk_all = 0
    reasons_wk: Counter[str] = Counter()
    reasons_mo: Counter[str] = Counter()
    by_status = [0] * 7
    for sow in farm.sows:
        out = sow.out
        if out > hi or out < min(month_lo, ytd_lo):
            continue
        slot = OUT_CODES.index(sow.out_gubun_cd) if sow.out_gubun_cd in OUT_CODES else None
        reason = sow.out_reason_cd or OTHER_REASON
        if out >= ytd_lo:
            ytd += 1
        if out >= month_lo:
            if slot is not None:
                mo[slot] += 1
            reasons_mo[reason] += 1
        if out >= lo:
            wk_all += 1
            if slot is not None:
                wk[slot] += 1
            reasons_wk[reason] += 1
            status = sow.status(out)
            if status in CHART_STATUSES:
                by_status[CHART_STATUSES.index(status)] += 1
    rows = [
        sub("DOPE", 1, "STAT", **slots("cnt", wk), **slots("val", [ratio(c, sum(wk)) for c in wk])),
        sub(
            "DOPE",
            2,
            "STAT",
            **slots("cnt", [*mo, ytd]),
            **slots("val", [ratio(c, sum(mo)) for c in mo]),
        ),
    ]
    ordered = sorted(
        reasons_mo,
        key=lambda code: (code == OTHER_REASON, -reasons_mo[code], -reasons_wk[code], code),
    )
    for group, start in enumerate(range(0, len(ordered), 15), start=1):
        chunk = ordered[start : start + 15]
        rows.append(
            sub(
                "DOPE",
                group,
                "LIST",
                **slots("str", chunk),
                **slots("cnt", [reasons_wk[c] for c in chunk]),
                **slots("val", [reasons_mo[c] for c in chunk]),
            )
        )
    rows.append(
        sub("DOPE", 1, "CHART", **slots("str", list(CHART_STATUSES)), **slots("cnt", by_status))
    )
    return ProcessorResult(rows, {"last_cl_cnt": wk_all, "last_cl_sum": ytd})


# -- Shipment --------------------------------------------------------------------------------------
SHIP_CODES = (
    "BUT_CNT", "EU_DUSU", "EU_RATIO", "ONE_RATIO", "Q_11", "Q_1", "Q_2", "FEMALE", "MALE", "ETC",
    "TNET_KG", "AVG_NET", "AVG_BACK",
)  # fmt: skip
HEAD_CODES = frozenset({"BUT_CNT", "Q_11", "Q_1", "Q_2", "FEMALE", "MALE", "ETC"})


def shipment_processor(farm: FarmData, ctx: RunContext, done: Done) -> Result:
    """SHIP: carcasses graded per day (grades, sex, weights, backfat), wean cohort, prices."""
    cfg = config_values(done)
    week = ctx.week
    days = [d.toordinal() for d in week.days()]
    lo, hi = days[0], days[-1]
    eu_days = int(cfg["ship_age"] - cfg["lactation"])
    daily: dict[int, list[tuple[float, float, str | None, str | None]]] = {d: [] for d in days}
    ytd_n, ytd_net = farm.lpd_ytd
    for lday, net, back, quality, sex in farm.lpd:
        if lday in daily:
            daily[lday].append((net, back, quality, sex))
    weaned_on: Counter[int] = Counter()
    for (_pig, eday), (heads, _kg) in farm.eu.items():
        weaned_on[eday] += heads

    day_values: dict[int, dict[str, Any]] = {}

    def per_day(code: str, d: int) -> float | None:
        items = daily[d]
        if code == "EU_DUSU":
            return weaned_on.get(d - eu_days, 0)
        if not items:
            return None
        if code == "EU_RATIO":
            eu = weaned_on.get(d - eu_days, 0)
            return ratio(len(items), eu) if eu else None
        if d not in day_values:
            day_values[d] = _day_values(items)
        return day_values[d][code]

    def _day_values(items: list[tuple[float, float, str | None, str | None]]) -> dict[str, Any]:
        cnt = len(items)
        q11 = sum(1 for i in items if i[2] == "1+")
        q1 = sum(1 for i in items if i[2] == "1")
        values = {
            "BUT_CNT": cnt,
            "Q_11": q11,
            "Q_1": q1,
            "Q_2": sum(1 for i in items if i[2] == "2"),
            "FEMALE": sum(1 for i in items if i[3] == "암"),
            "MALE": sum(1 for i in items if i[3] in ("수", "거세")),
            "ETC": sum(1 for i in items if i[3] not in ("암", "수", "거세")),
            "TNET_KG": round_half_up(sum(i[0] for i in items), 1),
            "AVG_NET": round_half_up(sum(i[0] for i in items) / cnt, 1),
            "AVG_BACK": round_half_up(sum(i[1] for i in items) / cnt, 1),
            "ONE_RATIO": ratio(q11 + q1, cnt),
        }
        return values

    but_total = sum(len(v) for v in daily.values())
    net_total = sum(i[0] for v in daily.values() for i in v)
    back_total = sum(i[1] for v in daily.values() for i in v)
    eu_total = sum(weaned_on.get(d - eu_days, 0) for d in days)
    labels = slots("str", [mmdd(d) for d in days])
    rows: list[SubRow] = []
    for sort_no, code in enumerate(SHIP_CODES, start=1):
        values = [per_day(code, d) for d in days]
        present = [v for v in values if v is not None]
        total = round_half_up(sum(present), 1) if present else 0.0
        if code == "EU_RATIO":
            val_3 = ratio(but_total, eu_total)
        elif code == "AVG_NET":
            val_3 = ratio(net_total, but_total, 1, 1.0)
        elif code == "AVG_BACK":
            val_3 = ratio(back_total, but_total, 1, 1.0)
        elif code == "ONE_RATIO":
            q = sum(1 for v in daily.values() for i in v if i[2] in ("1+", "1"))
            val_3 = ratio(q, but_total)
        else:
            val_3 = round_half_up(sum(present) / len(present), 1) if present else 0.0
        rows.append(
            sub(
                "SHIP",
                sort_no,
                "ROW",
                code_1=code,
                **labels,
                **slots("cnt", values),
                val_1=total,
                val_2=ratio(total or 0, but_total) if code in HEAD_CODES else None,
                val_3=val_3,
            )
        )
    grade1 = sum(1 for v in daily.values() for i in v if i[2] in ("1+", "1"))
    trade = [(p, k) for tday, p, k in farm.trade if lo <= tday <= hi and p > 0 and k > 0]
    farm_price = (
        round_half_up(sum(p for p, _ in trade) / sum(k for _, k in trade), 0) if trade else None
    )
    rows.append(
        sub(
            "SHIP",
            1,
            "STAT",
            **slots("cnt", [but_total, ytd_n, grade1, cfg["ship_age"], cfg["lactation"], eu_days]),
            val_1=ratio(grade1, but_total),
            val_2=ratio(net_total, but_total, 1, 1.0),
            val_3=ratio(back_total, but_total, 1, 1.0),
            val_4=farm_price,
            val_5=ctx.national_price,
            str_1=date_of(lo - eu_days).strftime("%y.%m.%d"),
            str_2=date_of(hi - eu_days).strftime("%y.%m.%d"),
        )
    )
    for sort_no, d in enumerate(days, start=1):
        items = daily[d]
        rows.append(
            sub(
                "SHIP",
                sort_no,
                "CHART",
                str_1=mmdd(d),
                cnt_1=len(items) if items else None,
                val_1=round_half_up(sum(i[0] for i in items) / len(items), 1) if items else None,
                val_2=round_half_up(sum(i[1] for i in items) / len(items), 1) if items else None,
            )
        )
    scatter = Counter(
        (int(round_half_up(i[0], 0)), int(round_half_up(i[1], 0)))  # type: ignore[arg-type]
        for v in daily.values()
        for i in v
    )
    if scatter:
        points = [{"x": x, "y": y, "cnt": c} for (x, y), c in sorted(scatter.items())]
        rows.append(sub("SHIP", 1, "SCATTER", json_data=json.dumps(points)))
    header = {
        "last_sh_cnt": but_total,
        "last_sh_avg_kg": ratio(net_total, but_total, 1, 1.0),
        "last_sh_sum": ytd_n,
        "last_sh_avg_sum": ratio(ytd_net, ytd_n, 1, 1.0),
    }
    return ProcessorResult(rows, header)


# -- Schedule --------------------------------------------------------------------------------------
def schedule_processor(farm: FarmData, ctx: RunContext, done: Done) -> Result:
    """SCHEDULE: this week's planned matings, checks, farrowings, weanings, vaccines, shipments."""
    cfg = config_values(done)
    this_week = ctx.week.next
    base = ctx.week.dt_to.toordinal()
    plans = {job: planner.plan_job(farm, job, this_week, base, cfg) for job in planner.JOBS}
    imsin = plans[planner.JOB_PREGNANCY]
    ship = planner.planned_shipments(farm, this_week, cfg)
    days = [d.toordinal() for d in this_week.days()]
    cal_labels = slots("str", [f"{date_of(d).day:02d}" for d in days])
    summary = sub(
        "SCHEDULE",
        1,
        cnt_1=plans[planner.JOB_MATING].total,
        cnt_2=imsin.total,
        cnt_3=plans[planner.JOB_FARROWING].total,
        cnt_4=plans[planner.JOB_WEANING].total,
        cnt_5=plans[planner.JOB_VACCINE].total,
        cnt_6=ship,
        cnt_7=this_week.week_no,
        str_1=mmdd(days[0]),
        str_2=mmdd(days[-1]),
    )
    rows = [summary]
    cal: list[tuple[str, list[int]]] = [
        ("GB", plans[planner.JOB_MATING].daily),
        ("BM", plans[planner.JOB_FARROWING].daily),
    ]
    if imsin.method == "farm":
        cal += [("IMSIN_3W", imsin.daily_3w), ("IMSIN_4W", imsin.daily_4w)]
    else:
        cal.append(("IMSIN", imsin.daily))
    cal += [("EU", plans[planner.JOB_WEANING].daily), ("VACCINE", plans[planner.JOB_VACCINE].daily)]
    for sort_no, (code, daily) in enumerate(cal, start=1):
        rows.append(
            sub("SCHEDULE", sort_no, "CAL", code_1=code, **cal_labels, **slots("cnt", daily))
        )
    for job, popup in planner.POPUPS.items():
        plan = plans[job]
        for sort_no, item in enumerate(plan.items, start=1):
            row = sub(
                "SCHEDULE",
                sort_no,
                popup,
                str_1=item.name,
                str_2=item.std_cd,
                str_3=item.status_cd,
                str_4=item.pass_text,
                **slots("cnt", [sum(item.daily), *item.daily]),
            )
            if popup == "VACCINE":
                row["str_5"] = item.article or "-"
            rows.append(row)
    rows.append(
        sub(
            "SCHEDULE",
            1,
            "HELP",
            str_1=plans[planner.JOB_MATING].hint,
            str_2=plans[planner.JOB_FARROWING].hint,
            str_3=plans[planner.JOB_WEANING].hint,
            str_4=plans[planner.JOB_VACCINE].hint,
            str_5=planner.shipment_hint(this_week, cfg),
            str_6=imsin.hint_3w,
            str_7=imsin.hint_4w,
        )
    )
    rows.append(
        sub(
            "SCHEDULE",
            1,
            "METHOD",
            **slots(
                "str",
                [
                    plans[job].method
                    for job in (
                        planner.JOB_MATING,
                        planner.JOB_FARROWING,
                        planner.JOB_PREGNANCY,
                        planner.JOB_WEANING,
                        planner.JOB_VACCINE,
                    )
                ],
            ),
        )
    )
    header = {
        "this_gb_sum": plans[planner.JOB_MATING].total,
        "this_imsin_sum": imsin.total,
        "this_bm_sum": plans[planner.JOB_FARROWING].total,
        "this_eu_sum": plans[planner.JOB_WEANING].total,
        "this_vaccine_sum": plans[planner.JOB_VACCINE].total,
        "this_ship_sum": ship,
    }
    return ProcessorResult(rows, header)


Processor = Callable[[FarmData, RunContext, dict[str, ProcessorResult]], ProcessorResult]

# Run order and the class names written to TS_INS_JOB_LOG.PROC_NM.
PROCESSORS: tuple[tuple[str, str, Processor], ...] = (
    ("config", "ConfigProcessor", config_processor),
    ("alert", "AlertProcessor", alert_processor),
    ("modon", "ModonProcessor", modon_processor),
    ("mating", "MatingProcessor", mating_processor),
    ("farrowing", "FarrowingProcessor", farrowing_processor),
    ("weaning", "WeaningProcessor", weaning_processor),
    ("accident", "AccidentProcessor", accident_processor),
    ("culling", "CullingProcessor", culling_processor),
    ("shipment", "ShipmentProcessor", shipment_processor),
    ("schedule", "ScheduleProcessor", schedule_processor),
)


def sow_of(farm: FarmData, pig_no: int) -> Sow | None:
    """The sow `pig_no` of `farm`."""
    return next((s for s in farm.sows if s.pig_no == pig_no), None)
