"""ASOS weather: the measured hourly table and its separate gap-filled series."""

import datetime as dt

import dagster as dg
import pandas as pd
import sqlalchemy as sa

from energy_assets import schema, store
from energy_assets.imputation import VARIABLES, impute_station
from energy_assets.partitions import energy_daily_partitions
from energy_assets.sources import permanent_errors_fail_fast
from resources.kma import ASOS_STATIONS, KmaResource
from resources.kst import KST, KST_NAME
from resources.metadata import Stopwatch, partition_metadata
from resources.policies import STANDARD_RETRY
from resources.warehouse import WarehouseResource

GROUP = "energy"


def window_days(context: dg.AssetExecutionContext) -> tuple[dt.date, dt.date, str]:
    """(first day, last day, label) of the run's partition range."""
    window = context.partition_time_window
    first = window.start.astimezone(KST).date()
    last = window.end.astimezone(KST).date() - dt.timedelta(days=1)
    return first, last, first.isoformat() if first == last else f"{first}..{last}"


def asos_frame(
    items: list[dict], first: dt.date, last: dt.date
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Typed rows of ASOS items inside [first, last]; others counted by reason."""
    frame = pd.DataFrame(items, columns=["tm", "stnId", "stnNm", "ta", "hm", "icsr"])
    stamp = pd.to_datetime(frame["tm"], format="%Y-%m-%d %H:%M", errors="coerce")
    bad_time = stamp.isna()
    day = stamp.dt.date
    outside = ~bad_time & ((day < first) | (day > last))
    keep = ~bad_time & ~outside
    out = pd.DataFrame(
        {
            "timestamp": stamp[keep].dt.tz_localize(KST),
            "station_id": pd.to_numeric(frame.loc[keep, "stnId"]).astype("int64"),
            "station_name": frame.loc[keep, "stnNm"],
            "temperature": pd.to_numeric(frame.loc[keep, "ta"], errors="coerce"),
            "humidity": pd.to_numeric(frame.loc[keep, "hm"], errors="coerce"),
            "solar_radiation": pd.to_numeric(frame.loc[keep, "icsr"], errors="coerce"),
        }
    ).drop_duplicates(subset=["timestamp", "station_id"], keep="last")
    rejected = {"unparsable tm": int(bad_time.sum()), "outside the partition": int(outside.sum())}
    return out, {k: v for k, v in rejected.items() if v}


@dg.asset(
    group_name=GROUP,
    kinds={"postgres"},
    partitions_def=energy_daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    retry_policy=STANDARD_RETRY,
)
def weather_asos(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, kma: KmaResource
) -> dg.MaterializeResult:
    """Hourly KMA ASOS observations (temperature, humidity, solar radiation) per station."""
    clock = Stopwatch()
    first, last, label = window_days(context)
    store.ensure_tables(warehouse)
    session = kma.session()
    items = []
    with permanent_errors_fail_fast():
        for station in ASOS_STATIONS:
            items.extend(kma.asos_hourly(station, first, last, session=session, partition=label))
    frame, rejected = asos_frame(items, first, last)
    written = store.upsert_keeping_stored(
        warehouse, frame, schema.weather_asos, ["timestamp", "station_id"]
    )
    expected = len(ASOS_STATIONS) * 24 * ((last - first).days + 1)
    return dg.MaterializeResult(
        metadata=partition_metadata(
            rows=written,
            rejected=sum(rejected.values()),
            rejected_by_reason=rejected,
            source=kma.source,
            elapsed=clock,
            stations=len(ASOS_STATIONS),
            absent_hours=expected - len(frame),
            blank_cells=int(frame[list(VARIABLES)].isna().sum().sum()),
        )
    )


def read_weather(
    warehouse: WarehouseResource, start: dt.datetime, end: dt.datetime
) -> pd.DataFrame:
    """Stored measured rows in [start, end)."""
    t = schema.weather_asos
    query = sa.select(t).where(t.c.timestamp >= start, t.c.timestamp < end)
    frame = warehouse.read_frame(query)
    if len(frame):
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).dt.tz_convert(KST)
    return frame


def read_history(warehouse: WarehouseResource, first: dt.date, last: dt.date) -> pd.DataFrame:
    """Stored rows of every year whose day of year lies within a week of [first, last]."""
    low, high = first.timetuple().tm_yday - 7, last.timetuple().tm_yday + 7
    doy = sa.text("extract(doy from timestamp AT TIME ZONE :tz) BETWEEN :low AND :high")
    t = schema.weather_asos
    query = sa.select(t).where(doy.bindparams(tz=KST_NAME, low=low, high=high))
    frame = warehouse.read_frame(query)
    if len(frame):
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).dt.tz_convert(KST)
    return frame


@dg.asset(
    group_name=GROUP,
    kinds={"postgres"},
    partitions_def=energy_daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[weather_asos],
)
def weather_asos_imputed(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """ASOS temperature and humidity gap-filled, with the method of each value; measured kept."""
    clock = Stopwatch()
    first, last, _ = window_days(context)
    store.ensure_tables(warehouse)
    start = dt.datetime.combine(first, dt.time(), KST)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), KST)
    measured = read_weather(warehouse, start - dt.timedelta(days=1), end + dt.timedelta(days=1))
    history = read_history(warehouse, first, last)
    hours = pd.date_range(start, end - dt.timedelta(hours=1), freq="h")
    names = (
        dict(zip(measured["station_id"], measured["station_name"], strict=False))
        if len(measured)
        else {}
    )
    parts = []
    for station in sorted(set(measured["station_id"]) if len(measured) else []):
        mine = measured[measured["station_id"] == station]
        hist = history[history["station_id"] == station]
        rows = impute_station(mine, hours, hist)
        rows.insert(1, "station_id", int(station))
        rows.insert(2, "station_name", names.get(station))
        parts.append(rows)
    columns = [c.name for c in schema.weather_asos_imputed.columns]
    frame = pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)
    written = warehouse.replace_partition(
        frame, schema.weather_asos_imputed.name, "timestamp", start, end
    )
    methods = pd.concat([frame[f"{v}_method"] for v in VARIABLES]).value_counts().to_dict()
    values = sum(methods.values()) or 1
    share = round(1 - methods.get("measured", 0) / values, 4)
    return dg.MaterializeResult(
        metadata=partition_metadata(
            rows=written,
            source="weather_asos",
            elapsed=clock,
            absent_rows=int(frame["row_absent"].sum()),
            methods=dg.MetadataValue.json({str(k): int(v) for k, v in methods.items()}),
            imputed_share=share,
        )
    )
