"""Mating, Farrowing and Weaning processors: the week's breeding events against the plan."""

from inspig_assets import planner
from inspig_assets.model import (
    GILT,
    FarmData,
    RunContext,
    mean,
    ratio,
    round_half_up,
)
from inspig_assets.processors.base import (
    Done,
    ProcessorResult,
    Result,
    last_week_plan,
    prev_hint,
    previous_schedule,
    slots,
    sub,
)
from inspig_assets.processors.herd import config_values

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

    prev_schedule = previous_schedule(farm)
    if prev_schedule is not None:
        planned = int(prev_schedule.get("cnt_1") or 0)
        detail = farm.prev.schedule_gb if farm.prev is not None else []
        if detail:
            gilt = sum(int(r.get("cnt_1") or 0) for r in detail if r.get("str_3") == GILT)
            normal = sum(int(r.get("cnt_1") or 0) for r in detail if r.get("str_3") != GILT)
        else:
            gilt, normal = 0, planned
        hint = prev_hint(farm, "str_1")
    else:
        plan = last_week_plan(farm, ctx, planner.JOB_MATING, cfg)
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
    prev_schedule = previous_schedule(farm)
    if prev_schedule is not None:
        planned = int(prev_schedule.get("cnt_3") or 0)
        hint = prev_hint(farm, "str_2")
    else:
        planned = last_week_plan(farm, ctx, planner.JOB_FARROWING, cfg).total
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
    prev_schedule = previous_schedule(farm)
    if prev_schedule is not None:
        planned = int(prev_schedule.get("cnt_4") or 0)
        hint = prev_hint(farm, "str_3")
    else:
        planned = last_week_plan(farm, ctx, planner.JOB_WEANING, cfg).total
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
