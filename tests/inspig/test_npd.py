"""Non-productive days (034 C002) of a hand-built farm, sow by sow, against the standard definition.

Farm 910, period March 2025 (31 days). NPD are the days a productive sow is neither gestating nor
lactating: from entry or weaning to the service that leads to a farrowing; from a failed service
(return to heat, abortion, negative check) on; from the last event to an exit when not pregnant.
"""

import datetime as dt
from typing import Any

import pytest

from inspig_assets import schema as t
from inspig_assets.model import ALIVE, Sow, Work
from inspig_assets.productivity import StatPeriod, compute_local, non_productive_days
from resources.farm_db import FarmDbResource

FARM = 910
MARCH = StatPeriod.month(dt.date(2025, 3, 1))

# pig: (entry, status at entry, exit or None, events [(day, gubun, accident code)], NPD by hand)
SOWS: dict[str, tuple[Any, ...]] = {
    # entered weaned (parity 2) 01-01, served 03-11, farrows in July: open 03-01..03-10 = 10
    "A": ("2025-01-01", "010005", None, [("2025-03-11", "G", None), ("2025-07-03", "B", None)], 10),
    # weaned 02-20, served 02-26, returned 03-20, served 03-25 (farrows in July): the failed
    # service counts from 02-26 on, so 03-01..03-24 = 24 (the returned days alone would be 5)
    "B": ("2024-06-01", "010001", None, [("2025-02-20", "E", None), ("2025-02-26", "G", None),
          ("2025-03-20", "F", "050008"), ("2025-03-25", "G", None), ("2025-07-17", "B", None)], 24),
    # served 02-10, negative check (open) 03-15, culled 03-25: 03-01..03-24 = 24
    "C": ("2024-06-01", "010001", "2025-03-25", [("2025-02-10", "G", None),
          ("2025-03-15", "F", "050007")], 24),
    # weaned 02-01, served 02-08, culled 03-10 without a farrowing: 03-01..03-09 = 9
    "D": ("2024-06-01", "010001", "2025-03-10", [("2025-02-01", "E", None),
          ("2025-02-08", "G", None)], 9),
    # served 01-05, sold pregnant 03-05 (050006): gestating until she left = 0
    "E": ("2024-06-01", "010001", "2025-03-05", [("2025-01-05", "G", None),
          ("2025-03-05", "F", "050006")], 0),
    # served 2024-12-01, farrowed 03-26: gestating, then lactating = 0
    "F": ("2024-06-01", "010001", None, [("2024-12-01", "G", None), ("2025-03-26", "B", None)], 0),
    # farrowed 02-05, weaned 02-26, culled 03-15: weaned 03-01..03-14 = 14
    "G": ("2024-06-01", "010001", "2025-03-15", [("2025-02-05", "B", None),
          ("2025-02-26", "E", None)], 14),
    # served 01-10, aborted 03-08, served 03-18 (farrows in July): 03-01..03-17 = 17
    "H": ("2024-06-01", "010001", None, [("2025-01-10", "G", None), ("2025-03-08", "F", "050002"),
          ("2025-03-18", "G", None), ("2025-07-10", "B", None)], 17),
    # entered pregnant 02-01, no event yet (outcome pending): gestating = 0
    "I": ("2025-02-01", "010002", None, [], 0),
}  # fmt: skip
PIGS = {name: i for i, name in enumerate(SOWS, start=1)}


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _sow(name: str) -> Sow:
    entry, status, out, events, _ = SOWS[name]
    sow = Sow(PIGS[name], None, _d(entry).toordinal(), None,
              _d(out).toordinal() if out else ALIVE, 1, 1, status, None, None)  # fmt: skip
    sow.works = [
        Work(_d(day).toordinal(), gubun, 1, 1, sago, "N", seq)
        for seq, (day, gubun, sago) in enumerate(events, start=1)
    ]
    return sow


@pytest.mark.parametrize("name", list(SOWS))
def test_each_sows_non_productive_days_of_march(name: str) -> None:
    sow = _sow(name)
    first = max(sow.in_dt, MARCH.first.toordinal())
    last = min(sow.out - 1, MARCH.last.toordinal())
    assert non_productive_days(sow, first, last) == SOWS[name][4]


def test_farm_npd_per_sow_per_year(farm_db: FarmDbResource) -> None:
    with farm_db.begin() as conn:
        conn.execute(t.ta_farm.insert().values(farm_no=FARM, farm_nm="NPD 농장", use_yn="Y"))
        for name, (entry, status, out, events, _) in SOWS.items():
            conn.execute(t.tb_modon.insert().values(
                farm_no=FARM, pig_no=PIGS[name], in_dt=_d(entry), out_dt=_d(out) if out else
                dt.date(9999, 12, 31), status_cd=status, in_sancha=1, in_gyobae_cnt=1,
                use_yn="Y"))  # fmt: skip
            for seq, (day, gubun, sago) in enumerate(events, start=1):
                conn.execute(t.tb_modon_wk.insert().values(
                    farm_no=FARM, pig_no=PIGS[name], wk_dt=day.replace("-", ""), wk_gubun=gubun,
                    wk_date=_d(day), sancha=1, gyobae_cnt=1, sago_gubun_cd=sago, daeri_yn="N",
                    seq=seq, use_yn="Y"))  # fmt: skip
        rows = {r["pcode"]: r for r in compute_local(conn, [FARM], MARCH)}
    # productive sow-days in March: A 31, B 31, C 24, D 9, E 4, F 31, G 14, H 31, I 31 = 206
    assert rows["035"]["c001"] == round(206 / 31, 2)
    # NPD 10 + 24 + 24 + 9 + 0 + 0 + 14 + 17 + 0 = 98 days; per sow and year:
    # 98 × 365 / 31 / (206 / 31) = 98 × 365 / 206 = 173.64 → 173.6 (weaned / returned / aborted
    # days alone give 10 + 5 + 10 + 0 + 0 + 0 + 14 + 10 + 0 = 49 → 86.8)
    assert rows["034"]["c002"] == 173.6
