"""The plain rules: filter and sort, top-N, templates, windows and local time."""

import datetime as dt

import dagster as dg
import pandas as pd
import pytest

from card_assets import t2a, window
from card_assets.partitions import card_window_partitions
from card_assets.scenario import ranked
from resources.kst import KST

ACH, TARGET, EST = t2a.ACH, t2a.TARGET, t2a.EST


def rows(values: list[tuple[str, float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(values, columns=["Material", TARGET, EST, ACH])


def test_filter_keeps_under_achievers_with_a_target_worst_first() -> None:
    frame = rows(
        [
            ("over", 100, 150, 150.0),  # achieved: dropped
            ("no-target", 0, 50, 0.0),  # no target: dropped while others qualify
            ("b", 100, 80, 80.0),
            ("a", 300, 240, 80.0),  # same 80 %: the larger target first
            ("c", 200, 100, 50.0),
            ("exactly", 100, 100, 100.0),  # 100 % is not under-achieving
        ]
    )
    assert t2a.filter_and_sort_rows(frame)["Material"].tolist() == ["c", "a", "b"]


def test_filter_falls_back_to_rows_without_target_when_none_has_one() -> None:
    frame = rows([("x", 0, 10, 0.0), ("y", 0, 20, 0.0), ("z", 100, 120, 120.0)])
    # no row has a target and < 100 %: keep every row under 100 %, estimated sales ascending
    assert t2a.filter_and_sort_rows(frame)["Material"].tolist() == ["x", "y"]


def test_top_n_groups_sums_and_ranks_by_the_ratio_not_a_sum_of_percentages() -> None:
    frame = pd.DataFrame(
        [
            ["u", "G1", 100, 90, 90.0],
            ["u", "G1", 100, 10, 10.0],  # G1: 200 / 100 -> 50 % (the sum of % would be 100)
            ["u", "G2", 1000, 600, 60.0],  # G2: 60 %
            ["u", "G3", 50, 20, 40.0],  # G3: 40 %
            ["v", "G1", 10, 1, 10.0],
        ],
        columns=["user", "P", TARGET, EST, ACH],
    )
    top = ranked(frame, ["user"], "P", 2)
    u = top[top["user"] == "u"]
    assert u["P"].tolist() == ["G3", "G1"]  # 40 %, 50 %; G2 (60 %) is third, cut by n = 2
    assert u[ACH].tolist() == [40.0, 50.0] and u[TARGET].tolist() == [50, 200]
    assert u["rank"].tolist() == [1, 2]
    assert top[top["user"] == "v"]["P"].tolist() == ["G1"]


def test_top_n_ties_go_to_the_larger_target_then_the_smaller_sales() -> None:
    frame = pd.DataFrame(
        [["u", "small", 100, 50, 0], ["u", "large", 400, 200, 0], ["u", "none", 0, 5, 0]],
        columns=["user", "P", TARGET, EST, ACH],
    )
    # small and large are both 50 %: large first; "none" has no target (no ratio): last
    assert ranked(frame, ["user"], "P", 5)["P"].tolist() == ["large", "small", "none"]


def test_placeholders_replace_whole_strings_only_and_splice_lists() -> None:
    template = {"a": "{CUR}", "b": ["x", "{orgs}", "y"], "c": "in {CUR} text", "d": {"e": "{CUR}"}}
    filled = t2a.replace_placeholders(template, {"{CUR}": "KRW", "{orgs}": ["SO1", "SO2"]})
    assert filled == {
        "a": "KRW",
        "b": ["x", "SO1", "SO2", "y"],
        "c": "in {CUR} text",
        "d": {"e": "KRW"},
    }


def test_windows_are_two_hours_in_kst_and_keyed_by_their_start() -> None:
    start = dt.datetime(2025, 10, 7, 14, tzinfo=KST)
    assert window.window_id(start) == "2025-10-07T14:00+09:00..2025-10-07T16:00+09:00"
    assert window.window_key(dt.datetime(2025, 10, 7, 15, 59, tzinfo=KST)) == "2025-10-07-14:00"
    assert window.window_bounds("2025-10-07-14:00") == (start, start + dt.timedelta(hours=2))
    with pytest.raises(ValueError, match="even hour"):
        window.window_bounds("2025-10-07-13:00")


def test_a_window_crossing_midnight_kst_gets_the_kst_key() -> None:
    # 15:30 UTC on 2 Dec is 00:30 KST on 3 Dec: the window 00:00-02:00 of 3 December
    moment = dt.datetime(2026, 12, 2, 15, 30, tzinfo=dt.UTC)
    assert window.window_key(moment) == "2026-12-03-00:00"
    # 14:59 UTC is 23:59 KST: the window 22:00-24:00 belongs to 2 December
    late = dt.datetime(2026, 12, 2, 14, 59, tzinfo=dt.UTC)
    assert window.window_key(late) == "2026-12-02-22:00"
    assert window.window_id(window.floor_to_window(late)) == (
        "2026-12-02T22:00+09:00..2026-12-03T00:00+09:00"
    )
    # Dagster's partitions agree: the partition holding that moment has the same key
    assert (
        card_window_partitions.get_partition_key_range_for_time_window(
            dg.TimeWindow(window.floor_to_window(late), window.floor_to_window(moment))
        ).start
        == "2026-12-02-22:00"
    )


@pytest.mark.parametrize(
    ("offset", "hours"),
    [("+9", 9), ("-9", -9), ("+5.5", 5.5), ("+05:30", 5.5), ("GMT-3", -3), ("0", 0)],
)
def test_gmt_offsets(offset: str, hours: float) -> None:
    assert window.parse_offset(offset).utcoffset(None) == dt.timedelta(hours=hours)


@pytest.mark.parametrize("offset", ["east", "", None, "+15", "+5.75.1"])
def test_bad_gmt_offsets_are_refused_naming_the_value(offset: object) -> None:
    with pytest.raises(ValueError, match="GMT offset"):
        window.parse_offset(offset)


def test_local_time_is_timezone_aware() -> None:
    start = dt.datetime(2026, 1, 1, 0, tzinfo=KST)  # 15:00 UTC on 31 Dec 2025
    local = window.local_time(start, "-5")
    assert local.isoformat() == "2025-12-31T10:00:00-05:00" and local == start
    query = t2a.build_query("material", "SO1", "USD", local)
    assert query["filters"]["Period"] == "202512" and query["filters"]["Sales Org"] == ["SO1"]
