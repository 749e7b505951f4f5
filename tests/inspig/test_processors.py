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
    # defaults, return days overridden to 5, the NULL gestation override leaves the default
    assert _cnt(row, 5) == [115, 21, 180, 240, 5]
    # rearing window Sep 2024..Feb 2025; only December has weaned piglets (10 weaned 2024-07-20,
    # + 159 days); 2 carcasses graded in December → 2 / 10 = 20.0 %
    assert float(row["val_1"]) == 20.0
    assert (row["str_4"], row["str_5"]) == ("24.09", "25.02")
    assert json.loads(row["str_1"])[-1] == "REARING_RATE"
    assert json.loads(row["str_3"])[6] == 5


def test_alerts(report: tuple) -> None:
    week, subs = report
    # base = DT_TO 03-16; living sows 1..8, 11, 12 (9 left 03-12, 10 on 02-20); columns HUBO,
    # EU_MI, SG_MI, BM_DELAY, EU_DELAY; buckets [0,3] [4,7] [8,14] [15,∞); negatives not counted
    #   HUBO: gilt 1 (no work) born 2024-07-01: 258 days − 240 = 18 → "14~"; sow 12 (no work,
    #     010002 with 0/1 → gilt) born 2024-08-01: 227 − 240 < 0, none
    #   EU_MI: sow 2 last weaned 03-13: (16 − 13) − 5 + 1 = −1, none
    #   SG_MI: sow 5 returned 03-10: 16 − 10 = 6 → "4~7"
    #   BM_DELAY (last work G): sow 6 mated 2024-11-10: 126 − 115 = 11 → "8~14"; sows 3 (03-11),
    #     4 (03-12), 11 (02-25) mated too recently (< 115 days)
    #   EU_DELAY (last work B): sow 7 farrowed 03-14: 2 − 21 < 0; sow 8 02-26: 18 − 21 = −3; none
    assert _cnt(subs[("ALERT", "-", 4)], 5) == [1, 0, 0, 0, 0]  # "14~": gilt 1
    assert _cnt(subs[("ALERT", "-", 2)], 5) == [0, 0, 1, 0, 0]  # "4~7": sow 5
    assert _cnt(subs[("ALERT", "-", 3)], 5) == [0, 0, 0, 1, 0]  # "8~14": sow 6
    assert _cnt(subs[("ALERT", "-", 1)], 5) == [0, 0, 0, 0, 0]  # "~3": nobody
    assert [subs[("ALERT", "-", i)]["code_1"] for i in (1, 2, 3, 4)] == ["~3", "4~7", "8~14", "14~"]
    # column sums: HUBO 1 (gilt 1), SG_MI 1 (sow 5), BM_DELAY 1 (sow 6); EU_MI 0, EU_DELAY 0
    assert (week["alert_hubo"], week["alert_sg_mi"], week["alert_bm_delay"]) == (1, 1, 1)
    assert (week["alert_eu_mi"], week["alert_eu_delay"], week["alert_total"]) == (0, 0, 3)  # 1+1+1


def test_modon_parity_rows(report: tuple) -> None:
    week, subs = report
    rows = {
        subs[("MODON", "-", i)]["code_1"]: _cnt(subs[("MODON", "-", i)], 6) for i in range(1, 11)
    }
    assert len(rows) == 10
    # sows alive on 03-16 (1..8, 11, 12) by (parity, status) of their last work ≤ 03-16; columns
    # gilt, pregnant, lactating, weaned, returned/aborted, change (0: no previous week)
    assert rows["후보돈"] == [2, 0, 0, 0, 0, 0]  # gilt 1 and sow 12 (legacy 010002 + 0/1 rule)
    # gilt 4: G of 03-12 with sancha 0 → parity IN_SANCHA 0, but pregnant, so not 후보돈
    assert rows["0산"] == [0, 1, 0, 0, 0, 0]
    # 3 (G 03-11, sancha 1) and 11 (G 02-25, sancha 1) pregnant, 8 (B 02-26, sancha 1) lactating
    assert rows["1산"] == [0, 2, 1, 0, 0, 0]
    assert rows["2산"] == [0, 1, 0, 1, 0, 0]  # 6 pregnant (G 2024-11-10), 2 weaned (E 03-13)
    assert rows["3산"] == [0, 0, 0, 0, 1, 0]  # 5 returned (F 050008 on 03-10)
    assert rows["4산"] == [0, 0, 1, 0, 0, 0]  # 7 lactating (B 03-14)
    assert rows["8산↑"] == [0] * 6
    # 10 living − 2 in 후보돈 = 8 (sows 2, 3, 4, 5, 6, 7, 8, 11); culled 9 and dead 10 left
    # before 03-16; no previous report → change None; no TS_PRODUCTIVITY 035 row → sangsi None
    assert week["modon_reg_cnt"] == 8
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
    # weanings 03-10..03-16: sow 2 on 03-13 only (sow 3's 03-06 and sow 9's 02-28 are earlier)
    #   cnt_1 1; cnt_2 13 piglets (TB_EU); cnt_3 12 live born in its parity-2 litter of 02-20
    #   cnt_4 03-13 − 02-20 = 21 lactation days
    #   cnt_5 1 planned (no earlier report: weaning is modon-all, plan 1 "이유 예정" = farrowing
    #     + 21 for 010003 sows as of 03-09): sow 2 02-20 + 21 = 03-13; sow 8 02-26 + 21 = 03-19 is
    #     after the week; sow 7 was still pregnant on 03-09
    #   cnt_6..9 moves of parity 2 from 02-20 to DT_TO (no work after the weaning): 1 died 02-25
    #     (160001), 0 partial weans, 2 fostered in 02-21 (160003), 0 fostered out
    assert _cnt(row, 9) == [1, 13, 12, 21, 1, 1, 0, 2, 0]
    # val_1 13 / 1 = 13.0; val_2 91.0 kg / 13 = 7.0; val_3 survival 13 / 12 = 108.3 %;
    # val_4 21 / 1 = 21.0 days; val_5 nursing start 12 live − 1 died + 2 in − 0 out = 13
    assert _val(row, 5) == [13.0, 7.0, 108.3, 21.0, 13.0]
    assert row["str_1"] == "14"  # total born of the 02-20 litter: 12 + 1 stillborn + 1 mummy
    # year-to-date weanings (2024-12-30 .. 03-16): sows 2 (03-13, 13), 3 (03-06, 10),
    # 9 (02-28, 10) → 3 weanings, 33 piglets, 33 / 3 = 11.0 a weaning; this week 13.0 − 11.0 = +2.0
    assert (week["last_eu_sum_cnt"], week["last_eu_sum_jd"]) == (3, 33)
    assert float(week["last_eu_sum_avg_jd"]) == 11.0 and float(week["last_eu_chg_jd"]) == 2.0
    assert float(week["last_eu_avg_kg"]) == 7.0  # 91.0 / 13


def test_accidents(report: tuple) -> None:
    week, subs = report
    # TB_SAGO: sow 5 050008 (return) on 03-10, sow 11 050002 (abortion) on 02-15; code order
    # 050008, 050009, 050007, 050002, …; days since the last mating before the accident (GYUNGIL):
    # sow 5 03-10 − 02-17 = 21, sow 11 02-15 − 01-02 = 44
    # week 03-10..03-16: sow 5 only → 1 of 1 = 100 %, average GYUNGIL 21
    assert _cnt(subs[("SG", "STAT", 1)], 8) == [1, 0, 0, 0, 0, 0, 0, 0]
    assert _val(subs[("SG", "STAT", 1)], 9)[0] == 100.0
    assert float(subs[("SG", "STAT", 1)]["val_9"]) == 21.0
    # last month 02-08..03-16: sows 5 (050008) and 11 (050002); cnt_9 year-to-date (2024-12-30 ..)
    # the same 2; 1 / 2 = 50 % each; val_9 year-to-date GYUNGIL (21 + 44) / 2 = 32.5
    assert _cnt(subs[("SG", "STAT", 2)], 9) == [1, 0, 0, 1, 0, 0, 0, 0, 2]
    assert _val(subs[("SG", "STAT", 2)], 4) == [50.0, 0.0, 0.0, 50.0]
    assert float(subs[("SG", "STAT", 2)]["val_9"]) == 32.5
    # week GYUNGIL buckets ≤7, 8–10, 11–15, 16–20, 21–35, …: sow 5's 21 days → 5th
    assert _cnt(subs[("SG", "CHART", 1)], 8) == [0, 0, 0, 0, 1, 0, 0, 0]
    assert (week["last_sg_cnt"], week["last_sg_sum"]) == (1, 2)  # week 1 (5), year 2 (5, 11)


def test_culling(report: tuple) -> None:
    week, subs = report
    # sows out: 9 culled (080001, no reason → 031001) on 03-12, 10 died (080002, 031007) on 02-20
    # week 03-10..03-16: sow 9 → one cull (columns 080001..080004)
    assert _cnt(subs[("DOPE", "STAT", 1)], 4) == [1, 0, 0, 0]
    # last month 02-08..03-16: 9 (cull) and 10 (death); cnt_5 year-to-date (2024-12-30 ..) 2;
    # 1 / 2 = 50 % each
    assert _cnt(subs[("DOPE", "STAT", 2)], 5) == [1, 1, 0, 0, 2]
    assert _val(subs[("DOPE", "STAT", 2)], 2) == [50.0, 50.0]
    listing = subs[("DOPE", "LIST", 1)]
    # reasons over last month: 031007 (sow 10) 1, 031001 (sow 9) 1; "other" (null reason) goes
    # last whatever its count; cnt = week counts (031007 0, 031001 1: sow 9), val = month counts
    assert (listing["str_1"], listing["str_2"]) == ("031007", "031001")
    assert _cnt(listing, 2) == [0, 1] and _val(listing, 2) == [1, 1]
    # statuses 010001..010007 of the week's exits: sow 9's last work on or before 03-12 (Z aside)
    # is the weaning of 02-28 → 010005, the 5th
    assert _cnt(subs[("DOPE", "CHART", 1)], 7) == [0, 0, 0, 0, 1, 0, 0]
    assert (week["last_cl_cnt"], week["last_cl_sum"]) == (1, 2)  # week: sow 9; year: 9 and 10


def test_shipment(report: tuple) -> None:
    week, subs = report
    stat = subs[("SHIP", "STAT", 1)]
    # carcasses of 03-10..03-16: 03-10 90.4 kg 20 mm "1+" 암, 03-10 85.6 kg 18 mm "2" 거세,
    # 03-12 100.0 kg 25 mm "1" 수 → 3 head; year-to-date (2024-12-30 ..) adds 01-15 and 2024-12-31
    # → 5; grade 1+ or 1: 2; ship age 180, lactation 21, 180 − 21 = 159 days from wean to ship
    assert _cnt(stat, 6) == [3, 5, 2, 180, 21, 159]
    # grade 1+ and 1: 2 / 3 = 66.7 %; (90.4 + 85.6 + 100.0) = 276 kg / 3 = 92.0;
    # backfat (20 + 18 + 25) = 63 / 3 = 21.0; farm price 500,000 / 100 kg = 5,000 (the 421001
    # trade of 03-12 is not a 511 account); national: (100 × 5,000 + 300 × 6,000) / (100 + 300)
    # = 2,300,000 / 400 = 5,750 (the sex-M and grade-A rows excluded)
    assert _val(stat, 5) == [66.7, 92.0, 21.0, 5000.0, 5750.0]
    # wean dates of the week's shipments: 03-10 − 159 = 2024-10-02, 03-16 − 159 = 2024-10-08
    assert (stat["str_1"], stat["str_2"]) == ("24.10.02", "24.10.08")
    rows = {r["code_1"]: r for k, r in subs.items() if k[:2] == ("SHIP", "ROW")}
    assert len(rows) == 13
    # Mon 03-10: 2, Wed 03-12: 1, other days none (NULL)
    assert _cnt(rows["BUT_CNT"], 7) == [2, None, 1, None, None, None, None]
    # sum 2 + 1 = 3; 3 / 3 = 100 % of the head shipped; mean of the 2 days with shipments 1.5
    assert _val(rows["BUT_CNT"], 3) == [3.0, 100.0, 1.5]
    # piglets weaned 159 days before each day (2024-10-02 .. 10-08): only sow 9's 11 of
    # 2024-10-04 = 03-12 − 159 (sow 10's 10-10 is + 159 = 03-18, next week)
    assert _cnt(rows["EU_DUSU"], 7) == [0, 0, 11, 0, 0, 0, 0]
    assert float(rows["EU_RATIO"]["val_3"]) == 27.3  # 3 shipped / 11 weaned = 27.27 %
    # grade 1+ or 1 per day: Mon 1 ("1+") of 2 = 50 %, Tue none, Wed 1 ("1") of 1 = 100 %
    assert _cnt(rows["ONE_RATIO"], 3) == [50.0, None, 100.0]
    assert float(rows["MALE"]["val_1"]) == 2  # castrate 거세 (Mon) + boar 수 (Wed)
    assert float(rows["AVG_NET"]["val_3"]) == 92.0  # 276 kg / 3
    chart = subs[("SHIP", "CHART", 1)]
    # Monday 03.10: 2 head, (90.4 + 85.6) / 2 = 88.0 kg; Tuesday: nothing graded → NULL
    assert (chart["str_1"], float(chart["cnt_1"]), float(chart["val_1"])) == ("03.10", 2, 88.0)
    assert subs[("SHIP", "CHART", 2)]["cnt_1"] is None
    points = json.loads(subs[("SHIP", "SCATTER", 1)]["json_data"])
    # (round kg, round mm) of each carcass, sorted: 85.6 → 86 / 18, 90.4 → 90 / 20, 100 / 25
    assert points == [{"x": 86, "y": 18, "cnt": 1}, {"x": 90, "y": 20, "cnt": 1},
                      {"x": 100, "y": 25, "cnt": 1}]  # fmt: skip
    # year-to-date from 2024-12-30 (ISO week 1): 2024-12-31 counts, 2024-12-29 does not
    # → 3 this week + 01-15 + 2024-12-31 = 5; (276 + 80 + 88) = 444 kg / 5 = 88.8
    assert (week["last_sh_cnt"], week["last_sh_sum"]) == (3, 5)
    assert float(week["last_sh_avg_sum"]) == 88.8


def test_schedule(report: tuple) -> None:
    week, subs = report
    summary = subs[("SCHEDULE", "-", 1)]
    # this week Mon 03-17 .. Sun 03-23, the herd as of 03-16 (living: 1..8, 11, 12); a due date
    # before Monday counts on Monday, one after Sunday is not planned
    # cnt_1 matings (farm method, TS_INS_CONF): gilt 1 born 2024-07-01 + 240 = 02-26, overdue →
    #   Mon; sow 5 returned 03-10 + 1 = 03-11, overdue → Mon; sow 2 weaned 03-13 + 5 = 03-18 Tue;
    #   gilt 12 2024-08-01 + 240 = 03-29 is after Sunday → 3
    # cnt_2 pregnancy checks (farm): last work G + 21 / + 28 on a day of the week: sow 11 02-25
    #   + 21 = 03-18 Tue (+ 28 = 03-25 is after); sows 3 (03-11), 4 (03-12), 6 (2024-11-10) fall
    #   outside → 1
    # cnt_3 farrowings (farm): matings in [03-17 − 115, 03-23 − 115] = [2024-11-22, 11-28]: none
    # cnt_4 weanings (modon-all, plan 1 = farrowing + 21 for 010003 sows): sow 8 02-26 + 21 =
    #   03-19 Wed; sow 7 03-14 + 21 = 04-04 is after → 1
    # cnt_5 vaccines (modon-all): plan 2 "분만전 백신" mating + 100 for 010002 sows: 6's
    #   2024-11-10 + 100 = 02-18 is overdue but BF_PASS_YN = N, 3, 4, 11 land in June; plan 3
    #   "이유후 백신" weaning + 3 for 010005 sows: sow 2 03-13 + 3 = 03-16, overdue (Y) → Mon → 1
    # cnt_6 shipments: weaned in [03-17 − 159, 03-23 − 159] = [2024-10-09, 10-15]: sow 10's 10 of
    #   10-10 × rearing rate 20.0 % = 2
    # cnt_7 ISO week of Monday 03-17 = 12
    assert _cnt(summary, 7) == [3, 1, 0, 1, 1, 2, 12]
    assert (summary["str_1"], summary["str_2"]) == ("03.17", "03.23")
    cal = {subs[("SCHEDULE", "CAL", i)]["code_1"]: _cnt(subs[("SCHEDULE", "CAL", i)], 7)
           for i in range(1, 7)}  # fmt: skip
    assert cal["GB"] == [2, 1, 0, 0, 0, 0, 0]  # Mon: gilt 1, sow 5; Tue: sow 2
    assert cal["IMSIN_3W"] == [0, 1, 0, 0, 0, 0, 0] and cal["IMSIN_4W"] == [0] * 7  # Tue: sow 11
    # weaning Wed: sow 8; vaccine Mon: sow 2 (overdue)
    assert cal["EU"] == [0, 0, 1, 0, 0, 0, 0] and cal["VACCINE"] == [1, 0, 0, 0, 0, 0, 0]
    # farm-mode mating popup: weaned (sow 2), gilts (gilt 1), accident/return (sow 5), one each
    gb = [subs[("SCHEDULE", "GB", i)] for i in (1, 2, 3)]
    assert [r["str_3"] for r in gb] == ["010005", "010001", "010006"]
    assert [r["str_4"] for r in gb] == ["5일", "240일", "즉시"]  # return 5, first age 240
    assert [float(r["cnt_1"]) for r in gb] == [1, 1, 1]
    # popups by WK_NM: 1 "분만전 백신" (0), 2 "이유후 백신": sow 2, no article, Monday (overdue) 1
    vaccine = subs[("SCHEDULE", "VACCINE", 2)]
    assert (vaccine["str_1"], vaccine["str_5"], float(vaccine["cnt_2"])) == ("이유후 백신", "-", 1)
    # mating farm (TS_INS_CONF); farrowing and pregnancy farm, weaning and vaccine modon (defaults)
    method = subs[("SCHEDULE", "METHOD", 1)]
    assert [method[f"str_{i}"] for i in range(1, 6)] == ["farm", "farm", "farm", "modon", "modon"]
    assert "20.0%" in subs[("SCHEDULE", "HELP", 1)]["str_5"]  # the CONFIG rearing rate
    # the summary's counts: matings 3, checks 1, weanings 1, vaccines 1, shipments 2, farrowings 0
    assert (week["this_gb_sum"], week["this_imsin_sum"], week["this_eu_sum"]) == (3, 1, 1)
    assert (week["this_vaccine_sum"], week["this_ship_sum"], week["this_bm_sum"]) == (1, 2, 0)


def test_next_week_uses_this_weeks_plan(farm_db: FarmDbResource) -> None:
    with farm_db.begin() as conn:
        build(conn)
    _report(farm_db)
    week, subs = _report(farm_db, WEEK.next)
    gb = subs[("GB", "STAT", 1)]
    # planned matings come from the previous report's schedule: 1 gilt, 2 others (by STR_3)
    # (W11's SCHEDULE/GB rows: 010001 gilt 1; 010005 sow 2 + 010006 sow 5 = 2)
    assert _cnt(gb, 8)[6:] == [1, 2]
    assert gb["hint1"].startswith("(농장 기본값)")
    # W11's schedule planned 0 farrowings (SCHEDULE cnt_3) and 1 weaning (cnt_4, sow 8)
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
