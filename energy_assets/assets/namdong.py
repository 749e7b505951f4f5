"""KOEN (Namdong) hourly generation from the monthly CSV download."""

import datetime as dt

import dagster as dg
import pandas as pd
import sqlalchemy as sa

from energy_assets import schema, store
from energy_assets.assets.weather import GROUP, window_days
from energy_assets.parsing import NAMDONG_COLUMNS, namdong_hourly, namdong_names, parse_koen_csv
from energy_assets.partitions import energy_monthly_partitions
from energy_assets.sources import KoenResource, permanent_errors_fail_fast
from resources.http_source import SourceError
from resources.kst import today_kst
from resources.metadata import Stopwatch, partition_metadata
from resources.policies import STANDARD_RETRY
from resources.warehouse import WarehouseResource


def stored_pairs(warehouse: WarehouseResource) -> set[tuple[str, int]]:
    """Every (plant, unit) already in namdong_generation."""
    frame = warehouse.read_frame("SELECT DISTINCT plant, unit FROM namdong_generation")
    return {(p, int(u)) for p, u in zip(frame["plant"], frame["unit"], strict=True)}


def rename_stored(warehouse: WarehouseResource, names: dict[tuple[str, int], str]) -> int:
    """Apply the naming rule to stored rows of earlier months; the number of rows renamed."""
    t = schema.namdong_generation
    renamed = 0
    with warehouse.begin() as conn:
        for (plant, unit), name in names.items():
            result = conn.execute(
                sa.update(t)
                .where(t.c.plant == plant, t.c.unit == unit, t.c.plant_name != name)
                .values(plant_name=name)
            )
            renamed += result.rowcount
    return renamed


def load_files(
    files: list[tuple[str, bytes]], stored: set[tuple[str, int]], label: str
) -> tuple[pd.DataFrame, dict[tuple[str, int], str], list[str]]:
    """(hourly rows, names, encodings) of the downloaded files, one naming rule for all."""
    wides, encodings = [], []
    for name, content in files:
        try:
            wide, encoding = parse_koen_csv(content)
        except ValueError as exc:
            raise SourceError("koen", f"{name}: {exc}", partition=label) from None
        wides.append(wide)
        encodings.append(f"{name}: {encoding}")
    seen = {(p, int(u)) for w in wides for p, u in zip(w["plant"], w["unit"], strict=True)}
    names = namdong_names(stored | seen)
    parts = [namdong_hourly(w, names) for w in wides]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=NAMDONG_COLUMNS)
    return (
        frame.drop_duplicates(subset=["datetime", "plant", "unit"], keep="last"),
        names,
        encodings,
    )


@dg.asset(
    group_name=GROUP,
    kinds={"postgres"},
    partitions_def=energy_monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    retry_policy=STANDARD_RETRY,
)
def namdong_generation(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, koen: KoenResource
) -> dg.MaterializeResult:
    """Hourly KOEN solar generation per plant unit (interval-start KST, one naming rule)."""
    clock = Stopwatch()
    first, last, label = window_days(context)
    last = min(last, today_kst() - dt.timedelta(days=1))
    store.ensure_tables(warehouse)
    with permanent_errors_fail_fast():
        files = koen.download(first, last, partition=label)
        paths = koen.keep_raw(files)
        frame, names, encodings = load_files(files, stored_pairs(warehouse), label)
    outside = (frame["datetime"].dt.date < first) | (frame["datetime"].dt.date > last)
    written = warehouse.upsert(
        frame[~outside], schema.namdong_generation.name, ["datetime", "plant", "unit"]
    )
    renamed = rename_stored(warehouse, names)
    return dg.MaterializeResult(
        metadata=partition_metadata(
            rows=written,
            rejected=int(outside.sum()),
            source=koen.source,
            elapsed=clock,
            period=f"{first}..{last}",
            files=len(paths),
            folder=koen.raw_dir,
            encodings=", ".join(encodings),
            units=len({(p, u) for p, u in zip(frame["plant"], frame["unit"], strict=True)}),
            renamed_rows=renamed,
        )
    )
