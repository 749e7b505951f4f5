"""Plant metadata with coordinates, and the per-unit data-quality grades."""

import datetime as dt

import dagster as dg
import pandas as pd

from energy_assets import schema, store
from energy_assets.assets.nambu import nambu_generation
from energy_assets.assets.namdong import namdong_generation
from energy_assets.assets.weather import GROUP, window_days
from energy_assets.parsing import namdong_names
from energy_assets.partitions import energy_daily_partitions
from energy_assets.plants import CORRECTED_COORDINATES, NAMBU_UNITS, NAMDONG_UNITS
from energy_assets.quality import assess_days
from energy_assets.sources import PlantGeocoderResource
from resources.kst import KST
from resources.metadata import Stopwatch, md_table, partition_metadata
from resources.warehouse import WarehouseResource

QUALITY_WINDOW_DAYS = 35  # each day is graded over itself and the 34 days before it


def _geocoded(
    frame: pd.DataFrame, geocoder: PlantGeocoderResource, query_column: str
) -> tuple[pd.DataFrame, int]:
    """Fill missing coordinates from the geocoder (new plants, unresolved sites)."""
    found = 0
    for index in frame.index[frame["latitude"].isna()]:
        point = geocoder.locate(str(frame.at[index, query_column] or ""))
        if point:
            frame.loc[index, ["latitude", "longitude"]] = point
            frame.at[index, "coord_source"] = geocoder.source
            found += 1
    return frame, found


@dg.asset(group_name=GROUP, kinds={"postgres"}, deps=[nambu_generation])
def nambu_plants(
    warehouse: WarehouseResource, plant_geocoder: PlantGeocoderResource
) -> dg.MaterializeResult:
    """KOSPO solar units with name, address, capacity and site coordinates."""
    clock = Stopwatch()
    store.ensure_tables(warehouse)
    rows = [
        {
            "gencd": u.gencd,
            "hogi": u.hogi,
            "plant_name": u.name,
            "address": u.address,
            "capacity_kw": u.capacity_kw,
            "latitude": u.latitude,
            "longitude": u.longitude,
            "coord_source": "registry",
        }
        for u in NAMBU_UNITS
    ]
    known = {(r["gencd"], r["hogi"]) for r in rows}
    seen = warehouse.read_frame(
        "SELECT gencd, hogi, MAX(plant_name) AS plant_name FROM nambu_generation GROUP BY 1, 2"
    )
    for row in seen.itertuples():
        if (row.gencd, int(row.hogi)) not in known:
            rows.append(
                {
                    "gencd": row.gencd,
                    "hogi": int(row.hogi),
                    "plant_name": row.plant_name,
                    "address": None,
                    "capacity_kw": None,
                    "latitude": None,
                    "longitude": None,
                    "coord_source": None,
                }
            )
    frame, found = _geocoded(pd.DataFrame(rows), plant_geocoder, "plant_name")
    written = store.replace_table(warehouse, frame, schema.nambu_plants)
    return dg.MaterializeResult(
        metadata=partition_metadata(
            rows=written,
            source=f"registry + {plant_geocoder.source}",
            elapsed=clock,
            new_plants=len(rows) - len(NAMBU_UNITS),
            geocoded=found,
            without_coordinates=int(frame["latitude"].isna().sum()),
        )
    )


@dg.asset(group_name=GROUP, kinds={"postgres"}, deps=[namdong_generation])
def namdong_plants(
    warehouse: WarehouseResource, plant_geocoder: PlantGeocoderResource
) -> dg.MaterializeResult:
    """KOEN solar units under the one naming rule, with corrected site coordinates."""
    clock = Stopwatch()
    store.ensure_tables(warehouse)
    registry = {(u.plant, u.unit): u for u in NAMDONG_UNITS}
    seen = warehouse.read_frame("SELECT DISTINCT plant, unit FROM namdong_generation")
    pairs = set(registry) | {(p, int(u)) for p, u in zip(seen["plant"], seen["unit"], strict=True)}
    names = namdong_names(pairs)
    rows = []
    for (plant, unit), name in sorted(names.items()):
        known = registry.get((plant, unit))
        source = None
        if known and known.latitude is not None:
            source = "corrected" if plant in CORRECTED_COORDINATES else "registry"
        rows.append(
            {
                "plant_name": name,
                "base_name": plant,
                "unit": unit,
                "address": known.address if known else None,
                "capacity_kw": known.capacity_kw if known else None,
                "latitude": known.latitude if known else None,
                "longitude": known.longitude if known else None,
                "coord_source": source,
            }
        )
    frame, found = _geocoded(pd.DataFrame(rows), plant_geocoder, "address")
    written = store.replace_table(warehouse, frame, schema.namdong_plants)
    return dg.MaterializeResult(
        metadata=partition_metadata(
            rows=written,
            source=f"registry + {plant_geocoder.source}",
            elapsed=clock,
            geocoded=found,
            without_coordinates=int(frame["latitude"].isna().sum()),
        )
    )


def window_rows(
    warehouse: WarehouseResource, operator: str, first: dt.date, last: dt.date
) -> pd.DataFrame:
    """Stored hourly rows of one operator in [first, last] (KST days), keyed per unit."""
    if operator == "nambu":
        key, table = "gencd || '/' || hogi", "nambu_generation"
    else:
        key, table = "plant || '/' || unit", "namdong_generation"
    frame = warehouse.read_frame(
        f"""
        SELECT {key} AS plant_key, plant_name, datetime, generation FROM {table}
        WHERE datetime >= :start AND datetime < :end ORDER BY datetime
        """,
        {
            "start": dt.datetime.combine(first, dt.time(), KST),
            "end": dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), KST),
        },
    )
    if len(frame):
        frame["datetime"] = pd.to_datetime(frame["datetime"], utc=True)
        # one name per unit: the latest (a renamed unit is graded once)
        frame["plant_name"] = frame.groupby("plant_key")["plant_name"].transform("last")
    return frame


@dg.asset(
    group_name=GROUP,
    kinds={"postgres"},
    partitions_def=energy_daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[nambu_generation, namdong_generation],
)
def plant_data_quality(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Per plant unit and day: hourly-valid and daily-valid flags with a note, from defect rules."""
    clock = Stopwatch()
    first, last, label = window_days(context)
    store.ensure_tables(warehouse)
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    since = first - dt.timedelta(days=QUALITY_WINDOW_DAYS - 1)
    rows = []
    for operator in ("nambu", "namdong"):
        frame = window_rows(warehouse, operator, since, last)
        if len(frame):
            rows.extend(assess_days(frame, operator, days, QUALITY_WINDOW_DAYS))
    columns = [c.name for c in schema.plant_data_quality.columns]
    frame = pd.DataFrame(rows, columns=columns)
    written = store.replace_days(warehouse, frame, schema.plant_data_quality, first, last)
    flagged = (
        frame[frame["data_quality"] != "ok"]
        .groupby(["operator", "plant_name", "data_quality"], as_index=False)
        .agg(days=("day", "count"), note=("note", "last"))
    )
    return dg.MaterializeResult(
        metadata=partition_metadata(
            rows=written,
            source="nambu_generation + namdong_generation",
            elapsed=clock,
            period=label,
            flagged=len(flagged),
            window_days=QUALITY_WINDOW_DAYS,
            flagged_units=md_table(flagged),
        )
    )
