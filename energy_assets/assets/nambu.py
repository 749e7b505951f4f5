"""KOSPO (Nambu) hourly generation, self-healing under the 24-hour rule, and unit start dates."""

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import dagster as dg
import pandas as pd
from pydantic import Field

from energy_assets import schema, store
from energy_assets.assets.weather import GROUP, window_days
from energy_assets.parsing import nambu_hourly
from energy_assets.partitions import energy_daily_partitions
from energy_assets.plants import NAMBU_UNITS, NambuUnit
from energy_assets.sources import KospoResource, permanent_errors_fail_fast
from resources.kst import KST, KST_NAME, now_kst, today_kst
from resources.metadata import Stopwatch, md_table, partition_metadata
from resources.policies import STANDARD_RETRY
from resources.warehouse import WarehouseResource

HEAL_DAYS = 7  # recent days with fewer than 24 hours are collected again by every run
PROBE_FLOOR = dt.date(2010, 1, 1)


class PlantFilter(dg.Config):
    """Restrict a run to one plant or unit (the backfill script's --gencd / --hogi)."""

    gencd: str | None = Field(default=None, description="KOSPO plant code, e.g. 997S")
    hogi: int | None = Field(default=None, description="Unit number")
    heal_days: int = Field(default=HEAL_DAYS, ge=0, description="Days before the range re-checked")


class NambuConfig(PlantFilter):
    """The plant filter, and whether units known to be inactive are called anyway."""

    include_inactive: bool = Field(
        default=False,
        description="Also call units that nambu_start_dates found without data in the last year "
        "or whose first day is after the range",
    )


def inactive_units(
    warehouse: WarehouseResource, first: dt.date, last: dt.date
) -> dict[tuple[str, int], str]:
    """Units not worth a call for [first, last], with the reason, from `nambu_start_dates`.

    The probe proves a unit without data in the year before it ran (start_date NULL, the audit's
    inactive units): a range that starts inside that year or later is skipped. A unit whose first
    day lies after the range has nothing to give either. A range older than the probe's year is
    asked as usual.
    """
    frame = warehouse.read_frame("SELECT gencd, hogi, start_date, probed_at FROM nambu_start_dates")
    out: dict[tuple[str, int], str] = {}
    for row in frame.itertuples():
        probed = pd.Timestamp(row.probed_at).tz_convert(KST).date()
        if pd.isna(row.start_date):
            if first >= probed - dt.timedelta(days=365):
                out[(row.gencd, int(row.hogi))] = f"no data in the year before {probed}"
        elif row.start_date > last:
            out[(row.gencd, int(row.hogi))] = f"first data on {row.start_date}"
    return out


def selected_units(config: PlantFilter) -> list[NambuUnit]:
    """The registry's units that match the filter."""
    return [
        u
        for u in NAMBU_UNITS
        if (config.gencd is None or u.gencd == config.gencd)
        and (config.hogi is None or u.hogi == config.hogi)
    ]


def short_unit_days(
    warehouse: WarehouseResource, days: tuple[dt.date, dt.date] | None = None
) -> pd.DataFrame:
    """Stored unit-days with fewer than 24 distinct hours (the 24-hour rule), by KST day.

    Columns gencd, hogi, day, hours, by day; only the days of [first, last] when `days` is given.
    """
    where, params = "", {"tz": KST_NAME}
    if days is not None:
        first, last = days
        where = "WHERE datetime >= :start AND datetime < :end"
        params["start"] = dt.datetime.combine(first, dt.time(), KST)
        params["end"] = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), KST)
    hours = "COUNT(DISTINCT extract(hour FROM datetime AT TIME ZONE :tz))"
    return warehouse.read_frame(
        f"""
        SELECT gencd, hogi, (datetime AT TIME ZONE :tz)::date AS day, {hours} AS hours
        FROM nambu_generation {where}
        GROUP BY 1, 2, 3 HAVING {hours} < 24
        ORDER BY 3, 1, 2
        """,
        params,
    )


def incomplete_days(
    warehouse: WarehouseResource, first: dt.date, last: dt.date
) -> dict[tuple[str, int], list[dt.date]]:
    """`short_unit_days` in [first, last], as each unit's days."""
    out: dict[tuple[str, int], list[dt.date]] = {}
    for row in short_unit_days(warehouse, (first, last)).itertuples():
        out.setdefault((row.gencd, int(row.hogi)), []).append(row.day)
    return out


def collect(
    kospo: KospoResource,
    units: list[NambuUnit],
    first: dt.date,
    last: dt.date,
    heal: dict[tuple[str, int], list[dt.date]],
    label: str,
) -> tuple[pd.DataFrame, int, int]:
    """(hourly rows, calls, items dropped) for every unit: one range per unit, never per day.

    Units are fetched `kospo.concurrency` at a time, each worker thread on its own session; the
    calls are the same as one after another (the daily quota counts calls, not their overlap).
    """
    local = threading.local()

    def fetch(unit: NambuUnit) -> tuple[pd.DataFrame, int, int]:
        if not hasattr(local, "session"):
            local.session = kospo.session()
        healing = heal.get((unit.gencd, unit.hogi), [])
        start = min([first, *healing])
        wanted = {first + dt.timedelta(days=n) for n in range((last - first).days + 1)}
        wanted |= set(healing)
        items, calls = kospo.fetch_unit(
            unit.gencd, unit.hogi, start, last, local.session, partition=label
        )
        names = {d.isoformat() for d in wanted}
        dropped = sum(1 for i in items if str(i.get("ymd", ""))[:10] not in names)
        return nambu_hourly(items, days=wanted), calls, dropped

    pool = ThreadPoolExecutor(max_workers=max(1, kospo.concurrency))
    try:
        results = list(pool.map(fetch, units))
    finally:  # after an error, units not yet started are not called
        pool.shutdown(wait=True, cancel_futures=True)
    frames = [frame for frame, _, _ in results]
    frame = pd.concat(frames, ignore_index=True) if frames else nambu_hourly([])
    return frame, sum(r[1] for r in results), sum(r[2] for r in results)


@dg.asset(
    group_name=GROUP,
    kinds={"postgres"},
    partitions_def=energy_daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    retry_policy=STANDARD_RETRY,
)
def nambu_generation(
    context: dg.AssetExecutionContext,
    config: NambuConfig,
    warehouse: WarehouseResource,
    kospo: KospoResource,
) -> dg.MaterializeResult:
    """Hourly KOSPO solar generation per plant unit (interval-start KST, daily figures kept)."""
    clock = Stopwatch()
    first, last, label = window_days(context)
    last = min(last, today_kst() - dt.timedelta(days=1))
    store.ensure_tables(warehouse)
    inactive = {} if config.include_inactive else inactive_units(warehouse, first, last)
    skipped = [u for u in selected_units(config) if (u.gencd, u.hogi) in inactive]
    units = [u for u in selected_units(config) if (u.gencd, u.hogi) not in inactive]
    heal = incomplete_days(warehouse, first - dt.timedelta(days=config.heal_days), first)
    with permanent_errors_fail_fast():
        frame, calls, dropped = collect(kospo, units, first, last, heal, label)
    written = warehouse.upsert(frame, schema.nambu_generation.name, ["datetime", "gencd", "hogi"])
    still = incomplete_days(warehouse, first - dt.timedelta(days=config.heal_days), last)
    pending = [
        {"unit": f"{g}/{h}", "day": d.isoformat()} for (g, h), days in still.items() for d in days
    ]
    return dg.MaterializeResult(
        metadata=partition_metadata(
            rows=written,
            rejected=dropped,
            source=kospo.source,
            elapsed=clock,
            units=len(units),
            units_skipped=len(skipped),
            skipped=md_table(
                [
                    {
                        "unit": f"{u.gencd}/{u.hogi}",
                        "name": u.name,
                        "why": inactive[(u.gencd, u.hogi)],
                    }
                    for u in skipped
                ],
                empty="_none_",
            ),
            api_calls=calls,
            healed_days=sum(len(v) for v in heal.values()),
            incomplete_unit_days=len(pending),
            incomplete=md_table(pending[:50], empty="_every unit-day has 24 hours_"),
        )
    )


def earliest_day(
    kospo: KospoResource, unit: NambuUnit, session: object, today: dt.date
) -> tuple[dt.date | None, int]:
    """(first day with data, calls): binary searches bounded by PROBE_FLOOR and yesterday.

    "Any data in the year from day d" is false long before the start and true from a year before
    it on (while the series has no year-long gap), so it is monotone; a second search on "any
    data from that day to day d" finds the first day inside that year. About 22 calls a unit.
    """
    yesterday = today - dt.timedelta(days=1)
    calls = 0

    def year_from(day: dt.date) -> bool:
        nonlocal calls
        calls += 1
        end = min(yesterday, day + dt.timedelta(days=364))
        return kospo.has_data(unit.gencd, unit.hogi, day, end, session)  # type: ignore[arg-type]

    low, high = 0, (yesterday - dt.timedelta(days=364) - PROBE_FLOOR).days
    if not year_from(PROBE_FLOOR + dt.timedelta(days=high)):
        return None, calls  # nothing in the last year: inactive (or never reported)
    while low < high:
        middle = (low + high) // 2
        if year_from(PROBE_FLOOR + dt.timedelta(days=middle)):
            high = middle
        else:
            low = middle + 1
    window_start = PROBE_FLOOR + dt.timedelta(days=low)
    lo, hi = 0, min(364, (yesterday - window_start).days)
    while lo < hi:  # the first day inside that year: same search on "any data up to day d"
        middle = (lo + hi) // 2
        calls += 1
        day = window_start + dt.timedelta(days=middle)
        if kospo.has_data(unit.gencd, unit.hogi, window_start, day, session):  # type: ignore[arg-type]
            hi = middle
        else:
            lo = middle + 1
    return window_start + dt.timedelta(days=lo), calls


@dg.asset(group_name=GROUP, kinds={"postgres"}, retry_policy=STANDARD_RETRY)
def nambu_start_dates(
    config: PlantFilter, warehouse: WarehouseResource, kospo: KospoResource
) -> dg.MaterializeResult:
    """Each KOSPO unit's earliest day with data, found by a bounded binary search."""
    clock = Stopwatch()
    store.ensure_tables(warehouse)
    session = kospo.session()
    rows = []
    for unit in selected_units(config):
        with permanent_errors_fail_fast():
            start, calls = earliest_day(kospo, unit, session, today_kst())
        rows.append(
            {
                "gencd": unit.gencd,
                "hogi": unit.hogi,
                "start_date": start,
                "calls": calls,
                "probed_at": now_kst(),
            }
        )
    frame = pd.DataFrame(rows)
    written = warehouse.upsert(frame, schema.nambu_start_dates.name, ["gencd", "hogi"])
    return dg.MaterializeResult(
        metadata=partition_metadata(
            rows=written,
            source=kospo.source,
            elapsed=clock,
            api_calls=int(frame["calls"].sum()) if len(frame) else 0,
            not_found=int(frame["start_date"].isna().sum()) if len(frame) else 0,
            start_dates=md_table(frame.drop(columns=["probed_at"]) if len(frame) else []),
        )
    )
