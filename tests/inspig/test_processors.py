"""The hand-built farm 900 (tests/inspig/tiny_farm.py): every processor's key numbers by hand."""

import json
from typing import Any

import pytest
import sqlalchemy as sa

from inspig_assets import schema as t
from inspig_assets.options import RunOptions
from inspig_assets.periods import ReportWeek
from inspig_assets.report import run_week
from resources.farm_db import FarmDbResource

from .tiny_farm import FARM, WEEK, build


def _report(
    db: FarmDbResource, week: ReportWeek = WEEK
) -> tuple[dict[str, Any], dict[tuple, dict[str, Any]]]:
    engine = db.get_engine()
    result = run_week(engine, week, "AM7", RunOptions(), inserter=db.insert_rows)
    assert result.completed == [FARM], result.errors
    with engine.connect() as conn:
        week_row = dict(
            conn.execute(
                sa.select(t.ts_ins_week).where(
                    t.ts_ins_week.c.master_seq == result.master_seq, t.ts_ins_week.c.farm_no == FARM
                )
            )
            .mappings()
            .one()
        )
        subs = {
            (r["gubun"], r["sub_gubun"], r["sort_no"]): dict(r)
            for r in conn.execute(
                sa.select(t.ts_ins_week_sub).where(
                    t.ts_ins_week_sub.c.master_seq == result.master_seq
                )
            ).mappings()
        }
    return week_row, subs


def _cnt(row: dict[str, Any], n: int) -> list[float | None]:
    return [None if row[f"cnt_{i}"] is None else float(row[f"cnt_{i}"]) for i in range(1, n + 1)]


def _val(row: dict[str, Any], n: int) -> list[float | None]:
    return [None if row[f"val_{i}"] is None else float(row[f"val_{i}"]) for i in range(1, n + 1)]


@pytest.fixture
def report(farm_db: FarmDbResource) -> tuple[dict[str, Any], dict[tuple, dict[str, Any]]]:
    with farm_db.begin() as conn:
        build(conn)
    return _report(farm_db)


def test_config_and_rearing_rate(report: tuple) -> None:
    _, subs = report
    row = subs[("CONFIG", "-", 1)]
    # defaults, return days overridden to 5, the bad "abc" gestation override ignored
    assert _cnt(row, 5) == [115, 21, 180, 240, 5]
    # rearing window Sep 2024..Feb 2025; only December has weaned piglets (10 weaned 2024-07-20,
    # + 159 days); 2 carcasses graded in December → 2 / 10 = 20.0 %
    assert float(row["val_1"]) == 20.0
    assert (row["str_4"], row["str_5"]) == ("24.09", "25.02")
    assert json.loads(row["str_1"])[-1] == "REARING_RATE"
    assert json.loads(row["str_3"])[6] == 5


def test_alerts(report: tuple) -> None:
    week, subs = report
    # gilt 1: 258 days old − 240 = 18 → "14~"; sow 5 returned 6 days ago → "4~7";
    # sow 6 mated 126 days ago − 115 = 11 → "8~14"; sow 2 weaned 3 days ago − 5 + 1 < 0: none
    assert _cnt(subs[("ALERT", "-", 4)], 5) == [1, 0, 0, 0, 0]
    assert _cnt(subs[("ALERT", "-", 2)], 5) == [0, 0, 1, 0, 0]
    assert _cnt(subs[("ALERT", "-", 3)], 5) == [0, 0, 0, 1, 0]
    assert _cnt(subs[("ALERT", "-", 1)], 5) == [0, 0, 0, 0, 0]
    assert [subs[("ALERT", "-", i)]["code_1"] for i in (1, 2, 3, 4)] == ["~3", "4~7", "8~14", "14~"]
    assert (week["alert_hubo"], week["alert_sg_mi"], week["alert_bm_delay"]) == (1, 1, 1)
    assert (week["alert_eu_mi"], week["alert_eu_delay"], week["alert_total"]) == (0, 0, 3)


def test_modon_parity_rows(report: tuple) -> None:
    week, subs = report
    rows = {
        subs[("MODON", "-", i)]["code_1"]: _cnt(subs[("MODON", "-", i)], 6) for i in range(1, 11)
    }
    assert len(rows) == 10
    assert rows["후보돈"] == [2, 0, 0, 0, 0, 0]  # gilt 1 and sow 12 (legacy 010002 + 0/1 rule)
    assert rows["0산"] == [0, 1, 0, 0, 0, 0]  # gilt 4, mated
    assert rows["1산"] == [0, 2, 1, 0, 0, 0]  # 3 and 11 pregnant, 8 lactating
    assert rows["2산"] == [0, 1, 0, 1, 0, 0]  # 6 pregnant, 2 weaned
    assert rows["3산"] == [0, 0, 0, 0, 1, 0]  # 5 returned
    assert rows["4산"] == [0, 0, 1, 0, 0, 0]  # 7 lactating
    assert rows["8산↑"] == [0] * 6
    assert week["modon_reg_cnt"] == 8  # culled 9 and dead 10 excluded, gilts not counted
    assert week["modon_reg_chg"] is None and week["modon_sangsi_cnt"] is None


def test_mating(report: tuple) -> None:
    week, subs = report
    row = subs[("GB", "STAT", 1)]
    # matings 03-10..03-16: sow 3 on 03-11 (parity 1, 1st service), gilt 4 on 03-12 (parity 0)
    #   cnt_1 2 matings; cnt_2 0 / cnt_3 0: neither is followed by an accident or a farrowing yet
    #   cnt_4 1 first mating (gilt 4); cnt_5 0 repeat services; cnt_6 2 first services
    #   cnt_7 2 / cnt_8 2 planned (no earlier report: the farm plan as of Sunday 03-09): gilts 1
    #     (born 2024-07-01 + 240 = 02-26, overdue) and 4 (2024-07-10 + 240 = 03-07, overdue); sows
    #     3 (weaned 03-06 + 5 = 03-11) and 9 (weaned 02-28 + 5 = 03-05, overdue)
    #   cnt_9 6 matings since 2024-12-30: sows 3, 4, 5 (02-17), 10 (01-05), 11 (01-02, 02-25)
    assert _cnt(row, 9) == [2, 0, 0, 1, 0, 2, 2, 2, 6]
    # val_1: sow 3 weaned 03-06, re-mated 03-11 → 5 days; val_2: gilt 4 2024-07-10 → 03-12 = 245
    assert _val(row, 2) == [5.0, 245.0]
    assert row["hint1"].startswith("(농장 기본값)\n· 이유돈: 이유 후 5일")
    # return-interval chart (≤3, 4, 5, … days): sow 3's mating 5 days after weaning, 3rd bucket
    assert _cnt(subs[("GB", "CHART", 1)], 8) == [0, 0, 1, 0, 0, 0, 0, 0]
    assert (week["last_gb_cnt"], week["last_gb_sum"]) == (2, 6)


def test_farrowing(report: tuple) -> None:
    week, subs = report
    row = subs[("BM", "-", 1)]
    # sow 7's litter of 03-14: 1 litter, 11 live + 2 stillborn + 0 mummies = 13; one piglet
    # fostered out on 03-15 → nursing 11 − 1 = 10, none died, moves −1; planned 1: sow 7's mating
    # of 2024-11-20 falls in [DT_FROM − 115, DT_TO − 115] = [2024-11-15, 2024-11-21] (sow 6's
    # 11-10 does not)
    assert _cnt(row, 9) == [1, 13, 11, 2, 0, 10, 1, 0, -1]
    assert _val(row, 7) == [13.0, 11.0, 2.0, 0.0, 10.0, 0.0, -1.0]  # the same over 1 litter
    # year-to-date (2024-12-30 ..): litters of sows 9 (10), 3 (10), 2 (12+1+1), 8 (9), 7 (11+2)
    # → 5 litters, 10 + 10 + 14 + 9 + 13 = 56 born, 10 + 10 + 12 + 9 + 11 = 52 live;
    # 56 / 5 = 11.2 and 52 / 5 = 10.4 a litter
    assert (week["last_bm_sum_cnt"], week["last_bm_sum_total"], week["last_bm_sum_live"]) == (
        5, 56, 52,
    )  # fmt: skip
    assert (float(week["last_bm_sum_avg_total"]), float(week["last_bm_sum_avg_live"])) == (
        11.2, 10.4,
    )  # fmt: skip


def test_weaning(report: tuple) -> None:
    week, subs = report
    row = subs[("EU", "-", 1)]
    # sow 2: litter 12 live (+1 stillborn +1 mummy), one died, 2 fostered in, 13 weaned at 21 days
    assert _cnt(row, 9) == [1, 13, 12, 21, 1, 1, 0, 2, 0]
    assert _val(row, 5) == [13.0, 7.0, 108.3, 21.0, 13.0]
    assert row["str_1"] == "14"
    # year-to-date weanings: sows 2 (13), 3 (10), 9 (10) → 11.0 average, this week +2.0
    assert (week["last_eu_sum_cnt"], week["last_eu_sum_jd"]) == (3, 33)
    assert float(week["last_eu_sum_avg_jd"]) == 11.0 and float(week["last_eu_chg_jd"]) == 2.0
    assert float(week["last_eu_avg_kg"]) == 7.0


def test_accidents(report: tuple) -> None:
    week, subs = report
    # week: sow 5 returned to heat 21 days after mating; last month adds sow 11's abortion (44)
    assert _cnt(subs[("SG", "STAT", 1)], 8) == [1, 0, 0, 0, 0, 0, 0, 0]
    assert _val(subs[("SG", "STAT", 1)], 9)[0] == 100.0
    assert float(subs[("SG", "STAT", 1)]["val_9"]) == 21.0
    assert _cnt(subs[("SG", "STAT", 2)], 9) == [1, 0, 0, 1, 0, 0, 0, 0, 2]
    assert _val(subs[("SG", "STAT", 2)], 4) == [50.0, 0.0, 0.0, 50.0]
    assert float(subs[("SG", "STAT", 2)]["val_9"]) == 32.5
    assert _cnt(subs[("SG", "CHART", 1)], 8) == [0, 0, 0, 0, 1, 0, 0, 0]
    assert (week["last_sg_cnt"], week["last_sg_sum"]) == (1, 2)


def test_culling(report: tuple) -> None:
    week, subs = report
    assert _cnt(subs[("DOPE", "STAT", 1)], 4) == [1, 0, 0, 0]
    assert _cnt(subs[("DOPE", "STAT", 2)], 5) == [1, 1, 0, 0, 2]
    assert _val(subs[("DOPE", "STAT", 2)], 2) == [50.0, 50.0]
    listing = subs[("DOPE", "LIST", 1)]
    # "other" (null reason) goes last whatever its count
    assert (listing["str_1"], listing["str_2"]) == ("031007", "031001")
    assert _cnt(listing, 2) == [0, 1] and _val(listing, 2) == [1, 1]
    # sow 9 was weaned (010005) before it was culled
    assert _cnt(subs[("DOPE", "CHART", 1)], 7) == [0, 0, 0, 0, 1, 0, 0]
    assert (week["last_cl_cnt"], week["last_cl_sum"]) == (1, 2)


def test_shipment(report: tuple) -> None:
    week, subs = report
    stat = subs[("SHIP", "STAT", 1)]
    assert _cnt(stat, 6) == [3, 5, 2, 180, 21, 159]
    # grade 1+ and 1: 2 of 3; 276 kg / 3; backfat 63 / 3; farm price 500,000 / 100 kg (511 only);
    # national: (100 × 5,000 + 300 × 6,000) / 400 (other sexes and grades excluded)
    assert _val(stat, 5) == [66.7, 92.0, 21.0, 5000.0, 5750.0]
    assert (stat["str_1"], stat["str_2"]) == ("24.10.02", "24.10.08")
    rows = {r["code_1"]: r for k, r in subs.items() if k[:2] == ("SHIP", "ROW")}
    assert len(rows) == 13
    assert _cnt(rows["BUT_CNT"], 7) == [2, None, 1, None, None, None, None]
    assert _val(rows["BUT_CNT"], 3) == [3.0, 100.0, 1.5]
    assert _cnt(rows["EU_DUSU"], 7) == [0, 0, 11, 0, 0, 0, 0]  # weaned 2024-10-04 = 03-12 − 159
    assert float(rows["EU_RATIO"]["val_3"]) == 27.3  # 3 / 11
    assert _cnt(rows["ONE_RATIO"], 3) == [50.0, None, 100.0]
    assert float(rows["MALE"]["val_1"]) == 2  # castrate + boar
    assert float(rows["AVG_NET"]["val_3"]) == 92.0
    chart = subs[("SHIP", "CHART", 1)]
    assert (chart["str_1"], float(chart["cnt_1"]), float(chart["val_1"])) == ("03.10", 2, 88.0)
    assert subs[("SHIP", "CHART", 2)]["cnt_1"] is None
    points = json.loads(subs[("SHIP", "SCATTER", 1)]["json_data"])
    assert points == [{"x": 86, "y": 18, "cnt": 1}, {"x": 90, "y": 20, "cnt": 1},
                      {"x": 100, "y": 25, "cnt": 1}]  # fmt: skip
    # year-to-date from 2024-12-30 (ISO week 1): 2024-12-31 counts, 2024-12-29 does not
    assert (week["last_sh_cnt"], week["last_sh_sum"]) == (3, 5)
    assert float(week["last_sh_avg_sum"]) == 88.8


def test_schedule(report: tuple) -> None:
    week, subs = report
    summary = subs[("SCHEDULE", "-", 1)]
    # matings: gilt 1 overdue (Mon), sow 5 a day after its return (Mon), sow 2 weaned + 5 (Tue);
    # pregnancy check: sow 11 mated 02-25 + 21 = Tue; weaning: sow 8 farrowed 02-26 + 21 = Wed;
    # vaccine: sow 2 weaned 03-13 + 3 is overdue → Mon; shipments: 10 weaned × 20 % = 2
    assert _cnt(summary, 7) == [3, 1, 0, 1, 1, 2, 12]
    assert (summary["str_1"], summary["str_2"]) == ("03.17", "03.23")
    cal = {subs[("SCHEDULE", "CAL", i)]["code_1"]: _cnt(subs[("SCHEDULE", "CAL", i)], 7)
           for i in range(1, 7)}  # fmt: skip
    assert cal["GB"] == [2, 1, 0, 0, 0, 0, 0]
    assert cal["IMSIN_3W"] == [0, 1, 0, 0, 0, 0, 0] and cal["IMSIN_4W"] == [0] * 7
    assert cal["EU"] == [0, 0, 1, 0, 0, 0, 0] and cal["VACCINE"] == [1, 0, 0, 0, 0, 0, 0]
    gb = [subs[("SCHEDULE", "GB", i)] for i in (1, 2, 3)]
    assert [r["str_3"] for r in gb] == ["010005", "010001", "010006"]
    assert [r["str_4"] for r in gb] == ["5일", "240일", "즉시"]
    assert [float(r["cnt_1"]) for r in gb] == [1, 1, 1]
    vaccine = subs[("SCHEDULE", "VACCINE", 2)]
    assert (vaccine["str_1"], vaccine["str_5"], float(vaccine["cnt_2"])) == ("이유후 백신", "-", 1)
    method = subs[("SCHEDULE", "METHOD", 1)]
    assert [method[f"str_{i}"] for i in range(1, 6)] == ["farm", "farm", "farm", "modon", "modon"]
    assert "20.0%" in subs[("SCHEDULE", "HELP", 1)]["str_5"]
    assert (week["this_gb_sum"], week["this_imsin_sum"], week["this_eu_sum"]) == (3, 1, 1)
    assert (week["this_vaccine_sum"], week["this_ship_sum"], week["this_bm_sum"]) == (1, 2, 0)


def test_next_week_uses_this_weeks_plan(farm_db: FarmDbResource) -> None:
    with farm_db.begin() as conn:
        build(conn)
    _report(farm_db)
    week, subs = _report(farm_db, WEEK.next)
    gb = subs[("GB", "STAT", 1)]
    # planned matings come from the previous report's schedule: 1 gilt, 2 others (by STR_3)
    assert _cnt(gb, 8)[6:] == [1, 2]
    assert gb["hint1"].startswith("(농장 기본값)")
    assert float(subs[("BM", "-", 1)]["cnt_7"]) == 0 and float(subs[("EU", "-", 1)]["cnt_5"]) == 1
    # nothing happened in between: no change per parity row, registered sows unchanged
    assert all(float(subs[("MODON", "-", i)]["cnt_6"]) == 0 for i in range(1, 11))
    assert week["modon_reg_chg"] == 0


def test_farm_without_sows_gets_fixed_rows(farm_db: FarmDbResource) -> None:
    with farm_db.begin() as conn:
        build(conn)
        conn.execute(t.tb_modon_wk.delete())
        conn.execute(t.tb_modon.delete())
    _, subs = _report(farm_db)
    kinds: dict[tuple[str, str], int] = {}
    for gubun, sub_gubun, _ in subs:
        kinds[(gubun, sub_gubun)] = kinds.get((gubun, sub_gubun), 0) + 1
    from inspig_assets.checks import FIXED_ROWS

    for kind, count in FIXED_ROWS.items():
        assert kinds.get(kind, 0) >= count, kind
    assert ("SHIP", "SCATTER") in kinds  # carcasses still graded this week
    assert all(_cnt(subs[("MODON", "-", i)], 6) == [0] * 6 for i in range(1, 11))
