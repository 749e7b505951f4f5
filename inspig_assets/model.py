"""In-memory model of one farm's source data, shared by the weekly processors.

Dates are proleptic ordinals (`date.toordinal()`) so that day arithmetic is integer arithmetic.
"""

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from inspig_assets.periods import ReportWeek

ALIVE = dt.date(9999, 12, 31).toordinal()

# Farm configuration codes (TC_CODE_SYS PCODE 14) and their defaults.
CONFIG_DEFAULTS: dict[str, int] = {
    "140002": 115,  # gestation days
    "140003": 21,  # lactation days
    "140004": 110,  # ship weight
    "140005": 180,  # ship age
    "140006": 180,  # gilt first-heat check age
    "140007": 240,  # first-mating age
    "140008": 7,  # average wean-to-remating days
    "140012": 100,  # standard carcass weight
    "140018": 20,  # gilt re-heat days
}
CONFIG_NAMES: dict[str, str] = {
    "140002": "임신기간",
    "140003": "포유기간",
    "140004": "출하체중",
    "140005": "출하일령",
    "140006": "후보돈 초발정 체크일령",
    "140007": "초교배일령",
    "140008": "평균재귀일",
    "140012": "기준 도체중",
    "140018": "후보돈 재발정일",
}
DEFAULT_REARING_RATE = 90.0

GILT, PREGNANT, LACTATING, SURROGATE, WEANED, RETURNED, ABORTED, CULLED = (
    "010001", "010002", "010003", "010004", "010005", "010006", "010007", "010008",
)  # fmt: skip
WORK_KINDS = frozenset("GBEF")  # mating, farrowing, weaning, accident: the works that set a status


def day(value: dt.date | None) -> int | None:
    """Ordinal of a date (None stays None)."""
    return value.toordinal() if value is not None else None


def date_of(ordinal: int) -> dt.date:
    """Date of an ordinal."""
    return dt.date.fromordinal(ordinal)


def mmdd(ordinal: int) -> str:
    """`MM.DD`."""
    return date_of(ordinal).strftime("%m.%d")


def round_half_up(value: float | None, digits: int = 1) -> float | None:
    """Oracle-style ROUND (half away from zero), used for every ratio and average in the report."""
    if value is None:
        return None
    scale = 10.0**digits
    scaled = abs(value) * scale
    # the epsilon absorbs binary noise such as 2.675 * 100 = 267.49999999999997
    return math.copysign(math.floor(scaled + 0.5 + 1e-9 * max(1.0, scaled)) / scale, value)


def ratio(part: float, whole: float, digits: int = 1, scale: float = 100.0) -> float:
    """`part / whole × scale` rounded; 0 when `whole` is 0."""
    return round_half_up(part / whole * scale, digits) if whole else 0.0  # type: ignore[return-value]


def mean(values: list[float], digits: int = 1) -> float:
    """Rounded mean; 0 for no values."""
    return round_half_up(sum(values) / len(values), digits) if values else 0.0  # type: ignore[return-value]


@dataclass(slots=True)
class Work:
    """One TB_MODON_WK row (USE_YN='Y')."""

    day: int
    gubun: str
    sancha: int
    gyobae_cnt: int
    sago_cd: str | None
    daeri: str
    seq: int


@dataclass(slots=True)
class Sow:
    """One TB_MODON row with its works in (date, SEQ) order."""

    pig_no: int
    birth: int | None
    in_dt: int
    last_wk: int | None
    out: int
    in_sancha: int
    in_gyobae_cnt: int
    status_cd: str | None
    out_gubun_cd: str | None
    out_reason_cd: str | None
    works: list[Work] = field(default_factory=list)
    memo: dict[int, Work | None] = field(default_factory=dict, repr=False, compare=False)

    def alive_at(self, base: int) -> bool:
        """In the herd at the end of day `base`."""
        return self.in_dt <= base < self.out

    def last_work(self, base: int) -> Work | None:
        """The latest status-setting work (G/B/E/F) on or before `base` (memoised per base)."""
        memo = self.memo
        if base in memo:
            return memo[base]
        found = None
        for work in reversed(self.works):
            if work.day <= base and work.gubun in WORK_KINDS:
                found = work
                break
        memo[base] = found
        return found

    def next_work(self, work: Work, base: int) -> Work | None:
        """The work following `work` (SEQ+1), when it happened on or before `base`."""
        works = self.works
        index = works.index(work) + 1
        while index < len(works):
            candidate = works[index]
            if candidate.gubun in WORK_KINDS:
                return candidate if candidate.day <= base else None
            index += 1
        return None

    def works_after(self, work: Work | None) -> Work | None:
        """The first status-setting work after `work` (None: her first one), whenever it was."""
        start = 0 if work is None else self.works.index(work) + 1
        return next((w for w in self.works[start:] if w.gubun in WORK_KINDS), None)

    def prev_work(self, work: Work) -> Work | None:
        """The work before `work` (SEQ−1)."""
        works = self.works
        index = works.index(work) - 1
        while index >= 0:
            if works[index].gubun in WORK_KINDS:
                return works[index]
            index -= 1
        return None

    def status(self, base: int) -> str:
        """Status at `base` from the last work (SF_GET_MODONGB_STATUS with out_dt = alive)."""
        return status_of(self.last_work(base), self)

    def parity(self, base: int) -> int:
        """SANCHA of the last work on or before `base`; IN_SANCHA when none or 0."""
        last = self.last_work(base)
        return last.sancha if last is not None and last.sancha else self.in_sancha


def status_of(work: Work | None, sow: Sow) -> str:
    """Portable SF_GET_MODONGB_STATUS for a living sow; the legacy rule when it has no work."""
    if work is None:
        if sow.status_cd == PREGNANT and sow.in_sancha == 0 and sow.in_gyobae_cnt == 1:
            return GILT
        return sow.status_cd or GILT
    gubun = work.gubun
    if gubun == "G":
        return PREGNANT
    if gubun == "B":
        return LACTATING
    if gubun == "E":
        return SURROGATE if work.daeri == "Y" else WEANED
    if gubun == "F":
        return ABORTED if work.sago_cd == "050002" else RETURNED
    return sow.status_cd or GILT


@dataclass(slots=True)
class PlanRow:
    """One TB_PLAN_MODON row."""

    seq: int
    wk_nm: str
    std_cd: str
    pass_day: int
    modon_status_cd: str | None
    job_gubun_cd: str
    bf_pass_yn: str
    s_sancha: int | None
    e_sancha: int | None


@dataclass(slots=True)
class Move:
    """One TB_MODON_JADON_TRANS row (piglet death, partial wean, foster in/out)."""

    sancha: int
    gubun_cd: str
    day: int
    bun_day: int | None
    heads: int


@dataclass(slots=True)
class PrevWeek:
    """The farm's previous COMPLETE weekly report: header columns and the sub rows reused."""

    week: dict[str, Any]
    modon_totals: dict[str, float]
    schedule: dict[str, Any] | None
    schedule_gb: list[dict[str, Any]]
    help: dict[str, Any] | None


@dataclass(slots=True)
class FarmData:
    """Everything the ten processors read for one farm.

    `bunman` holds litters from 70 days before the week (`bunman_ytd` = year-to-date litters, total
    born, live born), `gyobae_ytd` counts TB_GYOBAE matings year-to-date; `lpd` holds the report
    week's carcasses; `lpd_ytd` is (count, Σ net kg) year-to-date and
    `lpd_months` the carcass count per `YYYY-MM` of the rearing-rate window. `problems` names
    the source values that could not be read (table, column, value): such a farm is not built.
    """

    farm_no: int
    farm_nm: str | None = None
    owner_nm: str | None = None
    sigungu_cd: str | None = None
    schedule_group: str = "AM7"
    config: dict[str, int] = field(default_factory=lambda: dict(CONFIG_DEFAULTS))
    sows: list[Sow] = field(default_factory=list)
    bunman: dict[tuple[int, int], tuple[int, int, int]] = field(default_factory=dict)
    eu: dict[tuple[int, int], tuple[int, float]] = field(default_factory=dict)
    sago: list[tuple[int, int, str]] = field(default_factory=list)
    gyobae_ytd: int = 0
    bunman_ytd: tuple[int, int, int] = (0, 0, 0)
    moves: dict[int, list[Move]] = field(default_factory=dict)
    lpd: list[tuple[int, float, float, str | None, str | None]] = field(default_factory=list)
    lpd_ytd: tuple[int, float] = (0, 0.0)
    lpd_months: dict[str, int] = field(default_factory=dict)
    trade: list[tuple[int, float, float]] = field(default_factory=list)
    plans: list[PlanRow] = field(default_factory=list)
    conf: dict[str, str | None] = field(default_factory=dict)
    sangsi: float | None = None
    gb_chart: list[float] | None = None
    prev: PrevWeek | None = None
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RunContext:
    """What every farm of a run shares."""

    week: ReportWeek
    national_price: float | None = None
    code_names: dict[str, str] = field(default_factory=lambda: dict(CONFIG_NAMES))
