"""Farm weather rules: KMA items → TM_WEATHER_HOURLY and TM_WEATHER rows (plain Python).

Codes of the rows:

- WEATHER_CD: a precipitation type other than 0 decides (PTY 1 rainy, 2 rain_snow, 3 snow,
  4 shower; the nowcast's 5 drizzle, 6 drizzle/snow flurries and 7 snow flurries count as rainy,
  rain_snow and snow); otherwise the sky (SKY 1 sunny, 3 cloudy, 4 overcast).
- SKY_CD 1/3/4 and PTY_CD 0–7 as KMA gives them; IS_FORECAST 'Y' for a forecast, 'N' for an
  observation (nowcast, ASOS).
- Precipitation arrives as text buckets: "강수없음" is 0, "1.0mm 미만" is below 1 mm (stored as
  the middle of the bucket, 0.5), "30.0~50.0mm" is 40.0 (the middle), "50.0mm 이상" its lower
  bound 50.0, "2.5mm" 2.5.

A value KMA marks as missing (≥ 900 or ≤ −900) is left empty; a value that cannot be read rejects
its row, with a reason naming grid, time, category and value.
"""

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

WEATHER_NAMES = {
    "sunny": "맑음",
    "cloudy": "구름많음",
    "overcast": "흐림",
    "rainy": "비",
    "rain_snow": "비/눈",
    "snow": "눈",
    "shower": "소나기",
}
PTY_WEATHER = {"1": "rainy", "2": "rain_snow", "3": "snow", "4": "shower"}
PTY_WEATHER |= {"5": "rainy", "6": "rain_snow", "7": "snow"}
SKY_WEATHER = {"1": "sunny", "3": "cloudy", "4": "overcast"}
WEATHER_SKY = {"sunny": "1", "cloudy": "3", "overcast": "4"}
# Mid-term texts ("구름많고 비", "흐리고 비/눈", "흐리고 소나기"): the first keyword found decides.
_TEXT_KEYWORDS = (
    ("비/눈", "rain_snow"),
    ("눈/비", "rain_snow"),
    ("소나기", "shower"),
    ("눈", "snow"),
    ("비", "rainy"),
    ("흐", "overcast"),
    ("구름", "cloudy"),
    ("맑", "sunny"),
)
MIDTERM_DAYS = range(3, 11)  # +3 … +10 after the issuance day
MIN_TEMPS_PER_DAY = 2


class BadValue(ValueError):
    """A KMA value that cannot be read."""


# -- values ------------------------------------------------------------------------------------
_NO_PRECIP = ("강수없음", "적설없음", "-", "")
_NUMBER = r"(\d+(?:\.\d+)?)"


def parse_precip(text: Any) -> float | None:
    """Millimetres (or cm of snow) of a PCP / SNO / RN1 value, text buckets included."""
    value = str(text if text is not None else "").strip()
    if value in _NO_PRECIP:
        return 0.0
    if m := re.fullmatch(_NUMBER + r"\s*(mm|cm)?", value):
        return _number(m.group(1))
    if m := re.fullmatch(_NUMBER + r"\s*(mm|cm)\s*미만", value):
        return round(_number(m.group(1)) / 2, 1)
    if m := re.fullmatch(_NUMBER + r"\s*~\s*" + _NUMBER + r"\s*(mm|cm)", value):
        return round((_number(m.group(1)) + _number(m.group(2))) / 2, 1)
    if m := re.fullmatch(_NUMBER + r"\s*(mm|cm)\s*이상", value):
        return _number(m.group(1))
    raise BadValue(f"precipitation {value!r} is not a KMA amount or bucket")


def _number(value: Any) -> float | None:
    """A float of a KMA value; None for blank and for KMA's missing markers (±900 and beyond)."""
    text = str(value if value is not None else "").strip()
    if text == "":
        return None
    try:
        number = float(text)
    except ValueError:
        raise BadValue(f"{text!r} is not a number") from None
    return None if abs(number) >= 900 else number


def _int(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else round(number)


def _code(value: Any) -> str | None:
    number = _int(value)
    return None if number is None else str(number)


def weather_code(pty: str | None, sky: str | None) -> str | None:
    """WEATHER_CD of a precipitation type and a sky code (precipitation first)."""
    if pty and pty != "0":
        return PTY_WEATHER.get(pty)
    return SKY_WEATHER.get(sky or "")


def text_weather(text: str | None) -> str | None:
    """WEATHER_CD of a mid-term text such as '구름많고 비'; None when no keyword is known."""
    for keyword, code in _TEXT_KEYWORDS:
        if keyword in (text or ""):
            return code
    return None


def _with_weather(row: dict[str, Any]) -> dict[str, Any]:
    code = row.get("weather_cd")
    row["weather_nm"] = WEATHER_NAMES.get(code) if code else None
    return row


@dataclass
class Parsed:
    """Rows read from KMA items and the rows rejected, each with its reason."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    def extend(self, other: "Parsed") -> None:
        """Add another batch."""
        self.rows.extend(other.rows)
        self.rejected.extend(other.rejected)


# -- short-term forecast and nowcast -------------------------------------------------------------
def forecast_hourly_rows(items: Iterable[Mapping[str, Any]], nx: int, ny: int) -> Parsed:
    """TM_WEATHER_HOURLY rows (IS_FORECAST 'Y') of one grid's getVilageFcst items."""
    by_hour: dict[tuple[str, str], dict[str, Any]] = {}
    bases: dict[tuple[str, str], tuple[str, str]] = {}
    for item in items:
        hour = (str(item["fcstDate"]), str(item["fcstTime"]))
        by_hour.setdefault(hour, {})[str(item["category"])] = item.get("fcstValue")
        bases[hour] = (str(item.get("baseDate", "")), str(item.get("baseTime", "")))
    out = Parsed()
    for (day, hhmm), values in sorted(by_hour.items()):
        if "TMP" not in values:  # TMN/TMX-only hours carry no hourly row
            continue
        try:
            sky, pty = _code(values.get("SKY")), _code(values.get("PTY", "0"))
            row = {
                "wk_date": day, "wk_time": hhmm, "nx": nx, "ny": ny,
                "temp": _number(values["TMP"]), "rain_prob": _int(values.get("POP")),
                "rain_amt": parse_precip(values.get("PCP")), "humidity": _int(values.get("REH")),
                "wind_speed": _number(values.get("WSD")), "wind_dir": _int(values.get("VEC")),
                "sky_cd": sky, "pty_cd": pty, "weather_cd": weather_code(pty, sky),
                "base_date": bases[(day, hhmm)][0], "base_time": bases[(day, hhmm)][1],
                "is_forecast": "Y",
            }  # fmt: skip
        except BadValue as exc:
            out.rejected.append(f"forecast grid {nx},{ny} {day} {hhmm}: {exc}")
            continue
        out.rows.append(_with_weather(row))
    return out


def nowcast_hourly_row(
    items: Iterable[Mapping[str, Any]], nx: int, ny: int, sky: str | None = None
) -> Parsed:
    """The TM_WEATHER_HOURLY row (IS_FORECAST 'N') of one grid's getUltraSrtNcst items.

    The nowcast has no sky: `sky` is the forecast's sky of that hour, when known.
    """
    values: dict[str, Any] = {}
    base = ("", "")
    for item in items:
        values[str(item["category"])] = item.get("obsrValue")
        base = (str(item.get("baseDate", "")), str(item.get("baseTime", "")))
    out = Parsed()
    if "T1H" not in values:
        return out
    try:
        pty = _code(values.get("PTY", "0"))
        row = {
            "wk_date": base[0], "wk_time": base[1], "nx": nx, "ny": ny,
            "temp": _number(values["T1H"]), "rain_prob": None,
            "rain_amt": parse_precip(values.get("RN1")), "humidity": _int(values.get("REH")),
            "wind_speed": _number(values.get("WSD")), "wind_dir": _int(values.get("VEC")),
            "sky_cd": sky, "pty_cd": pty, "weather_cd": weather_code(pty, sky),
            "base_date": base[0], "base_time": base[1], "is_forecast": "N",
        }  # fmt: skip
    except BadValue as exc:
        out.rejected.append(f"nowcast grid {nx},{ny} {base[0]} {base[1]}: {exc}")
        return out
    out.rows.append(_with_weather(row))
    return out


def daily_from_hourly(hourly: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """TM_WEATHER forecast rows per grid and day of hourly rows (days with ≥ 2 temperatures).

    TEMP_AVG is the mean (1 decimal), HIGH / LOW the max / min, RAIN_PROB the max, RAIN_AMT the
    sum, WEATHER_CD the most frequent hourly code (the earliest of equals), SKY_CD the day's
    first sky; FCST_DT the latest issuance among the hours.
    """
    groups: dict[tuple[int, int, str], list[Mapping[str, Any]]] = {}
    for row in sorted(hourly, key=lambda r: (r["nx"], r["ny"], r["wk_date"], r["wk_time"])):
        groups.setdefault((row["nx"], row["ny"], row["wk_date"]), []).append(row)
    out = []
    for (nx, ny, day), rows in groups.items():
        temps = [float(r["temp"]) for r in rows if r.get("temp") is not None]
        if len(temps) < MIN_TEMPS_PER_DAY:
            continue
        probs = [int(r["rain_prob"]) for r in rows if r.get("rain_prob") is not None]
        rains = [float(r["rain_amt"]) for r in rows if r.get("rain_amt") is not None]
        hums = [float(r["humidity"]) for r in rows if r.get("humidity") is not None]
        winds = [float(r["wind_speed"]) for r in rows if r.get("wind_speed") is not None]
        codes = Counter(r["weather_cd"] for r in rows if r.get("weather_cd"))
        skies = [r["sky_cd"] for r in rows if r.get("sky_cd")]
        issued = [f"{r['base_date']}{r['base_time']}" for r in rows if r.get("base_date")]
        out.append(
            _with_weather(
                {
                    "wk_date": day, "nx": nx, "ny": ny,
                    "temp_avg": round(sum(temps) / len(temps), 1),
                    "temp_high": max(temps), "temp_low": min(temps),
                    "rain_prob": max(probs) if probs else None,
                    "rain_amt": round(sum(rains), 1) if rains else None,
                    "humidity": round(sum(hums) / len(hums)) if hums else None,
                    "wind_speed": round(sum(winds) / len(winds), 1) if winds else None,
                    "wind_dir": None,
                    "weather_cd": codes.most_common(1)[0][0] if codes else None,
                    "sky_cd": skies[0] if skies else None,
                    "fcst_dt": max(issued) if issued else None,
                    "is_forecast": "Y",
                }
            )
        )  # fmt: skip
    return out


# -- mid-term forecast --------------------------------------------------------------------------
def midterm_rows(
    ta: Mapping[str, Any] | None, land: Mapping[str, Any] | None, tm_fc: str, nx: int, ny: int
) -> Parsed:
    """TM_WEATHER forecast rows of days +3…+10 of one issuance (getMidTa + getMidLandFcst items).

    A day the issuance does not cover (no taMin/taMax) gets no row.
    """
    issued = dt.datetime.strptime(tm_fc[:8], "%Y%m%d").date()
    ta, land = ta or {}, land or {}
    out = Parsed()
    for n in MIDTERM_DAYS:
        if ta.get(f"taMin{n}") in (None, "") or ta.get(f"taMax{n}") in (None, ""):
            continue
        day = (issued + dt.timedelta(days=n)).strftime("%Y%m%d")
        try:
            low, high = _number(ta[f"taMin{n}"]), _number(ta[f"taMax{n}"])
            if n <= 7:
                probs = [_int(land.get(f"rnSt{n}Am")), _int(land.get(f"rnSt{n}Pm"))]
                text = land.get(f"wf{n}Am") or land.get(f"wf{n}Pm")
            else:
                probs, text = [_int(land.get(f"rnSt{n}"))], land.get(f"wf{n}")
        except BadValue as exc:
            out.rejected.append(f"mid-term {tm_fc} grid {nx},{ny} day +{n}: {exc}")
            continue
        code = text_weather(text)
        if text and code is None:
            out.rejected.append(f"mid-term {tm_fc} grid {nx},{ny} day +{n}: weather {text!r}")
            continue
        known = [p for p in probs if p is not None]
        avg = round((low + high) / 2, 1) if low is not None and high is not None else None
        out.rows.append(
            _with_weather(
                {
                    "wk_date": day, "nx": nx, "ny": ny, "temp_avg": avg, "temp_high": high,
                    "temp_low": low, "rain_prob": max(known) if known else None,
                    "rain_amt": None, "humidity": None, "wind_speed": None, "wind_dir": None,
                    "weather_cd": code, "sky_cd": WEATHER_SKY.get(code or ""), "fcst_dt": tm_fc,
                    "is_forecast": "Y",
                }
            )
        )  # fmt: skip
    return out


# -- ASOS daily observations ----------------------------------------------------------------------
def asos_rows(items: Iterable[Mapping[str, Any]], grids: Sequence[tuple[int, int]]) -> Parsed:
    """Observed TM_WEATHER rows (IS_FORECAST 'N') of one station's daily items, for its grids.

    WEATHER_CD is rainy when it rained (sumRn > 0), else sunny.
    """
    out = Parsed()
    for item in items:
        day = str(item.get("tm", "")).replace("-", "")[:8]
        try:
            rain = parse_precip(item.get("sumRn"))
            values = {
                "temp_avg": _number(item.get("avgTa")), "temp_high": _number(item.get("maxTa")),
                "temp_low": _number(item.get("minTa")), "rain_amt": rain,
                "humidity": _int(item.get("avgRhm")), "wind_speed": _number(item.get("avgWs")),
            }  # fmt: skip
        except BadValue as exc:
            out.rejected.append(f"ASOS station {item.get('stnId')} {day}: {exc}")
            continue
        if not re.fullmatch(r"\d{8}", day) or values["temp_avg"] is None:
            out.rejected.append(
                f"ASOS station {item.get('stnId')} {item.get('tm')!r}: no day or no avgTa"
            )
            continue
        code = "rainy" if rain else "sunny"
        for nx, ny in grids:
            out.rows.append(
                _with_weather(
                    {
                        "wk_date": day, "nx": nx, "ny": ny, **values, "rain_prob": None,
                        "wind_dir": None, "weather_cd": code, "sky_cd": None, "fcst_dt": None,
                        "is_forecast": "N",
                    }
                )
            )  # fmt: skip
    return out


# -- regions of the mid-term forecast -------------------------------------------------------------
# Sido code (first two characters of SIGUN_CD) → (getMidTa city region, getMidLandFcst region).
MIDTERM_REGIONS: dict[str, tuple[str, str]] = {
    "11": ("11B10101", "11B00000"),  # 서울
    "26": ("11H20201", "11H20000"),  # 부산
    "27": ("11H10701", "11H10000"),  # 대구
    "28": ("11B20201", "11B00000"),  # 인천
    "29": ("11F20501", "11F20000"),  # 광주
    "30": ("11C20401", "11C20000"),  # 대전
    "31": ("11H20101", "11H20000"),  # 울산
    "36": ("11C20404", "11C20000"),  # 세종
    "41": ("11B20601", "11B00000"),  # 경기 (수원)
    "42": ("11D10301", "11D10000"),  # 강원 (춘천)
    "51": ("11D10301", "11D10000"),  # 강원특별자치도
    "43": ("11C10301", "11C10000"),  # 충북 (청주)
    "44": ("11C20401", "11C20000"),  # 충남 (대전)
    "45": ("11F10201", "11F10000"),  # 전북 (전주)
    "52": ("11F10201", "11F10000"),  # 전북특별자치도
    "46": ("11F20501", "11F20000"),  # 전남 (광주)
    "47": ("11H10701", "11H10000"),  # 경북 (대구)
    "48": ("11H20301", "11H20000"),  # 경남 (창원)
    "50": ("11G00201", "11G00000"),  # 제주
}
DEFAULT_REGION = MIDTERM_REGIONS["11"]


def midterm_region(sigun_cd: str | None) -> tuple[str, str]:
    """(temperature region, land region) of a farm's SIGUN_CD; Seoul when unknown."""
    return MIDTERM_REGIONS.get((sigun_cd or "")[:2], DEFAULT_REGION)
