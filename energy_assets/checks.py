"""Asset checks of the energy tables; check names are spelled only here."""

import datetime as dt

import dagster as dg

from energy_assets.assets.nambu import (
    HEAL_DAYS,
    nambu_generation,
    nambu_start_dates,
    short_unit_days,
)
from energy_assets.assets.namdong import namdong_generation
from energy_assets.assets.reference import nambu_plants, namdong_plants, plant_data_quality
from energy_assets.assets.weather import weather_asos, weather_asos_imputed
from energy_assets.plants import KNOWN_SOURCE_DEFECTS
from resources.kst import KST_NAME, today_kst
from resources.metadata import md_table
from resources.warehouse import WarehouseResource

CHECK_24_HOURS = "nambu_24_hours_per_unit_day"
CHECK_NAMBU_NOT_NEGATIVE = "nambu_no_negative_generation"
CHECK_NAMDONG_NOT_NEGATIVE = "namdong_no_negative_generation"
CHECK_DAILY_TOTAL = "nambu_daily_total_matches_hours"
CHECK_FLAGGED_PLANTS = "only_audited_plants_flagged"
CHECK_IMPUTED_SHARE = "imputed_share_under_threshold"
CHECK_WEATHER_RANGE = "weather_values_in_range"
CHECK_COORDINATES = "plant_coordinates_in_korea"
CHECK_START_DATES = "start_dates_probed"

IMPUTED_SHARE_MAX = 0.10
DAILY_TOTAL_TOLERANCE = 0.01  # relative, with at least 1 kWh
KOREA = (33.0, 38.7, 124.5, 131.0)  # lat min/max, lon min/max


@dg.asset_check(asset=nambu_generation, name=CHECK_24_HOURS)
def nambu_24_hours(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Every unit-day has 24 distinct hours once it is older than the re-collection window."""
    short = short_unit_days(warehouse)
    short["unit"] = short["gencd"] + "/" + short["hogi"].astype(str)
    frame = short[["unit", "day", "hours"]].sort_values(["day", "unit"], ignore_index=True)
    healing_from = today_kst() - dt.timedelta(days=HEAL_DAYS)
    failing = frame[frame["day"] < healing_from]
    healing = frame[frame["day"] >= healing_from]
    return dg.AssetCheckResult(
        passed=failing.empty,
        metadata={
            "failing_unit_days": len(failing),
            "failing": md_table(failing.head(100)),
            "healing_unit_days": len(healing),
            "healing": md_table(healing.head(50), empty="_none_"),
        },
    )


def _negative(warehouse: WarehouseResource, table: str) -> dg.AssetCheckResult:
    frame = warehouse.read_frame(
        f"SELECT * FROM {table} WHERE generation < 0 ORDER BY datetime LIMIT 50"
    )
    return dg.AssetCheckResult(
        passed=frame.empty, metadata={"negative_rows": len(frame), "rows": md_table(frame)}
    )


@dg.asset_check(asset=nambu_generation, name=CHECK_NAMBU_NOT_NEGATIVE)
def nambu_not_negative(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """No KOSPO hour has negative generation."""
    return _negative(warehouse, "nambu_generation")


@dg.asset_check(asset=namdong_generation, name=CHECK_NAMDONG_NOT_NEGATIVE)
def namdong_not_negative(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """No KOEN hour has negative generation."""
    return _negative(warehouse, "namdong_generation")


@dg.asset_check(asset=nambu_generation, name=CHECK_DAILY_TOTAL)
def nambu_daily_total(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """On complete days the source's daily total equals the sum of its hours (within 1 %)."""
    frame = warehouse.read_frame(
        """
        SELECT gencd || '/' || hogi AS unit, (datetime AT TIME ZONE :tz)::date AS day,
               SUM(generation) AS hourly_sum, MAX(daily_total) AS daily_total
        FROM nambu_generation GROUP BY 1, 2
        HAVING COUNT(*) = 24 AND MAX(daily_total) IS NOT NULL
           AND abs(SUM(generation) - MAX(daily_total))
               > GREATEST(1.0, :tolerance * abs(MAX(daily_total)))
        ORDER BY 2, 1
        """,
        {"tolerance": DAILY_TOTAL_TOLERANCE, "tz": KST_NAME},
    )
    return dg.AssetCheckResult(
        passed=frame.empty,
        metadata={"mismatched_unit_days": len(frame), "mismatches": md_table(frame.head(50))},
    )


@dg.asset_check(asset=plant_data_quality, name=CHECK_FLAGGED_PLANTS)
def flagged_plants(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Only plants the source-defect audit graded are flagged; any other flag is news."""
    frame = warehouse.read_frame(
        "SELECT operator, plant_name, data_quality, MIN(day) AS first_day, MAX(day) AS last_day, "
        "COUNT(*) AS days, MAX(note) AS note FROM plant_data_quality "
        "WHERE data_quality <> 'ok' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    )
    new = frame[~frame["plant_name"].isin(list(KNOWN_SOURCE_DEFECTS))]
    return dg.AssetCheckResult(
        passed=new.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "flagged": len(frame),
            "not_in_audit": len(new),
            "new_flags": md_table(new, empty="_none_"),
            "audited_flags": md_table(frame[frame["plant_name"].isin(list(KNOWN_SOURCE_DEFECTS))]),
        },
    )


@dg.asset_check(asset=weather_asos_imputed, name=CHECK_IMPUTED_SHARE)
def imputed_share(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Under 10 % of the last 30 days' temperature and humidity values are filled in."""
    frame = warehouse.read_frame(
        """
        SELECT count(*) FILTER (WHERE temperature_method <> 'measured')
             + count(*) FILTER (WHERE humidity_method <> 'measured') AS filled,
               2 * count(*) AS total
        FROM weather_asos_imputed
        WHERE timestamp >= (SELECT MAX(timestamp) FROM weather_asos_imputed) - interval '30 days'
        """
    )
    filled, total = int(frame.at[0, "filled"] or 0), int(frame.at[0, "total"] or 0)
    share = filled / total if total else 0.0
    return dg.AssetCheckResult(
        passed=share < IMPUTED_SHARE_MAX,
        metadata={"imputed_share": round(share, 4), "threshold": IMPUTED_SHARE_MAX},
    )


@dg.asset_check(asset=weather_asos, name=CHECK_WEATHER_RANGE)
def weather_range(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Temperatures lie in −40…50 °C, humidity in 0…100 %, radiation is not negative."""
    frame = warehouse.read_frame(
        "SELECT * FROM weather_asos WHERE temperature NOT BETWEEN -40 AND 50 "
        "OR humidity NOT BETWEEN 0 AND 100 OR solar_radiation < 0 LIMIT 50"
    )
    return dg.AssetCheckResult(passed=frame.empty, metadata={"rows": md_table(frame)})


def _coordinates(warehouse: WarehouseResource, table: str) -> dg.AssetCheckResult:
    lat0, lat1, lon0, lon1 = KOREA
    frame = warehouse.read_frame(
        f"SELECT plant_name, latitude, longitude FROM {table} WHERE latitude IS NOT NULL AND "
        f"NOT (latitude BETWEEN {lat0} AND {lat1} AND longitude BETWEEN {lon0} AND {lon1})"
    )
    missing = warehouse.read_frame(f"SELECT plant_name FROM {table} WHERE latitude IS NULL")
    return dg.AssetCheckResult(
        passed=frame.empty,
        metadata={
            "outside_korea": md_table(frame, empty="_none_"),
            "without_coordinates": ", ".join(missing["plant_name"]) or "-",
        },
    )


@dg.asset_check(asset=nambu_plants, name=CHECK_COORDINATES)
def nambu_coordinates(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Every known KOSPO site lies in Korea."""
    return _coordinates(warehouse, "nambu_plants")


@dg.asset_check(asset=namdong_plants, name=CHECK_COORDINATES)
def namdong_coordinates(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Every known KOEN site lies in Korea."""
    return _coordinates(warehouse, "namdong_plants")


@dg.asset_check(asset=nambu_start_dates, name=CHECK_START_DATES)
def start_dates(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Every probed start date lies between 2010 and yesterday."""
    frame = warehouse.read_frame(
        "SELECT * FROM nambu_start_dates WHERE start_date < '2010-01-01' OR start_date >= :today",
        {"today": today_kst()},
    )
    return dg.AssetCheckResult(passed=frame.empty, metadata={"rows": md_table(frame)})
