"""Weather rules without Dagster: grids, text buckets, availability, recorded payloads, MERGE."""

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy.dialects import oracle, postgresql

from inspig_assets import schema as t
from inspig_assets.weather import (
    BadValue,
    asos_rows,
    daily_from_hourly,
    forecast_hourly_rows,
    midterm_region,
    midterm_rows,
    nowcast_hourly_row,
    parse_precip,
    text_weather,
)
from inspig_assets.weather_store import Mode, Station, nearest_station, upsert_statement
from resources.kma import (
    forecast_base,
    haversine_km,
    last_asos_day,
    latlon_to_grid,
    midterm_tmfc,
    nowcast_base,
    parse_kma_page,
)
from resources.kst import KST

PAYLOADS = Path(__file__).parent / "payloads" / "kma"


def items(name: str) -> list[dict]:
    return parse_kma_page((PAYLOADS / name).read_text(encoding="utf-8"))[0]


# -- grids and stations ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("place", "lat", "lon", "grid"),
    [
        # the check values KMA publishes with its conversion code
        ("Seoul", 37.5665, 126.9780, (60, 127)),
        ("Busan", 35.1796, 129.0756, (98, 76)),
        ("Jeju", 33.4996, 126.5312, (53, 38)),
    ],
)
def test_lambert_grid_of_known_places(
    place: str, lat: float, lon: float, grid: tuple[int, int]
) -> None:
    assert latlon_to_grid(lat, lon) == grid, place


def test_nearest_station_by_haversine() -> None:
    # Seoul City Hall to Seoul station 108 (37.5714, 126.9658): about 1.2 km; Suwon is ~33 km
    stations = [Station(119, "수원", 37.2723, 126.9853), Station(108, "서울", 37.5714, 126.9658)]
    station, km = nearest_station(37.5665, 126.9780, stations)
    assert station.stn_id == 108 and 1.0 < km < 1.4
    # one degree of latitude is 2πR/360 = 111.19 km
    assert haversine_km(36.0, 127.0, 37.0, 127.0) == pytest.approx(111.19, abs=0.01)


# -- values ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "mm"),
    [
        ("강수없음", 0.0),
        ("1.0mm 미만", 0.5),  # below 1 mm: the middle of the bucket, never 1.0
        ("2.5mm", 2.5),
        ("30.0~50.0mm", 40.0),
        ("50.0mm 이상", 50.0),
        ("0", 0.0),
        ("1.0cm 미만", 0.5),
    ],
)
def test_precipitation_buckets(text: str, mm: float) -> None:
    assert parse_precip(text) == mm


def test_an_unknown_precipitation_text_is_refused() -> None:
    with pytest.raises(BadValue, match="'많음'"):
        parse_precip("많음")


def test_midterm_texts_and_regions() -> None:
    texts = ("맑음", "구름많음", "흐림", "구름많고 비", "흐리고 비/눈")
    assert [text_weather(x) for x in texts] == [
        "sunny", "cloudy", "overcast", "rainy", "rain_snow",
    ]  # fmt: skip
    assert text_weather("흐리고 소나기") == "shower" and text_weather("흐리고 눈") == "snow"
    assert midterm_region("41110") == ("11B20601", "11B00000")  # the spec's example (경기)
    assert midterm_region(None) == midterm_region("99999") == ("11B10101", "11B00000")  # Seoul


# -- availability ---------------------------------------------------------------------------------
def kst(day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=KST)


def test_forecast_base_time() -> None:
    assert forecast_base(kst(2, 2, 9)) == ("20261201", "2300")  # 02 is served from 02:10
    assert forecast_base(kst(2, 2, 10)) == ("20261202", "0200")
    assert forecast_base(kst(2, 13, 0)) == ("20261202", "1100")
    assert forecast_base(kst(2, 23, 59)) == ("20261202", "2300")
    assert forecast_base(kst(2, 0, 5)) == ("20261201", "2300")


def test_nowcast_waits_forty_minutes() -> None:
    assert nowcast_base(kst(2, 10, 39)) == ("20261202", "0900")
    assert nowcast_base(kst(2, 10, 40)) == ("20261202", "1000")
    assert nowcast_base(kst(2, 0, 20)) == ("20261201", "2300")


def test_midterm_issuance_and_last_asos_day() -> None:
    assert midterm_tmfc(kst(2, 6, 29)) == "202612011800"
    assert midterm_tmfc(kst(2, 6, 30)) == "202612020600"
    assert midterm_tmfc(kst(2, 18, 29)) == "202612020600"
    assert midterm_tmfc(kst(2, 18, 30)) == "202612021800"
    assert last_asos_day(dt.date(2026, 12, 2)) == dt.date(2026, 12, 1)


# -- recorded payloads → rows ---------------------------------------------------------------------
def test_forecast_hourly_rows_of_the_recorded_issuance() -> None:
    parsed = forecast_hourly_rows(items("vilage_fcst.json"), 60, 127)
    rows = {(r["wk_date"], r["wk_time"]): r for r in parsed.rows}
    assert not parsed.rejected and len(rows) == 5
    snow = rows[("20251201", "0700")]
    assert snow["temp"] == -1 and snow["rain_amt"] == 0.5 and snow["rain_prob"] == 60
    assert (snow["sky_cd"], snow["pty_cd"], snow["weather_cd"], snow["weather_nm"]) == (
        "4", "3", "snow", "눈",
    )  # fmt: skip
    assert rows[("20251201", "0800")]["weather_cd"] == "cloudy"  # PTY 0: the sky decides
    assert rows[("20251202", "0600")]["rain_amt"] == 40.0
    assert {r["is_forecast"] for r in parsed.rows} == {"Y"}
    assert {(r["base_date"], r["base_time"]) for r in parsed.rows} == {("20251201", "0500")}


def test_daily_rows_from_hourly_rows() -> None:
    daily = daily_from_hourly(forecast_hourly_rows(items("vilage_fcst.json"), 60, 127).rows)
    # 20251202 has a single temperature: no daily row
    assert [d["wk_date"] for d in daily] == ["20251201"]
    (day,) = daily
    # TMP -2, -1, 1, 6: mean 1.0, max 6, min -2; POP max 60; codes sunny, snow, cloudy, cloudy
    assert (day["temp_avg"], day["temp_high"], day["temp_low"]) == (1.0, 6.0, -2.0)
    assert day["rain_prob"] == 60 and day["rain_amt"] == 0.5
    assert day["weather_cd"] == "cloudy" and day["sky_cd"] == "1"  # the day's first sky
    assert day["fcst_dt"] == "202512010500" and day["is_forecast"] == "Y"


def test_nowcast_row_is_observed() -> None:
    (row,) = nowcast_hourly_row(items("ultra_srt_ncst.json"), 60, 127, sky="3").rows
    assert (row["wk_date"], row["wk_time"], row["temp"], row["humidity"]) == (
        "20251201", "1000", 3.4, 65,
    )  # fmt: skip
    assert row["is_forecast"] == "N" and row["weather_cd"] == "cloudy" and row["rain_amt"] == 0


def test_midterm_rows_of_days_3_to_10() -> None:
    (ta,), (land,) = items("mid_ta.json"), items("mid_land_fcst.json")
    parsed = midterm_rows(ta, land, "202512010600", 60, 127)
    rows = {r["wk_date"]: r for r in parsed.rows}
    assert not parsed.rejected
    assert sorted(rows) == [f"202512{d:02d}" for d in range(4, 12)]  # Dec 1 + 3 … + 10
    d4 = rows["20251205"]  # day +4: taMin4 -3, taMax4 6, rnSt4 60/30, wf4Am '구름많고 비'
    assert (d4["temp_low"], d4["temp_high"], d4["temp_avg"]) == (-3.0, 6.0, 1.5)
    assert d4["rain_prob"] == 60 and d4["weather_cd"] == "rainy"
    d8 = rows["20251209"]  # day +8: a single rnSt8 40, wf8 '흐리고 눈'
    assert d8["rain_prob"] == 40 and d8["weather_cd"] == "snow"


def test_asos_rows_replace_for_every_grid_of_the_station() -> None:
    parsed = asos_rows(items("asos_daily.json"), [(60, 127), (61, 126)])
    assert len(parsed.rows) == 4
    dry, wet = (r for r in parsed.rows if (r["nx"], r["ny"]) == (60, 127))
    assert dry["wk_date"] == "20251130" and dry["rain_amt"] == 0 and dry["weather_cd"] == "sunny"
    assert (wet["temp_avg"], wet["temp_high"], wet["temp_low"], wet["rain_amt"]) == (
        4.0, 8.3, 1.2, 3.5,
    )  # fmt: skip
    assert wet["weather_cd"] == "rainy" and wet["is_forecast"] == "N"


def test_a_bad_value_rejects_its_row_and_keeps_the_others() -> None:
    recorded = items("vilage_fcst.json")
    for item in recorded:
        if item["fcstTime"] == "0800" and item["category"] == "TMP":
            item["fcstValue"] = "abc"
    parsed = forecast_hourly_rows(recorded, 60, 127)
    assert len(parsed.rows) == 4
    assert parsed.rejected == ["forecast grid 60,127 20251201 0800: 'abc' is not a number"]


def test_error_envelopes_are_refusals_with_their_code() -> None:
    from resources.kma import KmaResultError

    with pytest.raises(KmaResultError, match="resultCode 22") as info:
        parse_kma_page((PAYLOADS / "result22.json").read_text())
    assert info.value.code == "22"
    assert parse_kma_page((PAYLOADS / "result03.json").read_text()) == ([], 0)
    envelope = (Path(__file__).parents[1] / "energy" / "payloads" / "gateway_quota.xml").read_text()
    with pytest.raises(KmaResultError, match="LIMITED_NUMBER"):
        parse_kma_page(envelope)


# -- the upsert on both databases -----------------------------------------------------------------
def test_merge_on_oracle_and_on_conflict_on_postgresql() -> None:
    columns = ["wk_date", "nx", "ny", "temp_avg", "is_forecast", "log_ins_dt", "log_upt_dt"]
    keys = ("nx", "ny", "wk_date")
    forecast = str(
        upsert_statement("oracle", t.tm_weather, columns, keys, Mode.FORECAST).compile(
            dialect=oracle.dialect()
        )
    )
    assert forecast.startswith(
        "MERGE INTO tm_weather t USING (SELECT :wk_date AS wk_date, :nx AS nx, :ny AS ny"
    )
    assert "ON (t.nx = s.nx AND t.ny = s.ny AND t.wk_date = s.wk_date)" in forecast
    assert "WHEN MATCHED THEN UPDATE SET t.temp_avg = s.temp_avg" in forecast
    assert "t.log_ins_dt = s.log_ins_dt" not in forecast  # the insert time stays
    assert "WHERE t.is_forecast = 'Y' WHEN NOT MATCHED THEN INSERT (wk_date" in forecast
    insert_only = str(
        upsert_statement("oracle", t.tm_weather, columns, keys, Mode.INSERT_ONLY).compile(
            dialect=oracle.dialect()
        )
    )
    assert "WHEN MATCHED" not in insert_only and "WHEN NOT MATCHED THEN INSERT" in insert_only
    observed = str(
        upsert_statement("postgresql", t.tm_weather, columns, keys, Mode.OVERWRITE).compile(
            dialect=postgresql.dialect()
        )
    )
    assert "ON CONFLICT (nx, ny, wk_date) DO UPDATE SET" in observed
    assert "WHERE" not in observed.split("DO UPDATE")[1]


def test_refused_keys_are_told_from_other_failures() -> None:
    from resources.http_source import SourceError, gateway_error
    from resources.kma import KmaResultError, refuses_key

    by_name = (
        "<OpenAPI_ServiceResponse><cmmMsgHeader><errMsg>SERVICE ERROR</errMsg><returnAuthMsg>"
        "LIMITED_NUMBER_OF_SERVICE_REQUESTS_EXCEEDS_ERROR</returnAuthMsg><returnReasonCode>"
        "LIMITED_NUMBER_OF_SERVICE_REQUESTS_EXCEEDS_ERROR</returnReasonCode></cmmMsgHeader>"
        "</OpenAPI_ServiceResponse>"
    )
    assert refuses_key(SourceError("kma", f"HTTP 200, {gateway_error(by_name)}", status=200))
    assert refuses_key(SourceError("kma", "HTTP 403: Forbidden", status=403))
    assert refuses_key(KmaResultError("kma", "resultCode 99: x", code="99"))
    assert not refuses_key(KmaResultError("kma", "resultCode 10: parameters", code="10"))
    assert not refuses_key(SourceError("kma", "HTTP 500: oops", status=500, transient=True))
