import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from resources.copy_format import timestamp_strings


@pytest.mark.parametrize("tz", [None, "UTC", "Asia/Seoul"])
def test_timestamp_strings_match_pandas_formatting(tz: str | None) -> None:
    rng = np.random.default_rng(3)
    micros = rng.integers(-2_000_000_000_000_000, 4_000_000_000_000_000, 5000)
    stamps = pd.Series(pd.to_datetime(micros, unit="us"))
    if tz:
        stamps = stamps.dt.tz_localize("UTC").dt.tz_convert(tz)
    stamps = stamps.where(~stamps.index.isin([3, 17]))
    assert stamps.isna().sum() == 2
    got = timestamp_strings(pa.array(stamps)).to_pylist()
    utc = stamps.dt.tz_convert("UTC") if tz else stamps
    expected = utc.dt.strftime("%Y-%m-%d %H:%M:%S.%f" + ("+00" if tz else "")).tolist()
    expected = [None if pd.isna(s) else e for s, e in zip(stamps, expected, strict=True)]
    assert got == expected
