"""Detection rules for the source defects of the broken-plants audit (plain Python).

Per plant unit over a window of stored hourly rows (interval-start KST):

- `one_slot`: on most producing days one hour holds ≥ 90 % of the day (hourly invalid);
- `after_sunset`: output in hours starting 20:00–03:59 on most producing days (hourly invalid);
- `summer_peak`: May–August, the average curve peaks outside 11:00–13:00 (hourly invalid);
- `constant_daily`: the same daily value on ≥ 80 % of ≥ 5 producing days (fully invalid);
- `rated_evening`: evening hours (17:00–19:59) at least 80 % of the noon hours on most producing
  days, output held back at noon and released at rated level (hourly invalid);
- `zeros_only`: nothing but zeros in the window (fully invalid).
"""

from typing import Any

import pandas as pd

FULLY_INVALID_RULES = {"constant_daily", "zeros_only"}
MOST = 0.5


def _unit_rules(rows: pd.DataFrame) -> list[str]:
    local = rows["datetime"].dt.tz_convert("Asia/Seoul")
    frame = pd.DataFrame(
        {"day": local.dt.date, "hour": local.dt.hour, "generation": rows["generation"].to_numpy()}
    )
    table = frame.pivot_table(index="day", columns="hour", values="generation", aggfunc="sum")
    table = table.reindex(columns=range(24)).fillna(0.0)
    totals = table.sum(axis=1)
    producing = table[totals > 0]
    if producing.empty:
        return ["zeros_only"] if len(table) else []
    rules = []
    day_totals = producing.sum(axis=1)
    if (producing.max(axis=1) >= 0.9 * day_totals).mean() >= MOST:
        rules.append("one_slot")
    night = producing[[*range(20, 24), *range(4)]].sum(axis=1)
    if (night > 0.05 * day_totals).mean() >= MOST:
        rules.append("after_sunset")
    summer = producing[[d.month in (5, 6, 7, 8) for d in producing.index]]
    if len(summer) and int(summer.mean().idxmax()) not in (11, 12):
        rules.append("summer_peak")
    if len(producing) >= 5 and day_totals.round(0).value_counts().iloc[0] >= 0.8 * len(producing):
        rules.append("constant_daily")
    evening = producing[[17, 18, 19]].mean(axis=1)
    noon = producing[[11, 12]].mean(axis=1)
    if ((evening > 0) & (evening >= 0.8 * noon)).mean() >= MOST:
        rules.append("rated_evening")
    return rules


def assess_units(frame: pd.DataFrame, operator: str) -> list[dict[str, Any]]:
    """One quality row per unit of `frame` (plant_key, plant_name, datetime, generation)."""
    out = []
    for (key, name), rows in frame.groupby(["plant_key", "plant_name"], sort=True):
        rules = _unit_rules(rows)
        fully = bool(FULLY_INVALID_RULES & set(rules))
        days = rows["datetime"].dt.tz_convert("Asia/Seoul").dt.date
        out.append(
            {
                "operator": operator,
                "plant_key": str(key),
                "plant_name": str(name),
                "hourly_valid": not rules,
                "daily_valid": not fully,
                "data_quality": "fully_invalid" if fully else ("hourly_invalid" if rules else "ok"),
                "note": ", ".join(rules) if rules else "",
                "days": int(days.nunique()),
                "window_start": days.min(),
                "window_end": days.max(),
            }
        )
    return out
