"""Gap filling of hourly weather (plain Python): a separate series, the measured one untouched.

For each station and variable, in time order over a complete hourly index (so that absent rows
count as gaps as well as blank cells):

- a run of up to `MAX_INTERPOLATED` missing hours with a measured value on both sides is filled by
  linear interpolation in time (`interpolated`);
- a longer run, or one at the edge of the data, takes the station's mean for the same calendar
  slot (month, day, hour) over the stored history of other days (`slot_mean`), else its mean for
  the same hour of day around those days (`hour_mean`), else stays empty (`missing`).

Measured values keep the method `measured`.
"""

import pandas as pd

MAX_INTERPOLATED = 3
VARIABLES = ("temperature", "humidity")


def _runs(missing: pd.Series) -> list[tuple[int, int]]:
    """(first, last) positions of each run of True values."""
    runs, start = [], None
    for position, flag in enumerate(missing.to_numpy()):
        if flag and start is None:
            start = position
        elif not flag and start is not None:
            runs.append((start, position - 1))
            start = None
    if start is not None:
        runs.append((start, len(missing) - 1))
    return runs


def fill_series(
    values: pd.Series, history: pd.Series, max_interpolated: int = MAX_INTERPOLATED
) -> tuple[pd.Series, pd.Series]:
    """(filled values, method per value) of one hourly series indexed by KST timestamps.

    `values` must be on a complete hourly index; `history` holds the station's stored values of
    the same variable (any timestamps), used for the means.
    """
    filled = values.astype(float).copy()
    method = pd.Series("measured", index=values.index, dtype=object)
    known = history.dropna()
    slot_key = known.index.strftime("%m-%d %H")
    slot_means = known.groupby(slot_key).mean()
    hour_means = known.groupby(known.index.hour).mean()
    for first, last in _runs(values.isna()):
        length = last - first + 1
        inside = first > 0 and last < len(values) - 1
        if inside and length <= max_interpolated:
            before, after = values.index[first - 1], values.index[last + 1]
            v0, v1 = values.iloc[first - 1], values.iloc[last + 1]
            span = (after - before).total_seconds()
            for position in range(first, last + 1):
                at = values.index[position]
                filled.iloc[position] = v0 + (v1 - v0) * (at - before).total_seconds() / span
                method.iloc[position] = "interpolated"
            continue
        for position in range(first, last + 1):
            at = values.index[position]
            slot = at.strftime("%m-%d %H")
            if slot in slot_means.index:
                filled.iloc[position], method.iloc[position] = slot_means[slot], "slot_mean"
            elif at.hour in hour_means.index:
                filled.iloc[position], method.iloc[position] = hour_means[at.hour], "hour_mean"
            else:
                method.iloc[position] = "missing"
    return filled, method


def impute_station(
    measured: pd.DataFrame, hours: pd.DatetimeIndex, history: pd.DataFrame
) -> pd.DataFrame:
    """The gap-filled rows of one station for `hours` (a complete hourly index, KST).

    `measured` holds the station's stored rows around the hours (timestamp, variables,
    solar_radiation); `history` its stored rows of other days for the means. Both are read only.
    """
    measured = measured.set_index("timestamp").sort_index()
    measured = measured[~measured.index.duplicated(keep="last")]
    context = pd.date_range(
        min(hours.min(), measured.index.min()) if len(measured) else hours.min(),
        max(hours.max(), measured.index.max()) if len(measured) else hours.max(),
        freq="h",
    )
    full = measured.reindex(context)
    out = pd.DataFrame(index=hours)
    out["row_absent"] = ~hours.isin(measured.index)
    hist = history.set_index("timestamp") if len(history) else pd.DataFrame(columns=VARIABLES)
    hist = hist[~hist.index.isin(hours)] if len(hist) else hist
    for variable in VARIABLES:
        source = hist[variable] if variable in hist else pd.Series(dtype=float)
        if not isinstance(source.index, pd.DatetimeIndex):
            source.index = pd.DatetimeIndex(source.index)
        filled, method = fill_series(full[variable], source.astype(float))
        out[variable] = filled.reindex(hours)
        out[f"{variable}_method"] = method.reindex(hours)
    out["solar_radiation"] = full["solar_radiation"].reindex(hours)
    return out.rename_axis("timestamp").reset_index()
