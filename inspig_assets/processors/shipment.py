"""Shipment processor: carcasses graded in the week, prices, and the shipments per weaning."""

import json
from collections import Counter
from typing import Any

from inspig_assets.model import (
    FarmData,
    RunContext,
    date_of,
    mmdd,
    ratio,
    round_half_up,
)
from inspig_assets.processors.base import Done, ProcessorResult, Result, SubRow, slots, sub
from inspig_assets.processors.herd import config_values

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
