"""Accident and Culling processors: returns to heat, abortions, deaths and culls."""

from collections import Counter

from inspig_assets.model import (
    FarmData,
    RunContext,
    mean,
    ratio,
)
from inspig_assets.processors.base import Done, ProcessorResult, Result, slots, sub

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
