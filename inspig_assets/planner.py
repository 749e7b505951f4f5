"""Planned jobs of a week: a portable re-implementation of FN_MD_SCHEDULE_BSE_2020 and farm rules.

A job is planned either by the farm's defaults ("farm" method: gestation, lactation, return days…)
or by the farm's TB_PLAN_MODON settings ("modon" method: base event + PASS_DAY, filtered by sow
status and parity; BF_PASS_YN='Y' also plans overdue sows). Planned dates before Monday count on
Monday; dates after Sunday are not planned this week.
"""

import json
from dataclasses import dataclass, field

from inspig_assets.model import (
    ABORTED,
    GILT,
    LACTATING,
    RETURNED,
    SURROGATE,
    WEANED,
    FarmData,
    PlanRow,
    date_of,
    round_half_up,
)
from inspig_assets.periods import ReportWeek

JOB_PREGNANCY, JOB_FARROWING, JOB_WEANING, JOB_VACCINE, JOB_MATING = (
    "150001", "150002", "150003", "150004", "150005",
)  # fmt: skip
JOBS = (JOB_MATING, JOB_PREGNANCY, JOB_FARROWING, JOB_WEANING, JOB_VACCINE)
# TS_INS_CONF column per job, and the method used when the farm has no setting.
CONF_COLUMN = {
    JOB_MATING: "week_tw_gy",
    JOB_FARROWING: "week_tw_bm",
    JOB_PREGNANCY: "week_tw_im",
    JOB_WEANING: "week_tw_eu",
    JOB_VACCINE: "week_tw_vc",
}
DEFAULT_METHOD = {
    JOB_MATING: "modon",
    JOB_FARROWING: "farm",
    JOB_PREGNANCY: "farm",
    JOB_WEANING: "modon",
    JOB_VACCINE: "modon",
}
POPUPS = {JOB_MATING: "GB", JOB_FARROWING: "BM", JOB_WEANING: "EU", JOB_PREGNANCY: "IMSIN",
          JOB_VACCINE: "VACCINE"}  # fmt: skip
STD_EVENT = {"020003": "G", "020004": "B", "020005": "E", "020007": "F"}
TRANSFER_IN = "020002"


@dataclass
class PlanItem:
    """One popup row: a TB_PLAN_MODON entry (modon method) or a farm rule (farm method)."""

    name: str
    std_cd: str | None
    status_cd: str | None
    pass_text: str
    daily: list[int] = field(default_factory=lambda: [0] * 7)
    article: str | None = None


@dataclass
class Plan:
    """Planned counts of one job for Monday..Sunday."""

    method: str
    daily: list[int] = field(default_factory=lambda: [0] * 7)
    items: list[PlanItem] = field(default_factory=list)
    by_status: dict[str, int] = field(default_factory=dict)
    hint: str | None = None
    daily_3w: list[int] = field(default_factory=lambda: [0] * 7)
    daily_4w: list[int] = field(default_factory=lambda: [0] * 7)
    hint_3w: str | None = None
    hint_4w: str | None = None

    @property
    def total(self) -> int:
        """Planned count of the week."""
        return sum(self.daily)


def method_of(farm: FarmData, job: str) -> tuple[str, list[int] | None]:
    """(method, selected TB_PLAN_MODON seqs or None for all) from TS_INS_CONF, with defaults."""
    if job == JOB_VACCINE:
        method = "modon"
    else:
        method = DEFAULT_METHOD[job]
    raw = farm.conf.get(CONF_COLUMN[job])
    if not raw:
        return method, None
    try:
        setting = json.loads(raw)
    except ValueError:
        return method, None
    if job != JOB_VACCINE:
        method = str(setting.get("method") or method).lower()
    if method != "modon":
        return "farm", None
    tasks = setting.get("tasks")
    if not tasks:
        return "modon", []  # modon method with no task selected: nothing is planned
    return "modon", [int(t) for t in tasks]


def _slot(due: int, monday: int, overdue_on_monday: bool) -> int | None:
    if due < monday:
        return 0 if overdue_on_monday else None
    index = due - monday
    return index if index < 7 else None


def _selected_rows(farm: FarmData, job: str, tasks: list[int] | None) -> list[PlanRow]:
    rows = [p for p in farm.plans if p.job_gubun_cd == job and (tasks is None or p.seq in tasks)]
    return sorted(rows, key=lambda p: (p.wk_nm, p.seq))


def plan_job(farm: FarmData, job: str, week: ReportWeek, base: int, cfg: dict[str, float]) -> Plan:
    """Planned counts of `job` in `week` for the herd as it stood at the end of day `base`."""
    method, tasks = method_of(farm, job)
    if method == "farm":
        return _farm_plan(farm, job, week, base, cfg)
    return _modon_plan(farm, job, week, base, tasks)


def _modon_plan(
    farm: FarmData, job: str, week: ReportWeek, base: int, tasks: list[int] | None
) -> Plan:
    monday = week.dt_from.toordinal()
    plan = Plan("modon")
    if tasks == []:
        plan.hint = "(모돈 작업설정) 선택된 작업 없음"
        return plan
    rows = _selected_rows(farm, job, tasks)
    exact = job == JOB_PREGNANCY
    states = [
        (s, s.last_work(base), s.status(base), s.parity(base))
        for s in farm.sows
        if s.alive_at(base)
    ]
    for row in rows:
        item = PlanItem(row.wk_nm, row.std_cd, row.modon_status_cd, f"{row.pass_day}일")
        for sow, last, status, parity in states:
            if row.modon_status_cd and status != row.modon_status_cd:
                continue
            if job == JOB_WEANING and status not in (LACTATING, SURROGATE):
                continue
            if row.s_sancha is not None and parity < row.s_sancha:
                continue
            if row.e_sancha is not None and parity > row.e_sancha:
                continue
            if row.std_cd == TRANSFER_IN:
                if last is not None:
                    continue
                event = sow.in_dt
            else:
                kind = STD_EVENT.get(row.std_cd)
                if last is None or kind is None or last.gubun != kind:
                    continue
                event = last.day
            slot = _slot(event + row.pass_day, monday, not exact and row.bf_pass_yn == "Y")
            if slot is None:
                continue
            item.daily[slot] += 1
            plan.daily[slot] += 1
            plan.by_status[status] = plan.by_status.get(status, 0) + 1
        plan.items.append(item)
    lines = [f"· {r.wk_nm}({r.pass_day}일)" for r in rows]
    plan.hint = "\n".join(["(모돈 작업설정)", *lines])
    if exact:
        plan.hint_3w = plan.hint
    return plan


def _farm_plan(
    farm: FarmData, job: str, week: ReportWeek, base: int, cfg: dict[str, float]
) -> Plan:
    monday = week.dt_from.toordinal()
    sunday = monday + 6
    plan = Plan("farm")
    gest, lact = int(cfg["gestation"]), int(cfg["lactation"])
    ret, first_age = int(cfg["return_days"]), int(cfg["first_age"])

    def add(
        due: int, status: str, item: PlanItem | None = None, daily: list[int] | None = None
    ) -> None:
        slot = _slot(due, monday, True)
        if slot is None:
            return
        (daily if daily is not None else plan.daily)[slot] += 1
        plan.by_status[status] = plan.by_status.get(status, 0) + 1
        if item is not None:
            item.daily[slot] += 1

    if job == JOB_MATING:
        weaned = PlanItem("이유돈(평균재귀일)", "020005", WEANED, f"{ret}일")
        gilts = PlanItem("후보돈(초교배일령)", TRANSFER_IN, GILT, f"{first_age}일")
        accident = PlanItem("사고/재발돈", "020007", RETURNED, "즉시")
        for sow in farm.sows:
            if not sow.alive_at(base):
                continue
            last = sow.last_work(base)
            status = sow.status(base)
            if last is not None:
                if last.gubun == "E" and last.daeri != "Y":
                    add(last.day + ret, WEANED, weaned)
                elif last.gubun == "F":
                    add(last.day + 1, status, accident)
            elif status == WEANED and sow.last_wk is not None:
                add(sow.last_wk + ret, WEANED, weaned)
            elif status == GILT and sow.birth is not None:
                add(sow.birth + first_age, GILT, gilts)
            elif status in (RETURNED, ABORTED) and sow.last_wk is not None:
                add(sow.last_wk + 1, status, accident)
        plan.items = [weaned, gilts, accident]
        plan.hint = mating_hint(farm, cfg)
    elif job == JOB_FARROWING:
        for sow in farm.sows:
            if not sow.alive_at(base):
                continue
            for work in sow.works:
                if work.gubun == "G" and monday - gest <= work.day <= sunday - gest:
                    nxt = sow.next_work(work, base)
                    if nxt is None or nxt.gubun != "F":
                        add(work.day + gest, sow.status(base))
        plan.hint = f"(농장 기본값)\n· 교배 후 {gest}일"
    elif job == JOB_WEANING:
        for sow in farm.sows:
            if not sow.alive_at(base):
                continue
            for work in sow.works:
                if work.gubun == "B" and monday - lact <= work.day <= sunday - lact:
                    add(work.day + lact, sow.status(base))
        plan.hint = f"(농장 기본값)\n· 분만 후 {lact}일"
    elif job == JOB_PREGNANCY:
        for sow in farm.sows:
            if not sow.alive_at(base):
                continue
            last = sow.last_work(base)
            if last is None or last.gubun != "G":
                continue
            for offset, daily in ((21, plan.daily_3w), (28, plan.daily_4w)):
                due = last.day + offset
                if monday <= due <= sunday:
                    daily[due - monday] += 1
        plan.daily = [a + b for a, b in zip(plan.daily_3w, plan.daily_4w, strict=True)]
        plan.hint_3w = "(농장 기본값)\n· 교배 후 21일(3주)"
        plan.hint_4w = "(농장 기본값)\n· 교배 후 28일(4주)"
        plan.hint = plan.hint_3w
    return plan


def mating_hint(farm: FarmData, cfg: dict[str, float]) -> str:
    """How matings are planned for this farm."""
    method, tasks = method_of(farm, JOB_MATING)
    if method == "farm":
        return (
            "(농장 기본값)\n"
            f"· 이유돈: 이유 후 {int(cfg['return_days'])}일\n"
            f"· 후보돈: 초교배일령 {int(cfg['first_age'])}일\n"
            "· 사고/재발돈: 즉시"
        )
    rows = _selected_rows(farm, JOB_MATING, tasks) if tasks != [] else []
    return "\n".join(["(모돈 작업설정)", *[f"· {r.wk_nm}({r.pass_day}일)" for r in rows]])


def job_hint(farm: FarmData, job: str, cfg: dict[str, float]) -> str:
    """How `job` is planned for this farm."""
    method, tasks = method_of(farm, job)
    if method == "farm":
        if job == JOB_FARROWING:
            return f"(농장 기본값)\n· 교배 후 {int(cfg['gestation'])}일"
        return f"(농장 기본값)\n· 분만 후 {int(cfg['lactation'])}일"
    rows = _selected_rows(farm, job, tasks) if tasks != [] else []
    return "\n".join(["(모돈 작업설정)", *[f"· {r.wk_nm}({r.pass_day}일)" for r in rows]])


def planned_shipments(farm: FarmData, week: ReportWeek, cfg: dict[str, float]) -> int:
    """Piglets weaned one ship-offset before the week, times the rearing rate."""
    offset = int(cfg["ship_age"] - cfg["lactation"])
    lo = week.dt_from.toordinal() - offset
    hi = week.dt_to.toordinal() - offset
    weaned = sum(heads for (_pig, d), (heads, _kg) in farm.eu.items() if lo <= d <= hi)
    return int(round_half_up(weaned * cfg["rearing_rate"] / 100, 0) or 0)


def shipment_hint(week: ReportWeek, cfg: dict[str, float]) -> str:
    """The shipment forecast formula with this week's numbers."""
    offset = int(cfg["ship_age"] - cfg["lactation"])
    lo = date_of(week.dt_from.toordinal() - offset).strftime("%y.%m.%d")
    hi = date_of(week.dt_to.toordinal() - offset).strftime("%y.%m.%d")
    return (
        f"이유두수 × 이유후육성율 {cfg['rearing_rate']}% "
        f"(이유일 {lo}~{hi}, 출하일령 {int(cfg['ship_age'])}일 − 포유기간 "
        f"{int(cfg['lactation'])}일 = {offset}일)"
    )
