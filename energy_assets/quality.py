"""Detection rules for the source defects of the broken-plants audit (plain Python).

Per plant unit and day, over the window of stored hourly rows (interval-start KST) that ends on
that day:

- `one_slot`: on most producing days one hour holds ≥ 90 % of the day (hourly invalid);
- `after_sunset`: output in hours starting 20:00–03:59 on most producing days (hourly invalid);
- `summer_peak`: May–August, the average curve peaks outside 11:00–13:00 (hourly invalid);
- `constant_daily`: the same daily value on ≥ 80 % of ≥ 5 producing days (fully invalid);
- `rated_evening`: evening hours (17:00–19:59) at least 80 % of the noon hours on most producing
  days, output held back at noon and released at rated level (hourly invalid);
- `zeros_only`: nothing but zeros in the window (fully invalid).
"""

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from resources.kst import KST

FULLY_INVALID_RULES = {"constant_daily", "zeros_only"}
MOST = 0.5
NIGHT = [*range(20, 24), *range(4)]
SUMMER = (5, 6, 7, 8)


def day_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Day × hour (0..23, KST interval start) sums of one unit's rows; absent hours are 0."""
    local = rows["datetime"].dt.tz_convert(KST)
    frame = pd.DataFrame(
        {"day": local.dt.date, "hour": local.dt.hour, "generation": rows["generation"].to_numpy()}
    )
    table = frame.pivot_table(index="day", columns="hour", values="generation", aggfunc="sum")
    return table.reindex(columns=range(24)).fillna(0.0).sort_index()


def table_rules(values: np.ndarray, days: Sequence[dt.date]) -> list[str]:
    """The rules one unit's day × 24 table breaks (the rows are the days with data)."""
    totals = values.sum(axis=1)
    keep = totals > 0
    producing, day_totals = values[keep], totals[keep]
    if not len(producing):
        return ["zeros_only"] if len(values) else []
    rules = []
    if (producing.max(axis=1) >= 0.9 * day_totals).mean() >= MOST:
        rules.append("one_slot")
    if (producing[:, NIGHT].sum(axis=1) > 0.05 * day_totals).mean() >= MOST:
        rules.append("after_sunset")
    summer = np.array([d.month in SUMMER for d, k in zip(days, keep, strict=True) if k])
    if summer.any() and int(producing[summer].mean(axis=0).argmax()) not in (11, 12):
        rules.append("summer_peak")
    if len(producing) >= 5:
        _, counts = np.unique(day_totals.round(0), return_counts=True)
        if counts.max() >= 0.8 * len(producing):
            rules.append("constant_daily")
    evening, noon = producing[:, 17:20].mean(axis=1), producing[:, 11:13].mean(axis=1)
    if ((evening > 0) & (evening >= 0.8 * noon)).mean() >= MOST:
        rules.append("rated_evening")
    return rules


def grade(
    operator: str, key: str, name: str, rules: list[str], day: dt.date, first: dt.date, days: int
) -> dict[str, Any]:
    """One row of plant_data_quality."""
    fully = bool(FULLY_INVALID_RULES & set(rules))
    return {
        "operator": operator,
        "plant_key": str(key),
        "day": day,
        "plant_name": str(name),
        "hourly_valid": not rules,
        "daily_valid": not fully,
        "data_quality": "fully_invalid" if fully else ("hourly_invalid" if rules else "ok"),
        "note": ", ".join(rules) if rules else "",
        "days": days,
        "window_start": first,
        "window_end": day,
    }


def assess_days(
    frame: pd.DataFrame, operator: str, days: Sequence[dt.date], window_days: int
) -> list[dict[str, Any]]:
    """Grades per unit and per day D of `days`, each over the window [D − window_days + 1, D].

    `frame` holds plant_key, plant_name, datetime and generation; a unit without rows in a day's
    window gets no grade for that day. Each grade depends on its window's rows only.
    """
    out = []
    for (key, name), rows in frame.groupby(["plant_key", "plant_name"], sort=True):
        table = day_table(rows)
        index = np.array(table.index, dtype=object)
        values = table.to_numpy()
        for day in days:
            first = day - dt.timedelta(days=window_days - 1)
            inside = (index >= first) & (index <= day)
            if not inside.any():
                continue
            rules = table_rules(values[inside], list(index[inside]))
            out.append(grade(operator, key, name, rules, day, first, int(inside.sum())))
    return out
