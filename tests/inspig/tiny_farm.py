"""A hand-built farm (no. 900) with a dozen sows whose events give hand-calculable report numbers.

Report week 2025-W11: DT_FROM 2025-03-10 (Mon) .. DT_TO 2025-03-16 (Sun). Year-to-date runs from
2024-12-30 (Monday of ISO week 1 of 2025); "last month" from 2025-02-08. The schedule week is
2025-03-17 .. 2025-03-23. Settings: defaults (gestation 115, lactation 21, ship age 180, first
mating age 240) except return days 5 (farm override); a NULL override of 140002 keeps the default.
"""

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa

from inspig_assets import schema as t
from inspig_assets.model import CONFIG_DEFAULTS, CONFIG_NAMES
from inspig_assets.periods import ReportWeek

FARM = 900
WEEK = ReportWeek.of_monday(dt.date(2025, 3, 10))
ALIVE = dt.date(9999, 12, 31)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


# pig: (birth, in_dt, out_dt, out_gubun, out_reason, status_cd, in_sancha, in_gyobae_cnt)
SOWS: dict[int, tuple[Any, ...]] = {
    1: ("2024-07-01", "2025-01-20", None, None, None, "010001", 0, 0),  # unmated gilt, 258 days
    2: ("2023-05-01", "2023-12-01", None, None, None, "010001", 0, 0),  # weaned in the week
    3: ("2023-05-01", "2023-12-01", None, None, None, "010001", 0, 0),  # re-mated in the week
    4: ("2024-07-10", "2025-01-10", None, None, None, "010001", 0, 0),  # gilt first mated
    5: ("2023-01-01", "2023-08-01", None, None, None, "010001", 0, 0),  # returned to heat
    6: ("2023-01-01", "2023-08-01", None, None, None, "010001", 0, 0),  # overdue farrowing
    7: ("2022-06-01", "2023-01-01", None, None, None, "010001", 0, 0),  # farrowed in the week
    8: ("2024-03-01", "2024-06-01", None, None, None, "010001", 0, 0),  # to be weaned Wed
    9: ("2022-01-01", "2022-08-01", "2025-03-12", "080001", None, "010001", 0, 0),  # culled
    10: ("2022-01-01", "2022-08-01", "2025-02-20", "080002", "031007", "010001", 0, 0),  # died
    11: ("2023-09-01", "2024-03-01", None, None, None, "010001", 0, 0),  # aborted, re-mated
    12: ("2024-08-01", "2025-02-04", None, None, None, "010002", 0, 1),  # legacy gilt rule
}
# pig: [(date, gubun, sancha, gyobae_cnt, sago_cd, daeri)]
WORKS: dict[int, list[tuple[str, str, int, int, str | None, str]]] = {
    2: [("2024-10-28", "G", 1, 1, None, "N"), ("2025-02-20", "B", 2, 0, None, "N"),
        ("2025-03-13", "E", 2, 0, None, "N")],
    3: [("2025-02-13", "B", 1, 0, None, "N"), ("2025-03-06", "E", 1, 0, None, "N"),
        ("2025-03-11", "G", 1, 1, None, "N")],
    4: [("2025-03-12", "G", 0, 1, None, "N")],
    5: [("2025-02-17", "G", 3, 1, None, "N"), ("2025-03-10", "F", 3, 1, "050008", "N")],
    6: [("2024-11-10", "G", 2, 1, None, "N")],
    7: [("2024-11-20", "G", 3, 1, None, "N"), ("2025-03-14", "B", 4, 0, None, "N")],
    8: [("2024-11-03", "G", 0, 1, None, "N"), ("2025-02-26", "B", 1, 0, None, "N")],
    9: [("2025-02-07", "B", 5, 0, None, "N"), ("2025-02-28", "E", 5, 0, None, "N"),
        ("2025-03-12", "Z", 5, 0, None, "N")],
    10: [("2025-01-05", "G", 2, 1, None, "N"), ("2025-02-20", "Z", 2, 0, None, "N")],
    11: [("2025-01-02", "G", 1, 1, None, "N"), ("2025-02-15", "F", 1, 1, "050002", "N"),
         ("2025-02-25", "G", 1, 2, None, "N")],
}  # fmt: skip
BUNMAN = {  # (pig, date): (live, stillborn, mummy)
    (2, "2025-02-20"): (12, 1, 1),
    (3, "2025-02-13"): (10, 0, 0),
    (7, "2025-03-14"): (11, 2, 0),
    (8, "2025-02-26"): (9, 0, 0),
    (9, "2025-02-07"): (10, 0, 0),
}
EU = {  # (pig, date): (piglets, kg)
    (2, "2025-03-13"): (13, 91.0),
    (3, "2025-03-06"): (10, 65.0),
    (9, "2025-02-28"): (10, 70.0),
    (9, "2024-10-04"): (11, 70.0),  # shipped 159 days later: EU_DUSU on 03-12
    (10, "2024-07-20"): (10, 60.0),  # + 159 days = December 2024: the rearing-rate month
    (10, "2024-10-10"): (10, 60.0),  # + 159 days = 2025-03-18: next week's planned shipments
}
MOVES = [  # (pig, sancha, kind, date, litter date, heads)
    (2, 2, "160001", "2025-02-25", "2025-02-20", 1),
    (2, 2, "160003", "2025-02-21", "2025-02-20", 2),
    (7, 4, "160004", "2025-03-15", "2025-03-14", 1),
]
LPD = [  # (date, net kg, backfat, grade, sex)
    ("2025-03-10", 90.4, 20.0, "1+", "암"),
    ("2025-03-10", 85.6, 18.0, "2", "거세"),
    ("2025-03-12", 100.0, 25.0, "1", "수"),
    ("2025-01-15", 80.0, 15.0, "1", "암"),
    ("2024-12-31", 88.0, 19.0, "1", "암"),  # ISO year 2025: year-to-date
    ("2024-12-29", 70.0, 19.0, "2", "암"),  # ISO 2024-W52: not year-to-date, but December
]
PLANS = [  # seq, name, base event, pass days, status, job, overdue
    (1, "이유 예정", "020004", 21, "010003", "150003", "Y"),
    (2, "분만전 백신", "020003", 100, "010002", "150004", "N"),
    (3, "이유후 백신", "020005", 3, "010005", "150004", "Y"),
]


def build(conn: sa.Connection, *, subscribed: bool = True) -> None:
    """Insert farm 900 (and the national auction prices of the week)."""
    t.create_all(conn)
    conn.execute(t.ta_farm.insert(), [{"farm_no": FARM, "farm_nm": "손계산 농장",
                 "principal_nm": "홍길동", "sigun_cd": "41110", "use_yn": "Y"}])  # fmt: skip
    if subscribed:
        conn.execute(t.ts_ins_service.insert(), [{
            "farm_no": FARM, "inspig_reg_dt": "20240101", "inspig_yn": "Y",
            "inspig_from_dt": "20240101", "inspig_to_dt": "20991231", "reg_type": "AUTO",
            "use_yn": "Y", "schedule_group_week": "AM7"}])  # fmt: skip
    conn.execute(t.ta_sys_config.insert(), [{"seq": 1, "ins_schedule_yn": "Y"}])
    conn.execute(t.tc_code_sys.insert(), [
        {"pcode": "14", "code": c, "language_cd": "ko", "code_nm": CONFIG_NAMES[c],
         "cvalue": str(v), "sort_no": i, "use_yn": "Y"}
        for i, (c, v) in enumerate(CONFIG_DEFAULTS.items())])  # fmt: skip
    conn.execute(t.tc_farm_config.insert(), [
        {"farm_no": FARM, "code": "140008", "cvalue": "5", "use_yn": "Y"},
        {"farm_no": FARM, "code": "140002", "cvalue": None, "use_yn": "Y"},
    ])  # fmt: skip
    conn.execute(t.ts_ins_conf.insert(), [{"farm_no": FARM,
                 "week_tw_gy": json.dumps({"method": "farm", "tasks": []})}])  # fmt: skip
    conn.execute(t.tb_plan_modon.insert(), [
        {"farm_no": FARM, "seq": s, "wk_nm": n, "std_cd": std, "pass_day": p,
         "modon_status_cd": st, "job_gubun_cd": job, "use_yn": "Y", "bf_pass_yn": bf}
        for s, n, std, p, st, job, bf in PLANS])  # fmt: skip
    conn.execute(t.tb_modon.insert(), [
        {"farm_no": FARM, "pig_no": pig, "farm_pig_no": f"T{pig}", "birth_dt": d(b),
         "in_dt": d(i), "out_dt": d(o) if o else ALIVE, "out_gubun_cd": og,
         "out_reason_cd": orr, "status_cd": st, "in_sancha": isc, "in_gyobae_cnt": igc,
         "use_yn": "Y"}
        for pig, (b, i, o, og, orr, st, isc, igc) in SOWS.items()])  # fmt: skip
    works, matings, accidents = [], [], []
    for pig, events in WORKS.items():
        for seq, (day, gubun, sancha, gcnt, sago, daeri) in enumerate(events, start=1):
            works.append({"farm_no": FARM, "pig_no": pig, "wk_dt": day.replace("-", ""),
                          "wk_gubun": gubun, "wk_date": d(day), "sancha": sancha,
                          "gyobae_cnt": gcnt, "sago_gubun_cd": sago, "daeri_yn": daeri,
                          "seq": seq, "use_yn": "Y"})  # fmt: skip
            if gubun == "G":
                matings.append({"farm_no": FARM, "pig_no": pig, "wk_dt": day.replace("-", "")})
            if gubun == "F":
                accidents.append({"farm_no": FARM, "pig_no": pig, "wk_dt": day.replace("-", ""),
                                  "sago_gubun_cd": sago})  # fmt: skip
    conn.execute(t.tb_modon_wk.insert(), works)
    conn.execute(t.tb_gyobae.insert(), matings)
    conn.execute(t.tb_sago.insert(), accidents)
    conn.execute(t.tb_bunman.insert(), [
        {"farm_no": FARM, "pig_no": p, "wk_dt": day.replace("-", ""), "silsan": a, "sasan": b,
         "mila": c} for (p, day), (a, b, c) in BUNMAN.items()])  # fmt: skip
    conn.execute(t.tb_eu.insert(), [
        {"farm_no": FARM, "pig_no": p, "wk_dt": day.replace("-", ""), "dusu": n, "dusu_su": 0,
         "total_kg": kg} for (p, day), (n, kg) in EU.items()])  # fmt: skip
    conn.execute(t.tb_modon_jadon_trans.insert(), [
        {"farm_no": FARM, "pig_no": p, "seq": i, "sancha": s, "gubun_cd": k, "wk_dt": d(day),
         "bun_dt": d(bun), "dusu": n, "dusu_su": 0}
        for i, (p, s, k, day, bun, n) in enumerate(MOVES, start=1)])  # fmt: skip
    conn.execute(t.tm_lpd_data.insert(), [
        {"farm_no": FARM, "lpd_seq": i, "dochuk_dt": day, "net_kg": n, "back_depth": b,
         "meat_quality": q, "sex_gubun": s}
        for i, (day, n, b, q, s) in enumerate(LPD, start=1)])  # fmt: skip
    conn.execute(t.tm_etc_trade.insert(), [
        {"farm_no": FARM, "seq": 1, "wk_dt": d("2025-03-11"), "account_cd": "511001",
         "total_price": 500_000, "total_kg": 100, "use_yn": "Y"},
        {"farm_no": FARM, "seq": 2, "wk_dt": d("2025-03-12"), "account_cd": "421001",
         "total_price": 900_000, "total_kg": 100, "use_yn": "Y"},
    ])  # fmt: skip
    conn.execute(t.tm_sisae_detail.insert(), [
        {"abattcd": "057016", "start_dt": "20250310", "grade_cd": "ST", "seq": 1,
         "skin_yn": "Y", "judgesex_cd": None, "auctcnt": 100, "auctamt": 5000},
        {"abattcd": "057016", "start_dt": "20250311", "grade_cd": "ST", "seq": 2,
         "skin_yn": "Y", "judgesex_cd": None, "auctcnt": 300, "auctamt": 6000},
        {"abattcd": "057016", "start_dt": "20250311", "grade_cd": "ST", "seq": 3,
         "skin_yn": "Y", "judgesex_cd": "M", "auctcnt": 999, "auctamt": 1},
        {"abattcd": "057016", "start_dt": "20250311", "grade_cd": "A", "seq": 4,
         "skin_yn": "Y", "judgesex_cd": None, "auctcnt": 999, "auctamt": 1},
    ])  # fmt: skip
