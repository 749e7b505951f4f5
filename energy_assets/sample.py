"""Deterministic sample payloads of KOSPO and KOEN for local mode (plain Python, no Dagster).

The curves are realistic enough to exercise every rule: zero at night, a midday peak that
follows the season and the sample weather's clearness (`resources.kma.sky_clearness`), a few
unit-days whose evening hours are delivered late, and the source defects of the audit planted on
the plants it names (one slot per day, monthly constants, ESS-linked evening output, zeros).
Every value depends only on the unit, the day and — for late deliveries — the day it is asked.
"""

import datetime as dt
import math

from energy_assets.plants import NAMBU_UNITS, NAMDONG_UNITS, NamdongUnit
from resources.kma import _unit, day_length_hours, sky_clearness

# The sources' curves peak in the slot labelled 12 ([11:00, 12:00) KST): their solar noon.
SOURCE_NOON = 11.75
LATE_SHARE = 0.03  # unit-days whose labels 21..24 arrive only two days later
LATE_LABELS = range(21, 25)


def hourly_profile(day: dt.date, capacity_kw: float, seed: str) -> list[float]:
    """Energy (kWh) of labels 1..24 for a healthy unit on `day`."""
    doy = day.timetuple().tm_yday
    length = day_length_hours(day)
    rise = SOURCE_NOON - length / 2
    season = 0.62 + 0.33 * math.sin(2 * math.pi * (doy - 80) / 365.25)
    clear = sky_clearness(day) * (0.9 + 0.2 * _unit("unitsky", seed, day))
    values = []
    for label in range(1, 25):
        mid = label - 0.5
        if rise < mid < rise + length:
            shape = math.sin(math.pi * (mid - rise) / length) ** 1.2
            noise = 0.92 + 0.16 * _unit("hour", seed, day, label)
            values.append(round(capacity_kw * 0.85 * season * clear * shape * noise, 1))
        else:
            values.append(0.0)
    return values


def ess_profile(day: dt.date, capacity_kw: float, seed: str) -> list[float]:
    """An ESS-linked meter: noon output held back, then released at rated level in the evening."""
    values = [round(v * 0.25, 1) for v in hourly_profile(day, capacity_kw, seed)]
    for label in (18, 19, 20, 21):
        values[label - 1] = round(
            capacity_kw * 0.9 * (0.998 + 0.004 * _unit("ess", seed, label)), 1
        )
    return values


def one_slot(values: list[float], total: float | None = None) -> list[float]:
    """The whole day's total in label 24, every other slot zero."""
    day_total = round(sum(values), 1) if total is None else total
    return [0.0] * 23 + [day_total]


def kospo_items(
    gencd: str, hogi: int, first: dt.date, last: dt.date, as_of: dt.date
) -> list[dict[str, str]]:
    """KOSPO items of one unit for [first, last], as the API would answer on `as_of`."""
    unit = next((u for u in NAMBU_UNITS if (u.gencd, u.hogi) == (gencd, hogi)), None)
    if unit is None:
        return []
    items = []
    day = first
    while day <= last:
        seed = f"{gencd}-{hogi}"
        if gencd == "997D":
            values = ess_profile(day, unit.capacity_kw, seed)
        else:
            values = hourly_profile(day, unit.capacity_kw, seed)
        total = round(sum(values), 1)
        item = {
            "ymd": day.isoformat(),
            "gencd": gencd,
            "hogi": str(hogi),
            "ipptnm": unit.name,
            "qvodgen": f"{total:.1f}",
            "qvodavg": f"{total / 24:.2f}",
            "qvodmax": f"{max(values):.1f}",
            "qvodmin": f"{min(values):.1f}",
        }
        late = _unit("late", seed, day) < LATE_SHARE and as_of < day + dt.timedelta(days=2)
        for label, value in enumerate(values, start=1):
            item[f"qhorgen{label:02d}"] = "" if late and label in LATE_LABELS else f"{value:.1f}"
        if _unit("noname", seed, day) < 0.05:
            item["ipptnm"] = ""  # the API sometimes omits the plant name
        items.append(item)
        day += dt.timedelta(days=1)
    return items


def kospo_first_day(gencd: str, hogi: int) -> dt.date:
    """The sample's first day of data of a unit (between 2012 and 2023)."""
    offset = int(_unit("start", gencd, hogi) * 365 * 11)
    return dt.date(2012, 3, 1) + dt.timedelta(days=offset)


def namdong_values(unit: NamdongUnit, day: dt.date) -> list[float] | None:
    """Labels 1..24 of a KOEN unit on `day`, audited defects included; None if it did not report."""
    seed = f"{unit.plant}-{unit.unit}"
    if unit.plant == "삼천포태양광 #5" and unit.unit == 2 and day.month in (1, 2):
        return None  # this unit is absent from the winter files
    healthy = hourly_profile(day, unit.capacity_kw, seed)
    if unit.plant == "여수태양광":
        return one_slot(healthy)
    if unit.plant == "탑선태양광" and unit.unit in (1, 3):
        constant = round(unit.capacity_kw * 3.1 + 17 * _unit("const", seed, day.year, day.month), 1)
        return one_slot(healthy, constant)
    if unit.plant == "삼천포태양광 #6" and day >= dt.date(2025, 10, 1):
        return [0.0] * 24
    ess = unit.plant in ("영동태양광", "삼천포태양광 #5", "삼천포태양광 #6", "삼천포태양광 #4") or (
        unit.plant == "영흥태양광 #3" and day < dt.date(2025, 7, 1)
    )
    return ess_profile(day, unit.capacity_kw, seed) if ess else healthy


def koen_csv(first: dt.date, last: dt.date) -> bytes:
    """The KOEN CSV download for [first, last] (cp949, a space after each comma)."""
    header = [
        "발전구분",
        "호기",
        "일자",
        *(f"{n}시 발전량(KWh)" for n in range(1, 25)),
        "총량(KW)",
        "평균(KW)",
        "최대(시간별)",
        "최소(시간별)",
    ]
    lines = [", ".join(header)]
    day = first
    while day <= last:
        for unit in NAMDONG_UNITS:
            values = namdong_values(unit, day)
            if values is None:
                continue
            cells = [f"{v:.1f}" for v in values]
            if _unit("blank", unit.plant, unit.unit, day) < 0.01:
                cells[int(_unit("blankat", unit.plant, day) * 24)] = ""  # one missing hour
            total = sum(values)
            lines.append(
                ", ".join(
                    [
                        unit.plant,
                        str(unit.unit),
                        day.isoformat(),
                        *cells,
                        f"{total:.1f}",
                        f"{total / 24:.2f}",
                        f"{max(values):.1f}",
                        f"{min(values):.1f}",
                    ]
                )
            )
        day += dt.timedelta(days=1)
    return ("\r\n".join(lines) + "\r\n").encode("cp949")


CITY_CENTRES = {
    "서울": (37.5665, 126.978),
    "인천": (37.4563, 126.7052),
    "부산": (35.1796, 129.0756),
    "대구": (35.8714, 128.6014),
    "광주": (35.1595, 126.8526),
    "대전": (36.3504, 127.3845),
    "울산": (35.5384, 129.3114),
    "세종": (36.48, 127.289),
    "경기": (37.275, 127.009),
    "강원": (37.8813, 127.7298),
    "충북": (36.6357, 127.4912),
    "충남": (36.6588, 126.6728),
    "전북": (35.8242, 127.148),
    "전남": (34.8161, 126.4629),
    "경북": (36.576, 128.5056),
    "경남": (35.2383, 128.6924),
    "제주": (33.4996, 126.5312),
}


def sample_geocode(address: str) -> tuple[float, float] | None:
    """A sample geocoder: the centre of the address's province or city, None when unknown."""
    for prefix, point in CITY_CENTRES.items():
        if address.strip().startswith(prefix):
            return point
    return None
