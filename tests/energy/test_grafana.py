"""Every Grafana panel's SQL runs against the warehouse with Grafana's macros substituted."""

import datetime as dt
import json
import re
from pathlib import Path

import dagster as dg
import pytest

from energy_assets.assets.nambu import nambu_generation
from energy_assets.assets.namdong import namdong_generation
from energy_assets.assets.reference import nambu_plants, namdong_plants, plant_data_quality
from energy_assets.assets.weather import weather_asos, weather_asos_imputed
from resources.warehouse import WarehouseResource
from tests.energy.conftest import sample_resources

DASHBOARD = Path(__file__).parents[2] / "energy_assets/grafana/dashboards/pv_dashboard.json"
PANELS = json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"]
FROM, TO = "'2025-05-01T00:00:00+09:00'::timestamptz", "'2025-06-01T00:00:00+09:00'::timestamptz"


def substitute(sql: str) -> str:
    """Grafana's PostgreSQL macros for the range May 2025 (KST)."""
    sql = re.sub(r"\$__timeFilter\(([^)]+)\)", rf"\1 BETWEEN {FROM} AND {TO}", sql)
    return sql.replace("$__timeFrom()", FROM).replace("$__timeTo()", TO)


@pytest.fixture
def loaded(warehouse: WarehouseResource, tmp_path: Path) -> WarehouseResource:
    resources = sample_resources(warehouse, tmp_path, as_of=dt.date(2025, 7, 1))
    dg.materialize([nambu_generation], partition_key="2025-05-20", resources=resources)
    dg.materialize([namdong_generation], partition_key="2025-05-01", resources=resources)
    dg.materialize([nambu_plants, namdong_plants], resources=resources)
    weather_days = {
        "dagster/asset_partition_range_start": "2025-05-18",
        "dagster/asset_partition_range_end": "2025-05-20",
    }
    dg.materialize([weather_asos, weather_asos_imputed], resources=resources, tags=weather_days)
    may = {
        "dagster/asset_partition_range_start": "2025-05-01",
        "dagster/asset_partition_range_end": "2025-05-31",
    }
    dg.materialize([plant_data_quality], resources=resources, tags=may)
    return warehouse


def test_dashboard_is_in_seoul_time_with_the_eight_panels_and_the_weather() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["timezone"] == "Asia/Seoul"
    # the spec's eight (two maps, four stats, two generation series) and the imputed weather
    assert sorted(p["type"] for p in PANELS) == ["geomap"] * 2 + ["stat"] * 4 + ["timeseries"] * 3


@pytest.mark.parametrize("panel", PANELS, ids=[p["title"] for p in PANELS])
def test_panel_sql_runs_and_has_the_expected_shape(loaded: WarehouseResource, panel: dict) -> None:
    frame = loaded.read_frame(substitute(panel["targets"][0]["rawSql"]))
    if panel["type"] == "geomap":
        assert {"plant_name", "latitude", "longitude", "generation"} <= set(frame.columns)
        assert len(frame) >= 20 and (frame["generation"] > 0).any()
    elif "temperature" in frame.columns:
        assert list(frame.columns) == ["time", "metric", "temperature"]
        imputed = frame["metric"].str.contains(r"\(imputed: (?:interpolated|slot_mean|hour_mean)\)")
        measured = frame["metric"].str.endswith("(measured)")
        assert imputed.any() and measured.any() and (imputed | measured).all()
        # every measured value is the measured table's own value, hour by hour
        stored = loaded.read_frame(
            "SELECT count(*) AS n FROM weather_asos WHERE temperature IS NOT NULL "
            f"AND timestamp BETWEEN {FROM} AND {TO}"
        )
        assert int(measured.sum()) == int(stored.at[0, "n"])
    elif panel["type"] == "timeseries":
        assert list(frame.columns) == ["time", "metric", "generation"]
        hours = frame["time"].dt.tz_convert("Asia/Seoul").dt.hour
        assert hours.min() == 0 and hours.max() == 23  # interval starts: 00:00 … 23:00
        assert frame["metric"].str.endswith("(hourly invalid)").any()
    else:
        assert frame.shape == (1, 1) and frame.iat[0, 0] > 0
