"""Where farm weather comes from: KMA through the key pool, or the local sample of the same shape.

Both sources answer the five operations with the items KMA returns (every value a string), so the
rows are always read by the same code (`inspig_assets.weather`). The sample is deterministic: the
same grid, station and time always give the same items.
"""

import datetime as dt
import math
from typing import Any, Protocol

import requests

from resources.kma import KeyPool, KmaResource, _unit

Items = list[dict[str, Any]]


class WeatherSource(Protocol):
    """The KMA operations the farm weather uses."""

    label: str

    def forecast(self, nx: int, ny: int, base: tuple[str, str]) -> Items:
        """The items of `getVilageFcst`."""

    def nowcast(self, nx: int, ny: int, base: tuple[str, str]) -> Items:
        """The items of `getUltraSrtNcst`."""

    def mid_ta(self, reg_id: str, tm_fc: str) -> Items:
        """The items of `getMidTa`."""

    def mid_land(self, reg_id: str, tm_fc: str) -> Items:
        """The items of `getMidLandFcst`."""

    def asos_daily(self, station: int, first: dt.date, last: dt.date) -> Items:
        """AsosDalyInfoService items."""


class KmaPoolSource:
    """KMA on data.go.kr, each call with the least-used key of the pool."""

    def __init__(self, kma: KmaResource, pool: KeyPool) -> None:
        self.kma, self.pool = kma, pool
        self.session: requests.Session = kma.session()
        self.label = f"kma ({len(pool.keys)} key(s) of TS_API_KEY_INFO)"

    def forecast(self, nx: int, ny: int, base: tuple[str, str]) -> Items:
        """The items of `getVilageFcst`."""
        return self.pool.call(
            lambda key: self.kma.vilage_fcst(key, nx, ny, base, self.session), f"grid {nx},{ny}"
        )

    def nowcast(self, nx: int, ny: int, base: tuple[str, str]) -> Items:
        """The items of `getUltraSrtNcst`."""
        return self.pool.call(
            lambda key: self.kma.ultra_srt_ncst(key, nx, ny, base, self.session),
            f"grid {nx},{ny}",
        )

    def mid_ta(self, reg_id: str, tm_fc: str) -> Items:
        """The items of `getMidTa`."""
        return self.pool.call(
            lambda key: self.kma.mid_ta(key, reg_id, tm_fc, self.session), f"region {reg_id}"
        )

    def mid_land(self, reg_id: str, tm_fc: str) -> Items:
        """The items of `getMidLandFcst`."""
        return self.pool.call(
            lambda key: self.kma.mid_land_fcst(key, reg_id, tm_fc, self.session),
            f"region {reg_id}",
        )

    def asos_daily(self, station: int, first: dt.date, last: dt.date) -> Items:
        """AsosDalyInfoService items."""
        return self.pool.call(
            lambda key: self.kma.asos_daily(key, station, first, last, self.session),
            f"station {station}",
        )


# -- the sample -----------------------------------------------------------------------------------
def _temperature(lat: float, moment: dt.datetime, *seed: object) -> float:
    """Sample air temperature: season, latitude, time of day and a seeded wobble."""
    doy = moment.timetuple().tm_yday
    season = 13.0 - 14.0 * math.cos(2 * math.pi * (doy - 15) / 365.25) - (lat - 36.0) * 0.8
    daily = 4.5 * math.sin(2 * math.pi * (moment.hour - 9) / 24)
    return season + daily + 3 * (_unit("t", *seed, moment.date()) - 0.5)


def _grid_lat(ny: int) -> float:
    return 33.0 + (ny - 30) * 0.045  # the grid's y runs about 5 km (0.045°) per step northwards


def _rain_mm(*seed: object) -> float:
    draw = _unit("rain", *seed)
    return 0.0 if draw < 0.8 else round((draw - 0.8) * 40, 1)


def _pcp_text(mm: float) -> str:
    if mm <= 0:
        return "강수없음"
    if mm < 1:
        return "1.0mm 미만"
    if mm >= 50:
        return "50.0mm 이상"
    if mm >= 30:
        return "30.0~50.0mm"
    return f"{mm:.1f}mm"


class SampleSource:
    """Deterministic KMA-shaped items (local mode: no keys, no network)."""

    label = "sample"

    def forecast(self, nx: int, ny: int, base: tuple[str, str]) -> Items:
        """Items of one issuance: from the next hour to 23:00 two days later."""
        issued = dt.datetime.strptime(base[0] + base[1], "%Y%m%d%H%M")
        first = issued + dt.timedelta(hours=1)
        last = dt.datetime.combine(issued.date() + dt.timedelta(days=2), dt.time(23))
        items: Items = []
        moment = first
        while moment <= last:
            seed = (nx, ny, moment.strftime("%Y%m%d%H"))
            sky = ("1", "3", "4")[int(_unit("sky", nx, ny, moment.date(), moment.hour // 6) * 3)]
            rain = _rain_mm(*seed) if sky == "4" else 0.0
            pty = "0" if rain == 0 else ("3" if _temperature(_grid_lat(ny), moment) < 0 else "1")
            values = {
                "TMP": f"{_temperature(_grid_lat(ny), moment, nx, ny):.0f}",
                "POP": str(int(60 + 30 * _unit("pop", *seed)) if rain else int(30 * _unit(*seed))),
                "PCP": _pcp_text(rain), "REH": str(int(50 + 40 * _unit("reh", *seed))),
                "WSD": f"{0.5 + 6 * _unit('wsd', *seed):.1f}",
                "VEC": str(int(360 * _unit("vec", *seed))), "SKY": sky, "PTY": pty,
            }  # fmt: skip
            for category, value in values.items():
                items.append(
                    {
                        "baseDate": base[0], "baseTime": base[1], "category": category,
                        "fcstDate": moment.strftime("%Y%m%d"), "fcstTime": moment.strftime("%H00"),
                        "fcstValue": value, "nx": nx, "ny": ny,
                    }
                )  # fmt: skip
            moment += dt.timedelta(hours=1)
        return items

    def nowcast(self, nx: int, ny: int, base: tuple[str, str]) -> Items:
        """The observation of one hour."""
        moment = dt.datetime.strptime(base[0] + base[1], "%Y%m%d%H%M")
        seed = (nx, ny, moment.strftime("%Y%m%d%H"), "obs")
        rain = _rain_mm(*seed)
        values = {
            "T1H": f"{_temperature(_grid_lat(ny), moment, nx, ny) + _unit(*seed) - 0.5:.1f}",
            "RN1": f"{rain:.1f}" if rain else "0", "REH": str(int(50 + 40 * _unit("reh", *seed))),
            "WSD": f"{0.5 + 6 * _unit('wsd', *seed):.1f}",
            "VEC": str(int(360 * _unit("vec", *seed))), "PTY": "1" if rain else "0",
        }  # fmt: skip
        return [
            {"baseDate": base[0], "baseTime": base[1], "category": c, "nx": nx, "ny": ny,
             "obsrValue": v}
            for c, v in values.items()
        ]  # fmt: skip

    def mid_ta(self, reg_id: str, tm_fc: str) -> Items:
        """One item: taMin3…taMax10."""
        issued = dt.datetime.strptime(tm_fc[:8], "%Y%m%d")
        item: dict[str, Any] = {"regId": reg_id}
        for n in range(3, 11):
            noon = issued + dt.timedelta(days=n, hours=15)
            high = round(_temperature(36.0, noon, reg_id))
            item[f"taMin{n}"] = str(high - 6 - int(4 * _unit("spread", reg_id, noon.date())))
            item[f"taMax{n}"] = str(high)
        return [item]

    def mid_land(self, reg_id: str, tm_fc: str) -> Items:
        """One item: rnSt3Am…rnSt10 and wf3Am…wf10."""
        issued = dt.datetime.strptime(tm_fc[:8], "%Y%m%d").date()
        texts = ("맑음", "구름많음", "흐림", "구름많고 비", "흐리고 비", "흐리고 소나기")
        item: dict[str, Any] = {"regId": reg_id}
        for n in range(3, 11):
            day = issued + dt.timedelta(days=n)
            halves = ("Am", "Pm") if n <= 7 else ("",)
            for half in halves:
                draw = _unit("wf", reg_id, day, half)
                text = texts[int(draw * len(texts))]
                item[f"wf{n}{half}"] = text
                rainy = "비" in text or "소나기" in text
                item[f"rnSt{n}{half}"] = str(60 + int(30 * draw) if rainy else int(40 * draw))
        return [item]

    def asos_daily(self, station: int, first: dt.date, last: dt.date) -> Items:
        """One item per day (as AsosDalyInfoService serves them, up to yesterday)."""
        items: Items = []
        day = first
        while day <= last:
            noon = dt.datetime.combine(day, dt.time(15))
            high = _temperature(36.0, noon, station) + 1.0
            low = high - 7 - 4 * _unit("spread", station, day)
            rain = _rain_mm(station, day)
            items.append(
                {
                    "tm": day.isoformat(), "stnId": str(station),
                    "avgTa": f"{(high + low) / 2:.1f}", "maxTa": f"{high:.1f}",
                    "minTa": f"{low:.1f}",
                    "sumRn": f"{rain:.1f}" if rain else "",
                    "avgRhm": f"{55 + 35 * _unit('rhm', station, day):.1f}",
                    "avgWs": f"{0.8 + 4 * _unit('ws', station, day):.1f}",
                }
            )  # fmt: skip
            day += dt.timedelta(days=1)
        return items
