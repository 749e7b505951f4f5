"""Plain logic: interval-start timestamps, imputation, the naming rule, the quality rules."""

import datetime as dt

import pandas as pd
import pytest

from energy_assets import sample
from energy_assets.imputation import fill_series, impute_station
from energy_assets.parsing import interval_start, namdong_hourly, namdong_names, parse_koen_csv
from energy_assets.plants import NAMDONG_UNITS
from energy_assets.quality import assess_days
from resources.kst import KST


def test_hour_ending_labels_become_interval_starts_around_midnight() -> None:
    day = dt.date(2025, 12, 31)
    # label 1 covers [00:00, 01:00) of the same day; label 24 covers [23:00, 24:00): neither
    # lands on the next day (the legacy ymd + N h put label 24 on 2026-01-01 00:00)
    assert interval_start(day, 1) == dt.datetime(2025, 12, 31, 0, tzinfo=KST)
    assert interval_start(day, 24) == dt.datetime(2025, 12, 31, 23, tzinfo=KST)
    assert interval_start(dt.date(2026, 1, 1), 1) - interval_start(day, 24) == dt.timedelta(hours=1)
    with pytest.raises(ValueError):
        interval_start(day, 0)


def hours(n: int, start: str = "2025-11-01 00:00") -> pd.DatetimeIndex:
    return pd.date_range(pd.Timestamp(start, tz=KST), periods=n, freq="h")


def test_short_gap_is_interpolated_in_time_and_long_gap_takes_the_slot_mean() -> None:
    index = hours(12)
    nan = float("nan")
    values = pd.Series([10, nan, nan, 16, 17, nan, nan, nan, nan, 20, 21, 22], index=index)
    # history: the same station on 2024-11-01 (same calendar slots) at hours 5..8
    history = pd.Series([30.0, 31.0, 32.0, 33.0], index=hours(4, "2024-11-01 05:00"))
    filled, method = fill_series(values, history)
    # 2-hour gap between 10 (00:00) and 16 (03:00): 10 + 6 * 1/3 = 12, 10 + 6 * 2/3 = 14
    assert filled.iloc[1] == pytest.approx(12.0) and filled.iloc[2] == pytest.approx(14.0)
    assert list(method.iloc[1:3]) == ["interpolated", "interpolated"]
    # 4-hour gap (05:00..08:00): longer than 3 -> the 2024 values of the same slots
    assert list(filled.iloc[5:9]) == [30.0, 31.0, 32.0, 33.0]
    assert set(method.iloc[5:9]) == {"slot_mean"}
    assert method.iloc[0] == "measured" and filled.iloc[0] == 10


def test_absent_rows_are_detected_and_filled_and_the_input_is_untouched() -> None:
    index = hours(6)
    measured = pd.DataFrame(
        {
            "timestamp": index.delete(2),  # the 02:00 row is absent altogether
            "temperature": [1.0, 2.0, 4.0, 5.0, 6.0],
            "humidity": [50.0, 50.0, 60.0, 60.0, 60.0],
            "solar_radiation": [None] * 5,
        }
    )
    before = measured.copy()
    out = impute_station(measured, index, pd.DataFrame(columns=["timestamp"]))
    row = out[out["timestamp"] == index[2]].iloc[0]
    # absent 02:00 between 2.0 (01:00) and 4.0 (03:00): (2 + 4) / 2 = 3.0; humidity 55
    assert bool(row["row_absent"]) and row["temperature"] == 3.0 and row["humidity"] == 55.0
    assert row["temperature_method"] == "interpolated"
    assert out["row_absent"].sum() == 1
    pd.testing.assert_frame_equal(measured, before)


def test_one_naming_rule_across_months() -> None:
    # June: 삼천포태양광 #5 reports units 1 and 2; January: only unit 1 (unit 2 is absent)
    june, _ = parse_koen_csv(sample.koen_csv(dt.date(2025, 6, 1), dt.date(2025, 6, 1)))
    january, _ = parse_koen_csv(sample.koen_csv(dt.date(2026, 1, 1), dt.date(2026, 1, 1)))
    assert set(january[january["plant"] == "삼천포태양광 #5"]["unit"]) == {1}
    # decided per file, January would call unit 1 "삼천포태양광 #5" and June "삼천포태양광 #5_1"
    pairs = {(p, u) for w in (june, january) for p, u in zip(w["plant"], w["unit"], strict=True)}
    names = namdong_names(pairs)
    rows = pd.concat([namdong_hourly(june, names), namdong_hourly(january, names)])
    unit1 = rows[(rows["plant"] == "삼천포태양광 #5") & (rows["unit"] == 1)]
    assert set(unit1["plant_name"]) == {"삼천포태양광 #5_1"}
    assert set(rows[rows["plant"] == "여수태양광"]["plant_name"]) == {"여수태양광"}


def test_quality_rules_flag_the_audited_defects_only() -> None:
    frames = []
    for unit in NAMDONG_UNITS:
        for n in range(30):
            day = dt.date(2025, 6, 1) + dt.timedelta(days=n)
            values = sample.namdong_values(unit, day)
            if values is None:
                continue
            frames.append(
                pd.DataFrame(
                    {
                        "plant_key": f"{unit.plant}/{unit.unit}",
                        "plant_name": f"{unit.plant}/{unit.unit}",
                        "datetime": [interval_start(day, n) for n in range(1, 25)],
                        "generation": values,
                    }
                )
            )
    # graded on 2025-06-30 over 35 days: the whole of June lies in the window
    graded = assess_days(pd.concat(frames), "namdong", [dt.date(2025, 6, 30)], 35)
    grades = {r["plant_key"]: r for r in graded}
    assert {g["days"] for g in graded} <= {30} and {g["window_end"] for g in graded} == {
        dt.date(2025, 6, 30)
    }
    assert grades["여수태양광/1"]["data_quality"] == "hourly_invalid"
    assert "one_slot" in grades["여수태양광/1"]["note"] and grades["여수태양광/1"]["daily_valid"]
    assert grades["탑선태양광/1"]["data_quality"] == "fully_invalid"
    assert "constant_daily" in grades["탑선태양광/1"]["note"]
    assert grades["탑선태양광/2"]["data_quality"] == "ok"
    assert "rated_evening" in grades["영동태양광/1"]["note"]
    assert "summer_peak" in grades["영흥태양광 #3/1"]["note"]  # ESS before 2025-07-01
    assert grades["예천태양광/1"]["data_quality"] == "ok"
    healthy = [k for k, g in grades.items() if g["data_quality"] == "ok"]
    # 23 units − 11 audited KOEN units (여수 1, 탑선 2, 영동 1, 영흥 #3 3, 삼천포 4)
    assert len(healthy) == 12
