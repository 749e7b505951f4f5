"""Config, Alert and Modon processors: the farm's settings, overdue sows and the herd by parity."""

import datetime as dt
import json
from typing import Any

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
    date_of,
    round_half_up,
)
from inspig_assets.periods import add_months
from inspig_assets.processors.base import Done, ProcessorResult, Result, slots, sub


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
