"""Deterministic sample PigPlan farms for local mode, tests and the benchmark.

Sows live realistic cycles: a gilt enters at about 200 days, is first mated at about 240, carries
about 115 days, nurses about 21 (piglet deaths and fostering recorded), returns to heat in 4–7 days;
some matings end in a return to heat, an abortion or another accident; sows are culled, die, are
sold or transferred, and are replaced by gilts. Carcasses are graded about 160 days after weaning.
The same (farm numbers, `until`, sow count, history) always gives the same rows.
"""

import datetime as dt
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa

from inspig_assets import schema as t
from inspig_assets.model import CONFIG_DEFAULTS, CONFIG_NAMES
from inspig_assets.options import TEST_FARMS
from inspig_assets.periods import ymd
from resources.kst import today_kst

ALIVE = dt.date(9999, 12, 31)
CULL_REASONS = ("031002", "031003", "031004", "031005", "031006", None)
PLAN_ROWS = (
    # seq, name, base event, pass days, sow status, job, overdue too
    (1, "이유후 교배", "020005", 5, "010005", "150005", "Y"),
    (2, "후보돈 교배", "020002", 40, "010001", "150005", "Y"),
    (3, "재발돈 교배", "020007", 1, "010006", "150005", "Y"),
    (4, "분만 예정", "020003", 114, "010002", "150002", "N"),
    (5, "이유 예정", "020004", 21, "010003", "150003", "Y"),
    (6, "임신 확인", "020003", 25, "010002", "150001", "N"),
    (7, "분만전 대장균 백신", "020003", 100, "010002", "150004", "N"),
    (8, "이유후 파보 백신", "020005", 3, "010005", "150004", "N"),
)


def sample_farm_numbers(count: int) -> list[int]:
    """The five test farms first, then 10001, 10002, …."""
    base = list(TEST_FARMS[: max(0, count)])
    return base + [10001 + i for i in range(max(0, count - len(base)))]


@dataclass
class _Tables:
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, table: str, **values: Any) -> None:
        self.rows.setdefault(table, []).append(values)


@dataclass
class SampleSpec:
    """What to generate."""

    farms: int = 50
    sows_per_farm: int = 100
    history_days: int = 730
    until: dt.date = field(default_factory=today_kst)
    seed: int = 20260101


def _simulate_farm(farm_no: int, spec: SampleSpec, out: _Tables, empty: bool) -> None:
    rng = random.Random(spec.seed * 100_003 + farm_no)
    start = spec.until - dt.timedelta(days=spec.history_days)
    config = dict(CONFIG_DEFAULTS)
    if rng.random() < 0.25:
        config["140003"] = rng.choice((24, 25, 28))
        out.add("tc_farm_config", farm_no=farm_no, code="140003", cvalue=str(config["140003"]))
    if rng.random() < 0.2:
        config["140008"] = rng.choice((5, 6, 8))
        out.add("tc_farm_config", farm_no=farm_no, code="140008", cvalue=str(config["140008"]))
    if rng.random() < 0.15:
        config["140005"] = rng.choice((175, 185))
        out.add("tc_farm_config", farm_no=farm_no, code="140005", cvalue=str(config["140005"]))
    if rng.random() < 0.05:  # an override left empty (NULL): the default applies
        out.add("tc_farm_config", farm_no=farm_no, code="140002", cvalue=None)
    if empty:
        return
    eu_days = config["140005"] - config["140003"]
    herd = max(1, round(spec.sows_per_farm * rng.uniform(0.85, 1.15)))
    pig_no = 0

    def new_sow(entry: dt.date, parity_at_entry: int = 0) -> None:
        nonlocal pig_no
        pig_no += 1
        pig = pig_no
        birth = entry - dt.timedelta(days=rng.randint(190, 220))
        seq = 0
        events: list[tuple[dt.date, str, int, int, str | None, str]] = []
        day = entry
        parity = parity_at_entry
        status_at_entry = "010001" if parity == 0 else "010005"
        out_dt, out_gubun, out_reason = ALIVE, None, None
        # first mating: gilts at ~240 days of age, purchased sows a few days after entry
        if parity == 0:
            first_age = dt.timedelta(
                days=rng.randint(232, 252)
                + (
                    rng.randint(10, 40) if rng.random() < 0.15 else 0  # a late first heat
                )
            )
            day = max(entry + dt.timedelta(days=10), birth + first_age)
        else:
            day = entry + dt.timedelta(days=rng.randint(3, 8))
        events.append((entry, "A", parity, 0, None, "N"))
        gyobae = 0
        while day <= spec.until and out_dt == ALIVE:
            gyobae += 1
            events.append((day, "G", parity, gyobae, None, "N"))
            r = rng.random()
            if r < 0.07:  # return to heat
                day += dt.timedelta(days=rng.randint(18, 25))
                if day > spec.until:
                    break
                events.append((day, "F", parity, gyobae, "050008", "N"))
                day += dt.timedelta(days=1)
                continue
            if r < 0.10:  # abortion or another accident
                code = rng.choice(("050002", "050007", "050009", "050002"))
                day += dt.timedelta(days=rng.randint(28, 90))
                if day > spec.until:
                    break
                events.append((day, "F", parity, gyobae, code, "N"))
                if code == "050009" or rng.random() < 0.3:
                    out_dt = day + dt.timedelta(days=rng.randint(1, 10))
                    out_gubun, out_reason = "080001", rng.choice(CULL_REASONS)
                    break
                day += dt.timedelta(days=rng.randint(5, 12))
                continue
            if r < 0.105:  # dies while pregnant
                out_dt = day + dt.timedelta(days=rng.randint(10, 100))
                out_gubun, out_reason = "080002", rng.choice(("031007", "031008", None))
                break
            farrow = day + dt.timedelta(days=config["140002"] + rng.randint(-2, 2))
            if farrow > spec.until:
                break
            parity += 1
            gyobae = 0
            live = max(3, round(rng.gauss(11.5, 2.5)))
            still = max(0, round(rng.gauss(0.8, 0.9)))
            mummy = 1 if rng.random() < 0.25 else 0
            events.append((farrow, "B", parity, 0, None, "N"))
            out.add(
                "tb_bunman", farm_no=farm_no, pig_no=pig, wk_dt=ymd(farrow), silsan=live,
                sasan=still, mila=mummy, saengsi_kg=round(live * rng.uniform(1.3, 1.6), 2),
            )  # fmt: skip
            wean = farrow + dt.timedelta(days=config["140003"] + rng.randint(-3, 3))
            nursing = live
            move_seq = len(out.rows.get("_moves", []))
            deaths = sum(1 for _ in range(live) if rng.random() < 0.08)
            for _ in range(deaths):
                d = farrow + dt.timedelta(days=rng.randint(1, 10))
                if d <= spec.until:
                    out.add("_moves", farm_no=farm_no, pig_no=pig, sancha=parity,
                            gubun_cd="160001", wk_dt=d, bun_dt=farrow, dusu=1)  # fmt: skip
                    nursing -= 1
            if rng.random() < 0.3:
                heads = rng.randint(1, 2)
                kind = "160003" if rng.random() < 0.5 else "160004"
                d = farrow + dt.timedelta(days=rng.randint(1, 3))
                if d <= spec.until:
                    out.add("_moves", farm_no=farm_no, pig_no=pig, sancha=parity,
                            gubun_cd=kind, wk_dt=d, bun_dt=farrow, dusu=heads)  # fmt: skip
                    nursing += heads if kind == "160003" else -heads
            del move_seq
            if wean > spec.until:
                break
            surrogate = rng.random() < 0.03
            events.append((wean, "E", parity, 0, None, "Y" if surrogate else "N"))
            weaned = max(0, nursing)
            out.add(
                "tb_eu", farm_no=farm_no, pig_no=pig, wk_dt=ymd(wean), dusu=weaned, dusu_su=0,
                ilryung=(wean - farrow).days, total_kg=round(weaned * rng.uniform(6.0, 7.5), 2),
                daeri_yn="Y" if surrogate else "N",
            )  # fmt: skip
            ship_day = wean + dt.timedelta(days=eu_days)
            for _ in range(round(weaned * rng.uniform(0.8, 0.95))):
                d = ship_day + dt.timedelta(days=rng.randint(-8, 8))
                if start <= d <= spec.until:
                    q = rng.random()
                    grade = "1+" if q < 0.33 else "1" if q < 0.68 else "2" if q < 0.95 else "등외"
                    s = rng.random()
                    sex = "암" if s < 0.48 else "거세" if s < 0.96 else "수" if s < 0.98 else "기타"
                    out.add(
                        "tm_lpd_data", farm_no=farm_no, dochuk_dt=d.isoformat(),
                        net_kg=round(rng.gauss(89, 6), 1), back_depth=round(rng.gauss(21, 3), 1),
                        meat_quality=grade, sex_gubun=sex,
                    )  # fmt: skip
            cull_p = 0.05 + 0.04 * max(0, parity - 5)
            if rng.random() < cull_p:
                out_dt = wean + dt.timedelta(days=rng.randint(1, 12))
                out_gubun = rng.choice(("080001", "080001", "080001", "080004", "080003"))
                out_reason = rng.choice(CULL_REASONS)
                break
            rest = config["140008"] + rng.randint(-3, 0) + (14 if surrogate else 0)
            if rng.random() < 0.08:  # a sow slow to return to heat
                rest += rng.randint(5, 25)
            day = wean + dt.timedelta(days=rest)
        if out_dt != ALIVE and out_dt > spec.until:
            out_dt, out_gubun, out_reason = ALIVE, None, None
        if out_dt != ALIVE:
            events.append((out_dt, "Z", parity, 0, None, "N"))
        last_work = max((e[0] for e in events if e[1] in "GBEF"), default=None)
        out.add(
            "tb_modon", farm_no=farm_no, pig_no=pig, farm_pig_no=f"{farm_no % 1000:03d}-{pig:05d}",
            birth_dt=birth, in_dt=entry, last_wk_dt=last_work, out_dt=out_dt,
            in_sancha=parity_at_entry, in_gyobae_cnt=0, status_cd=status_at_entry,
            out_gubun_cd=out_gubun, out_reason_cd=out_reason,
        )  # fmt: skip
        seen: set[tuple[dt.date, str]] = set()
        for day_, gubun, sancha, gcnt, sago, daeri in sorted(events, key=lambda e: e[0]):
            if (day_, gubun) in seen:
                continue
            seen.add((day_, gubun))
            seq += 1
            out.add(
                "tb_modon_wk", farm_no=farm_no, pig_no=pig, wk_dt=ymd(day_), wk_gubun=gubun,
                wk_date=day_, sancha=sancha, gyobae_cnt=gcnt, sago_gubun_cd=sago, daeri_yn=daeri,
                seq=seq,
            )  # fmt: skip
            if gubun == "G":
                out.add("tb_gyobae", farm_no=farm_no, pig_no=pig, wk_dt=ymd(day_), method_1="AI")
            elif gubun == "F":
                out.add("tb_sago", farm_no=farm_no, pig_no=pig, wk_dt=ymd(day_),
                        sago_gubun_cd=sago)  # fmt: skip
        if out_dt != ALIVE:
            new_sow(out_dt + dt.timedelta(days=rng.randint(0, 21)))

    for _ in range(herd):
        # the founding herd entered at staggered dates over the year before the history starts
        entry = start - dt.timedelta(days=rng.randint(0, 365))
        new_sow(entry, parity_at_entry=0 if rng.random() < 0.9 else rng.randint(1, 4))
    if rng.random() < 0.05:  # a sow without any work, registered as mated (legacy gilt rule)
        pig_no += 1
        out.add(
            "tb_modon", farm_no=farm_no, pig_no=pig_no, farm_pig_no=f"X{pig_no}",
            birth_dt=spec.until - dt.timedelta(days=260), in_dt=spec.until - dt.timedelta(days=40),
            last_wk_dt=None, out_dt=ALIVE, in_sancha=0, in_gyobae_cnt=1, status_cd="010002",
        )  # fmt: skip
    week = spec.until - dt.timedelta(days=spec.history_days)
    seq = 0
    while week <= spec.until:
        for _ in range(rng.randint(1, 3)):
            seq += 1
            kg = round(rng.uniform(2000, 9000), 1)
            out.add(
                "tm_etc_trade", farm_no=farm_no, seq=seq,
                wk_dt=week + dt.timedelta(rng.randint(0, 6)),
                account_cd=rng.choice(("511001", "511002", "421001")),
                total_price=round(kg * rng.uniform(4300, 5600)), total_kg=kg,
            )  # fmt: skip
        week += dt.timedelta(days=7)


def generate(spec: SampleSpec) -> dict[str, pd.DataFrame]:
    """Every sample table as a frame, keyed by table name."""
    out = _Tables()
    farms = sample_farm_numbers(spec.farms)
    rng = random.Random(spec.seed)
    for i, farm_no in enumerate(farms):
        group = "PM2" if i % 3 == 2 else ("AM7" if i % 5 else None)
        out.add(
            "ta_farm", farm_no=farm_no, farm_nm=f"샘플농장 {farm_no}", principal_nm=f"대표 {i + 1}",
            sigun_cd=rng.choice(("41110", "43111", "44131", "47111", "48121")), country_code="KOR",
            use_yn="Y", test_yn="N", map_x_n=round(rng.uniform(126.5, 129.0), 6),
            map_y_n=round(rng.uniform(34.8, 37.8), 6),
        )  # fmt: skip
        # every farm has an approved member but one in 17, whose member still awaits approval
        ok_cd = "991001" if i % 17 == 16 else t.MEMBER_APPROVED
        out.add("ta_member", member_id=f"user{farm_no}", farm_no=farm_no, user_ok_cd=ok_cd)
        reg_type = "MANUAL" if i % 23 == 22 else "AUTO"
        to_dt = "20991231" if i % 29 != 28 else ymd(spec.until - dt.timedelta(days=400))
        reg = spec.until - dt.timedelta(days=spec.history_days + 30)
        if i % 7 == 6:  # an older, expired subscription row before the current one
            out.add(
                "ts_ins_service", farm_no=farm_no, inspig_reg_dt=ymd(reg - dt.timedelta(days=900)),
                inspig_yn="Y", inspig_from_dt=ymd(reg - dt.timedelta(days=900)),
                inspig_to_dt=ymd(reg - dt.timedelta(days=1)), reg_type="AUTO", use_yn="Y",
                schedule_group_week="PM2" if group != "PM2" else "AM7",
            )  # fmt: skip
        out.add(
            "ts_ins_service", farm_no=farm_no, inspig_reg_dt=ymd(reg), inspig_yn="Y",
            inspig_from_dt=ymd(reg), inspig_to_dt=to_dt, reg_type=reg_type, use_yn="Y",
            web_pay_yn="Y", schedule_group_week=group,
        )  # fmt: skip
        for seq, name, std, days, status, job, bf in PLAN_ROWS:
            out.add(
                "tb_plan_modon", farm_no=farm_no, seq=seq, wk_nm=name, std_cd=std, pass_day=days,
                modon_status_cd=status, job_gubun_cd=job, use_yn="Y", bf_pass_yn=bf,
            )  # fmt: skip
        kind = i % 4
        if kind == 1:  # farm-default mating, modon weaning with one task
            out.add(
                "ts_ins_conf", farm_no=farm_no,
                week_tw_gy=json.dumps({"method": "farm", "tasks": []}),
                week_tw_eu=json.dumps({"method": "modon", "tasks": [5]}),
            )  # fmt: skip
        elif kind == 2:  # modon everywhere with selected tasks; pregnancy check by setting
            out.add(
                "ts_ins_conf", farm_no=farm_no,
                week_tw_gy=json.dumps({"method": "modon", "tasks": [1, 2, 3]}),
                week_tw_bm=json.dumps({"method": "modon", "tasks": [4]}),
                week_tw_im=json.dumps({"method": "modon", "tasks": [6]}),
                week_tw_vc=json.dumps({"method": "modon", "tasks": [7, 8]}),
            )  # fmt: skip
        elif kind == 3:  # modon without a selected task: nothing planned
            out.add(
                "ts_ins_conf", farm_no=farm_no,
                week_tw_eu=json.dumps({"method": "modon", "tasks": []}),
            )  # fmt: skip
        _simulate_farm(farm_no, spec, out, empty=(i == len(farms) - 1 and len(farms) > 5))
    for code, default in CONFIG_DEFAULTS.items():
        out.add(
            "tc_code_sys", pcode="14", code=code, language_cd="ko", code_nm=CONFIG_NAMES[code],
            cvalue=str(default), sort_no=int(code[-2:]), use_yn="Y",
        )  # fmt: skip
    out.add("ta_sys_config", seq=1, ins_schedule_yn="Y")
    day = spec.until - dt.timedelta(days=spec.history_days)
    seq = 0
    while day <= spec.until:
        if day.weekday() < 5:
            seq += 1
            out.add(
                "tm_sisae_detail", abattcd="057016", start_dt=ymd(day), grade_cd="ST", seq=seq,
                skin_yn="Y", judgesex_cd=None, auctcnt=rng.randint(300, 900),
                auctamt=rng.randint(4800, 6200),
            )  # fmt: skip
        day += dt.timedelta(days=1)
    frames = {name: pd.DataFrame.from_records(rows) for name, rows in out.rows.items()}
    # Keep `history_days` of history: the founding herd's earlier events are not recorded.
    first = spec.until - dt.timedelta(days=spec.history_days)
    for name in ("tb_modon_wk", "tb_bunman", "tb_eu", "tb_gyobae", "tb_sago"):
        frames[name] = frames[name][frames[name]["wk_dt"] >= ymd(first)].reset_index(drop=True)
    frames["_moves"] = frames["_moves"][frames["_moves"]["wk_dt"] >= first]
    modon = frames["tb_modon"]
    frames["tb_modon"] = modon[modon["out_dt"] >= first].reset_index(drop=True)
    moves = frames.pop("_moves", None)
    if moves is not None:
        moves["seq"] = moves.groupby(["farm_no", "pig_no"]).cumcount() + 1
        moves["dusu_su"] = 0
        frames["tb_modon_jadon_trans"] = moves
    lpd = frames.get("tm_lpd_data")
    if lpd is not None:
        lpd["lpd_seq"] = lpd.groupby("farm_no").cumcount() + 1
    return frames


Inserter = Callable[[sa.Connection, sa.Table, Any], int]


def load_sample(conn: sa.Connection, spec: SampleSpec, inserter: Inserter) -> dict[str, int]:
    """Generate the sample and bulk-insert it; returns rows per table."""
    counts = {}
    for name, frame in generate(spec).items():
        counts[name] = inserter(conn, t.metadata.tables[name], frame)
    return counts


def ensure_sample(
    engine: sa.Engine, spec: SampleSpec, inserter: Inserter, log: Callable[[str], None] = print
) -> bool:
    """Create the tables and, when TA_FARM is empty, the sample farms (PostgreSQL only).

    A transaction-level advisory lock makes concurrent runs (AM7, PM2, productivity) wait for one
    generator instead of racing. Returns True when data was generated.
    """
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(80020250)"))
        t.create_all(conn)
        if conn.execute(sa.select(sa.func.count()).select_from(t.ta_farm)).scalar():
            _add_members(conn)
            return False
        counts = load_sample(conn, spec, inserter)
    log(f"generated sample PigPlan data: {spec.farms} farms, " + ", ".join(
        f"{k}={v}" for k, v in sorted(counts.items())))  # fmt: skip
    return True


def _add_members(conn: sa.Connection) -> None:
    """A sample made before TA_MEMBER existed: one approved member per farm."""
    if conn.execute(sa.select(sa.func.count()).select_from(t.ta_member)).scalar():
        return
    f = t.ta_farm
    conn.execute(
        t.ta_member.insert().from_select(
            ["member_id", "farm_no", "user_ok_cd"],
            sa.select(
                sa.literal("user") + sa.cast(f.c.farm_no, sa.String),
                f.c.farm_no,
                sa.literal(t.MEMBER_APPROVED),
            ),
        )
    )


def farm_numbers_in(conn: sa.Connection) -> Sequence[int]:
    """Farm numbers present in TA_FARM."""
    query = sa.select(t.ta_farm.c.farm_no).order_by(t.ta_farm.c.farm_no)
    return [r[0] for r in conn.execute(query)]
