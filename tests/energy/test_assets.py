"""The energy assets materialized against real PostgreSQL with the sample sources."""

import datetime as dt
from pathlib import Path

import dagster as dg
import pandas as pd
import sqlalchemy as sa
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from energy_assets import checks, schema, store
from energy_assets.assets.nambu import nambu_generation, nambu_start_dates
from energy_assets.assets.namdong import namdong_generation
from energy_assets.assets.reference import nambu_plants, namdong_plants, plant_data_quality
from energy_assets.assets.weather import weather_asos, weather_asos_imputed
from energy_assets.sample import kospo_first_day
from energy_assets.sources import KospoResource
from resources.kma import ASOS_STATIONS
from resources.kst import KST, today_kst
from resources.warehouse import WarehouseResource
from tests.energy.conftest import sample_resources
from tests.energy.test_sources import PAYLOADS

DAILY = [weather_asos, weather_asos_imputed, nambu_generation]
CHECKS = dg.load_asset_checks_from_modules([checks])


def count(warehouse: WarehouseResource, table: str) -> int:
    return int(warehouse.read_frame(f"SELECT count(*) AS n FROM {table}").at[0, "n"])


def test_every_asset_runs_on_the_sample_sources_and_every_check_passes(
    warehouse: WarehouseResource, tmp_path: Path
) -> None:
    """What `make demo` does: the latest day, the latest month, then the unpartitioned assets."""
    resources = sample_resources(warehouse, tmp_path)
    yesterday = (today_kst() - dt.timedelta(days=1)).isoformat()
    month = (today_kst().replace(day=1) - dt.timedelta(days=1)).replace(day=1).isoformat()
    runs = [
        dg.materialize(DAILY, partition_key=yesterday, resources=resources),
        dg.materialize([namdong_generation], partition_key=month, resources=resources),
        dg.materialize(
            [nambu_plants, namdong_plants, nambu_start_dates, *CHECKS],
            resources=resources,
            selection=[nambu_plants, namdong_plants, nambu_start_dates],
        ),
        dg.materialize(
            [plant_data_quality, *CHECKS],
            resources=resources,
            partition_key=yesterday,
            selection=[plant_data_quality],
        ),
    ]
    assert all(r.success for r in runs)
    # 43 stations × 24 hours, minus the few absent rows of the sample feed
    assert 0.97 * 43 * 24 <= count(warehouse, "weather_asos") <= 43 * 24
    assert count(warehouse, "weather_asos_imputed") == len(ASOS_STATIONS) * 24
    assert count(warehouse, "nambu_plants") == 31 and count(warehouse, "namdong_plants") == 23
    assert count(warehouse, "nambu_start_dates") == 31
    grades = warehouse.read_frame("SELECT plant_name, data_quality FROM plant_data_quality")
    assert "신인천전망대태양광" in set(grades[grades["data_quality"] != "ok"]["plant_name"])
    source = runs[0].asset_materializations_for_node("nambu_generation")[0].metadata["source"]
    assert source.value == "sample"


def test_checks_pass_on_the_sample_data(warehouse: WarehouseResource, tmp_path: Path) -> None:
    resources = sample_resources(warehouse, tmp_path)
    yesterday = (today_kst() - dt.timedelta(days=1)).isoformat()
    month = (today_kst().replace(day=1) - dt.timedelta(days=1)).replace(day=1).isoformat()
    dg.materialize(DAILY, partition_key=yesterday, resources=resources)
    dg.materialize([namdong_generation], partition_key=month, resources=resources)
    everything = [
        *DAILY,
        namdong_generation,
        nambu_plants,
        namdong_plants,
        plant_data_quality,
        nambu_start_dates,
    ]
    result = dg.materialize(
        [*everything, *CHECKS],
        resources=resources,
        selection=dg.AssetSelection.checks(*CHECKS),
    )
    evaluations = result.get_asset_check_evaluations()
    assert evaluations and all(e.passed for e in evaluations), [
        e.asset_check_key.name for e in evaluations if not e.passed
    ]


def test_rematerializing_gives_the_same_rows(warehouse: WarehouseResource, tmp_path: Path) -> None:
    resources = sample_resources(warehouse, tmp_path, as_of=dt.date(2025, 7, 1))
    tables = ["weather_asos", "weather_asos_imputed", "nambu_generation", "namdong_generation"]

    def snapshot() -> dict[str, pd.DataFrame]:
        return {
            t: warehouse.read_frame(f"SELECT * FROM {t} ORDER BY 1, 2, 3").round(6) for t in tables
        }

    for _ in range(2):
        dg.materialize(DAILY, partition_key="2025-06-20", resources=resources)
        dg.materialize([namdong_generation], partition_key="2025-05-01", resources=resources)
    first = snapshot()
    dg.materialize(DAILY, partition_key="2025-06-20", resources=resources)
    dg.materialize([namdong_generation], partition_key="2025-05-01", resources=resources)
    for table, frame in snapshot().items():
        pd.testing.assert_frame_equal(frame, first[table])
    # KOEN May: 31 days × 24 h for the units that report (삼천포 #5_2 reports in May too)
    assert count(warehouse, "namdong_generation") <= 23 * 31 * 24


def test_null_never_overwrites_a_stored_weather_value(
    warehouse: WarehouseResource, tmp_path: Path
) -> None:
    resources = sample_resources(warehouse, tmp_path)
    dg.materialize([weather_asos], partition_key="2025-06-20", resources=resources)
    row = warehouse.read_frame(
        "SELECT timestamp, station_id FROM weather_asos WHERE temperature IS NOT NULL LIMIT 1"
    )
    warehouse.execute(
        "UPDATE weather_asos SET temperature = 99.5 WHERE timestamp = :t AND station_id = :s",
        {"t": row.at[0, "timestamp"], "s": int(row.at[0, "station_id"])},
    )
    # a re-run that sees a blank cell for the same hour keeps the stored value
    blank = pd.DataFrame(
        {
            "timestamp": [row.at[0, "timestamp"]],
            "station_id": [row.at[0, "station_id"]],
            "temperature": [None],
            "humidity": [None],
        }
    )
    store.upsert_keeping_stored(
        warehouse, blank, store.schema.weather_asos, ["timestamp", "station_id"]
    )
    kept = warehouse.read_frame("SELECT temperature FROM weather_asos WHERE temperature = 99.5")
    assert len(kept) == 1


def _item_xml(day: dt.date, hours: int) -> str:
    values = "".join(
        f"<qhorgen{n:02d}>{'' if n > hours else (10 * n if 6 <= n <= 18 else 0)}</qhorgen{n:02d}>"
        for n in range(1, 25)
    )
    return (
        "<response><header><resultCode>800</resultCode><resultMsg>NORMAL_SERVICE.</resultMsg>"
        f"</header><body><items><item><gencd>997S</gencd><hogi>1</hogi><ipptnm>x</ipptnm>{values}"
        f"<qvodgen>1</qvodgen><ymd>{day.isoformat()}</ymd></item></items><totalCnt>1</totalCnt>"
        "</body></response>"
    )


def test_a_23_hour_day_is_collected_again_and_completes(
    warehouse: WarehouseResource, tmp_path: Path, httpserver: HTTPServer
) -> None:
    day, next_day = dt.date(2025, 6, 20), dt.date(2025, 6, 21)
    answers = {"first": True}

    def answer(request: Request) -> Response:
        start = dt.datetime.strptime(request.args["strSdate"], "%Y%m%d").date()
        end = dt.datetime.strptime(request.args["strEdate"], "%Y%m%d").date()
        items = []
        for d in (day, next_day):
            if start <= d <= end:
                # the first answer for the 20th lacks label 24; later answers are complete
                hours = 23 if d == day and answers["first"] else 24
                items.append(_item_xml(d, hours).split("<items>")[1].split("</items>")[0])
        if start <= day <= end:
            answers["first"] = False
        body = _item_xml(day, 24).split("<items>")[0] + "<items>" + "".join(items)
        return Response(body + f"</items><totalCnt>{len(items)}</totalCnt></body></response>")

    httpserver.expect_request("/kospo").respond_with_handler(answer)
    kospo = KospoResource(service_key="k", url=httpserver.url_for("/kospo"), pause_seconds=0)
    resources = sample_resources(warehouse, tmp_path, kospo=kospo)
    config = {"ops": {"nambu_generation": {"config": {"gencd": "997S", "hogi": 1}}}}
    dg.materialize(
        [nambu_generation], partition_key="2025-06-20", resources=resources, run_config=config
    )
    hours = (
        "SELECT count(DISTINCT datetime) AS n FROM nambu_generation "
        "WHERE (datetime AT TIME ZONE 'Asia/Seoul')::date = :d"
    )
    assert int(warehouse.read_frame(hours, {"d": day}).at[0, "n"]) == 23
    result = dg.materialize(
        [nambu_generation], partition_key="2025-06-21", resources=resources, run_config=config
    )
    # the run for the 21st asked again from the 20th (one range call) and the 20th is complete
    starts = [r.args["strSdate"] for r, _ in httpserver.log]
    assert starts[-1] == "20250620"
    frame = warehouse.read_frame(
        "SELECT (datetime AT TIME ZONE 'Asia/Seoul')::date AS day, count(*) AS n "
        "FROM nambu_generation GROUP BY 1 ORDER BY 1"
    )
    assert list(frame["n"]) == [24, 24]
    meta = result.asset_materializations_for_node("nambu_generation")[0].metadata
    assert meta["healed_days"].value == 1 and meta["incomplete_unit_days"].value == 0


def test_start_dates_are_found_by_a_bounded_search(
    warehouse: WarehouseResource, tmp_path: Path
) -> None:
    resources = sample_resources(warehouse, tmp_path)
    config = {"ops": {"nambu_start_dates": {"config": {"gencd": "H997"}}}}
    result = dg.materialize([nambu_start_dates], resources=resources, run_config=config)
    frame = warehouse.read_frame("SELECT * FROM nambu_start_dates ORDER BY hogi")
    assert list(frame["start_date"]) == [kospo_first_day("H997", h) for h in (1, 2, 3)]
    calls = result.asset_materializations_for_node("nambu_start_dates")[0].metadata["api_calls"]
    # log2 of the days since 2010 (≈ 13) + log2(365) (≈ 9) + 1 per unit, far below a day scan
    assert calls.value <= 3 * 25


def test_koen_raw_files_are_kept_and_reported(warehouse: WarehouseResource, tmp_path: Path) -> None:
    resources = sample_resources(warehouse, tmp_path)
    result = dg.materialize([namdong_generation], partition_key="2025-05-01", resources=resources)
    meta = result.asset_materializations_for_node("namdong_generation")[0].metadata
    assert meta["files"].value == 1
    assert (tmp_path / "koen" / "south_pv_전체_20250501-20250531.csv").exists()
    assert PAYLOADS.exists()


def test_a_refused_key_fails_at_once_with_source_partition_and_plant(
    warehouse: WarehouseResource, tmp_path: Path, httpserver: HTTPServer
) -> None:
    unregistered = (PAYLOADS / "gateway_unregistered.xml").read_text(encoding="utf-8")
    httpserver.expect_request("/kospo").respond_with_data(unregistered)
    kospo = KospoResource(service_key="k", url=httpserver.url_for("/kospo"), pause_seconds=0)
    result = dg.materialize(
        [nambu_generation],
        partition_key="2025-06-20",
        resources=sample_resources(warehouse, tmp_path, kospo=kospo),
        run_config={"ops": {"nambu_generation": {"config": {"gencd": "997S", "hogi": 1}}}},
        raise_on_error=False,
    )
    assert not result.success
    # a key error stays: one call, no step retry
    assert len(httpserver.log) == 1
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    (failed,) = result.get_step_failure_events()
    text = failed.step_failure_data.user_failure_data.description
    assert text.startswith("kospo (partition 2025-06-20, plant 997S/1): HTTP 200, gateway error")
    assert "SERVICE_KEY_IS_NOT_REGISTERED_ERROR" in text


def quality_grades(warehouse: WarehouseResource) -> pd.DataFrame:
    return warehouse.read_frame(
        "SELECT operator, plant_key, day, data_quality, note, days, window_start, window_end "
        "FROM plant_data_quality ORDER BY 1, 2, 3"
    )


def test_quality_grades_each_day_of_its_partitions_over_that_days_window(
    warehouse: WarehouseResource, tmp_path: Path
) -> None:
    resources = sample_resources(warehouse, tmp_path, as_of=dt.date(2025, 7, 1))
    config = {"ops": {"nambu_generation": {"config": {"gencd": "997D"}}}}  # one unit, ESS defect
    range_tags = {
        "dagster/asset_partition_range_start": "2025-05-01",
        "dagster/asset_partition_range_end": "2025-05-20",
    }
    dg.materialize([nambu_generation], resources=resources, run_config=config, tags=range_tags)
    backfill = {
        "dagster/asset_partition_range_start": "2025-05-18",
        "dagster/asset_partition_range_end": "2025-05-20",
    }
    dg.materialize([plant_data_quality], resources=resources, tags=backfill)
    graded = quality_grades(warehouse)
    # a three-day backfill grades each of its days for the unit
    assert list(graded["day"]) == [dt.date(2025, 5, 18), dt.date(2025, 5, 19), dt.date(2025, 5, 20)]
    # the 20th: window 2025-04-16 … 2025-05-20 (35 days), data stored from the 1st: 20 days
    last = graded.iloc[-1]
    assert (last["window_start"], last["window_end"]) == (
        dt.date(2025, 4, 16),
        dt.date(2025, 5, 20),
    )
    assert last["days"] == 20
    assert last["data_quality"] == "hourly_invalid" and "rated_evening" in last["note"]

    # newer data stored later (June) leaves the grade of 2025-05-20 as it was
    june = {
        "dagster/asset_partition_range_start": "2025-06-01",
        "dagster/asset_partition_range_end": "2025-06-20",
    }
    dg.materialize([nambu_generation], resources=resources, run_config=config, tags=june)
    dg.materialize([plant_data_quality], resources=resources, partition_key="2025-05-20")
    again = quality_grades(warehouse)
    pd.testing.assert_frame_equal(again, graded)


def test_units_without_recent_data_are_not_called_unless_asked(
    warehouse: WarehouseResource, tmp_path: Path
) -> None:
    resources = sample_resources(warehouse, tmp_path, as_of=dt.date(2025, 7, 1))
    store.ensure_tables(warehouse)
    probed = pd.Timestamp("2025-06-25 10:00", tz="Asia/Seoul")
    # 997S/1: the probe found nothing in the year before 2025-06-25 (inactive);
    # H997/1: its data begins after the day asked; 9987/1: active since 2015
    start_dates = pd.DataFrame(
        {
            "gencd": ["997S", "H997", "9987"],
            "hogi": [1, 1, 1],
            "start_date": [None, dt.date(2025, 7, 1), dt.date(2015, 3, 1)],
            "calls": [14, 22, 22],
            "probed_at": [probed] * 3,
        }
    )
    warehouse.copy_frame(start_dates, "nambu_start_dates")
    result = dg.materialize([nambu_generation], partition_key="2025-06-20", resources=resources)
    units = warehouse.read_frame(
        "SELECT DISTINCT gencd || '/' || hogi AS unit FROM nambu_generation"
    )
    assert "997S/1" not in set(units["unit"]) and "H997/1" not in set(units["unit"])
    assert "9987/1" in set(units["unit"]) and len(units) == 31 - 2
    meta = result.asset_materializations_for_node("nambu_generation")[0].metadata
    assert meta["units_skipped"].value == 2 and meta["units"].value == 29
    assert (
        "신인천북측부지태양광" in meta["skipped"].value
        and "하동화력태양광" in meta["skipped"].value
    )

    config = {"ops": {"nambu_generation": {"config": {"include_inactive": True}}}}
    dg.materialize(
        [nambu_generation], partition_key="2025-06-20", resources=resources, run_config=config
    )
    units = warehouse.read_frame(
        "SELECT DISTINCT gencd || '/' || hogi AS unit FROM nambu_generation"
    )
    assert len(units) == 31


def test_a_kospo_unit_day_short_of_24_hours_fails_the_check_once_past_healing(
    warehouse: WarehouseResource, tmp_path: Path
) -> None:
    store.ensure_tables(warehouse)
    today = today_kst()
    old, recent = today - dt.timedelta(days=30), today - dt.timedelta(days=1)
    rows = [
        {"datetime": dt.datetime.combine(day, dt.time(hour), KST), "gencd": "997S", "hogi": 1}
        for day, hours in ((old, [h for h in range(24) if h != 5]), (recent, range(20)))
        for hour in hours
    ]
    # a complete day of another unit is not listed
    rows += [
        {"datetime": dt.datetime.combine(old, dt.time(hour), KST), "gencd": "997S", "hogi": 2}
        for hour in range(24)
    ]
    with warehouse.begin() as conn:
        conn.execute(sa.insert(schema.nambu_generation), rows)
    check = checks.nambu_24_hours
    result = dg.materialize(
        [nambu_generation, check],
        resources=sample_resources(warehouse, tmp_path),
        selection=dg.AssetSelection.checks(check),
    )
    (evaluation,) = result.get_asset_check_evaluations()
    meta = evaluation.metadata
    assert not evaluation.passed
    assert meta["failing_unit_days"].value == 1 and meta["healing_unit_days"].value == 1
    # the old day lacks one hour of 24, the recent one four
    assert f"| 997S/1 | {old.isoformat()} | 23 |" in meta["failing"].value
    assert f"| 997S/1 | {recent.isoformat()} | 20 |" in meta["healing"].value
