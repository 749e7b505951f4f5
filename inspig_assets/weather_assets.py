"""Farm weather assets: TM_WEATHER_ASOS, TM_WEATHER_HOURLY and TM_WEATHER, with their jobs.

The web reads these tables live by a farm's grid. Calls go to KMA with the keys of
TS_API_KEY_INFO (`inspig_assets.weather_store.key_pool`); with no key in the table, local mode
uses the sample source of the same shape and prod fails saying the table is empty.

A batch (grids, regions or stations) in which some units failed saves the units that succeeded and
then fails the step naming the others; the step's retries run only when a failure may pass (a
connection error, a 5xx). When every key is exhausted the step fails saying so, without retries
(the counts are reset the next day).
"""

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import dagster as dg
import sqlalchemy as sa
from pydantic import Field

from inspig_assets import schema as t
from inspig_assets.jobs import ORACLE_TAGS
from inspig_assets.sources import InspigSampleResource
from inspig_assets.weather import (
    Parsed,
    asos_rows,
    daily_from_hourly,
    forecast_hourly_rows,
    midterm_region,
    midterm_rows,
    nowcast_hourly_row,
)
from inspig_assets.weather_sources import KmaPoolSource, SampleSource, WeatherSource
from inspig_assets.weather_store import (
    Farm,
    Mode,
    active_farms,
    assign_grids,
    assign_stations,
    grids_of,
    hourly_skies,
    key_pool,
    read_hourly,
    seed_stations,
    stations_in_use,
    upsert,
)
from resources.farm_db import FarmDbResource
from resources.http_source import SourceError
from resources.kma import (
    KeysExhausted,
    KmaResource,
    forecast_base,
    last_asos_day,
    midterm_tmfc,
    nowcast_base,
)
from resources.kst import KST_NAME, now_kst
from resources.metadata import Stopwatch, partition_metadata
from resources.policies import STANDARD_RETRY
from resources.settings import PlatformSettings

GROUP = "inspig"
KINDS = {"oracle"}
STATIONS_CHECK = "tm_weather_asos_farms_placed"
HOURLY_CHECK = "tm_weather_hourly_grids_covered"
DAILY_CHECK = "tm_weather_temperatures_ordered"
MAX_LISTED = 10  # failed units named in a message


# -- batches --------------------------------------------------------------------------------------
@dataclass
class Batch:
    """What a batch of calls gave: rows, rejections, and the units that failed (unit → error)."""

    units: int = 0
    parsed: Parsed = field(default_factory=Parsed)
    failed: dict[str, str] = field(default_factory=dict)
    exhausted: str | None = None
    transient: bool = False  # some unit failed in a way a later try may not repeat

    def run(self, units: Sequence[tuple[str, Callable[[], Parsed]]]) -> "Batch":
        """Call each unit; a failed unit is noted, all keys exhausted stops the batch."""
        self.units += len(units)
        for label, call in units:
            if self.exhausted:
                self.failed[label] = "not called: every API key is exhausted"
                continue
            try:
                self.parsed.extend(call())
            except KeysExhausted as exc:
                self.exhausted = str(exc)
                self.failed[label] = str(exc)
            except SourceError as exc:
                self.failed[label] = str(exc)
                self.transient = self.transient or exc.transient
            except (KeyError, TypeError, ValueError) as exc:  # items without their fields
                self.failed[label] = f"kma ({label}): malformed answer: {type(exc).__name__} {exc}"
        return self


def _fail_if_needed(what: str, batch: Batch, metadata: dict[str, object]) -> None:
    if not batch.failed:
        return
    listed = "; ".join(f"{u}: {m}" for u, m in list(batch.failed.items())[:MAX_LISTED])
    more = len(batch.failed) - MAX_LISTED
    saved = batch.units - len(batch.failed)
    head = (
        f"{what}: every API key of TS_API_KEY_INFO is exhausted. "
        if batch.exhausted
        else f"{what}: "
    )
    raise dg.Failure(
        description=f"{head}{len(batch.failed)} of {batch.units} failed and were not saved "
        f"(the {saved} others were saved): {listed}" + (f"; and {more} more" if more > 0 else ""),
        metadata={**metadata, "failed": dg.MetadataValue.json(batch.failed)},
        allow_retries=batch.transient and batch.exhausted is None,
    )


def weather_source(kma: KmaResource, engine: sa.Engine) -> WeatherSource:
    """KMA with the keys of TS_API_KEY_INFO; without keys the sample (local) or a failure."""
    pool = key_pool(engine)
    if pool.keys:
        return KmaPoolSource(kma, pool)
    if kma.use_sample:
        return SampleSource()
    raise dg.Failure(
        "kma: TS_API_KEY_INFO holds no API key; add a data.go.kr key to collect weather",
        allow_retries=False,
    )


def _farms(
    context: dg.AssetExecutionContext, farm_db: FarmDbResource, sample: InspigSampleResource
) -> tuple[sa.Engine, list[Farm], int, list[int]]:
    """The engine, the active farms (grids assigned and stored) and the count assigned."""
    sample.prepare(farm_db, context.log.info)
    engine = farm_db.get_engine()
    with engine.begin() as conn:
        farms = active_farms(conn)
        assigned, unplaced = assign_grids(conn, farms)
    return engine, farms, assigned, unplaced


def _rejected(parsed: Parsed) -> dict[str, object]:
    return {"rejected": dg.MetadataValue.json(parsed.rejected[:50])} if parsed.rejected else {}


# -- TM_WEATHER_ASOS ------------------------------------------------------------------------------
@dg.asset(
    group_name=GROUP,
    kinds=KINDS,
    retry_policy=STANDARD_RETRY,
    check_specs=[dg.AssetCheckSpec(STATIONS_CHECK, asset="tm_weather_asos")],
)
def tm_weather_asos(
    context: dg.AssetExecutionContext, farm_db: FarmDbResource, inspig_sample: InspigSampleResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """The ASOS station list; every active farm gets its grid and its nearest station."""
    clock = Stopwatch()
    engine, farms, grids_assigned, unplaced = _farms(context, farm_db, inspig_sample)
    with engine.begin() as conn:
        added = seed_stations(conn)
        stations = stations_in_use(conn)
        stations_assigned = assign_stations(conn, farms, stations, every=True)
    yield dg.MaterializeResult(
        metadata=partition_metadata(
            rows=len(stations),
            source=farm_db.source_label,
            elapsed=clock,
            stations_added=added,
            farms=len(farms),
            grids_assigned=grids_assigned,
            stations_assigned=stations_assigned,
        )
    )
    yield dg.AssetCheckResult(
        check_name=STATIONS_CHECK,
        passed=not unplaced,
        severity=dg.AssetCheckSeverity.WARN,
        description="every active farm has coordinates or a grid, so a grid and a station",
        metadata={"farms_without_location": dg.MetadataValue.json(unplaced)},
    )


# -- TM_WEATHER_HOURLY ----------------------------------------------------------------------------
def _grid_unit(
    source: WeatherSource,
    grid: tuple[int, int],
    bases: tuple[tuple[str, str], tuple[str, str]],
    nowcasts: dict[tuple[int, int], list[dict]],
) -> Callable[[], Parsed]:
    """One grid's forecast rows; its nowcast items go to `nowcasts` (read once the sky is known)."""

    def call() -> Parsed:
        forecast = forecast_hourly_rows(source.forecast(*grid, bases[0]), *grid)
        nowcasts[grid] = source.nowcast(*grid, bases[1])
        return forecast

    return call


@dg.asset(
    group_name=GROUP,
    kinds=KINDS,
    retry_policy=STANDARD_RETRY,
    check_specs=[dg.AssetCheckSpec(HOURLY_CHECK, asset="tm_weather_hourly")],
)
def tm_weather_hourly(
    context: dg.AssetExecutionContext,
    farm_db: FarmDbResource,
    kma: KmaResource,
    inspig_sample: InspigSampleResource,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Hourly forecast (getVilageFcst) and nowcast (getUltraSrtNcst) rows per farm grid."""
    clock = Stopwatch()
    engine, farms, assigned, _ = _farms(context, farm_db, inspig_sample)
    grids = grids_of(farms)
    source = weather_source(kma, engine)
    now = now_kst()
    fbase, nbase = forecast_base(now), nowcast_base(now)
    nowcasts: dict[tuple[int, int], list[dict]] = {}
    batch = Batch().run(
        [
            (f"grid {nx},{ny}", _grid_unit(source, (nx, ny), (fbase, nbase), nowcasts))
            for nx, ny in grids
        ]
    )
    done = [grid for grid in grids if f"grid {grid[0]},{grid[1]}" not in batch.failed]
    with engine.begin() as conn:
        # a grid whose nowcast failed keeps its forecast rows out too: units are saved whole
        done_grids = set(done)
        forecast = [r for r in batch.parsed.rows if (r["nx"], r["ny"]) in done_grids]
        written = upsert(conn, t.tm_weather_hourly, forecast, Mode.FORECAST)
        skies = hourly_skies(conn, [(*grid, *nbase) for grid in done])
        nowcast = Parsed()
        for grid in done:
            sky = skies.get((*grid, *nbase))
            nowcast.extend(nowcast_hourly_row(nowcasts[grid], *grid, sky))
        written += upsert(conn, t.tm_weather_hourly, nowcast.rows, Mode.OVERWRITE)
    batch.parsed.rejected.extend(nowcast.rejected)
    metadata = partition_metadata(
        rows=written, rejected=len(batch.parsed.rejected), source=source.label, elapsed=clock,
        farms=len(farms), grids=len(grids), grids_assigned=assigned,
        forecast_base=" ".join(fbase), nowcast_base=" ".join(nbase),
        nowcast_rows=len(nowcast.rows), **_rejected(batch.parsed),
    )  # fmt: skip
    _fail_if_needed("tm_weather_hourly", batch, metadata)
    yield dg.MaterializeResult(metadata=metadata)
    covered = {(r["nx"], r["ny"]) for r in nowcast.rows}
    missing = [f"{nx},{ny}" for nx, ny in grids if (nx, ny) not in covered]
    yield dg.AssetCheckResult(
        check_name=HOURLY_CHECK,
        passed=not missing,
        description="every farm grid has an observed row for the nowcast hour",
        metadata={"grids_without_nowcast": dg.MetadataValue.json(missing)},
    )


# -- TM_WEATHER -----------------------------------------------------------------------------------
class WeatherConfig(dg.Config):
    """What a TM_WEATHER run writes (the defaults do all of it)."""

    forecast: bool = Field(default=True, description="daily forecast rows from TM_WEATHER_HOURLY")
    midterm: bool = Field(default=True, description="mid-term rows of days +3…+10 (if absent)")
    asos_days: int = Field(
        default=1, ge=0, description="observed ASOS days ending yesterday (0: none)"
    )
    asos_start: str | None = Field(default=None, description="YYYYMMDD; with asos_end, a range")
    asos_end: str | None = Field(default=None, description="YYYYMMDD, at most yesterday")

    def asos_range(self, today: dt.date) -> tuple[dt.date, dt.date] | None:
        """The observed days to collect, or None."""
        last = last_asos_day(today)
        if self.asos_start or self.asos_end:
            try:
                first = dt.datetime.strptime(self.asos_start or self.asos_end or "", "%Y%m%d")
                end = dt.datetime.strptime(self.asos_end or self.asos_start or "", "%Y%m%d")
            except ValueError:
                raise dg.Failure(
                    f"tm_weather: asos_start/asos_end must be YYYYMMDD, got "
                    f"{self.asos_start!r}/{self.asos_end!r}",
                    allow_retries=False,
                ) from None
            if first > end:
                raise dg.Failure(
                    f"tm_weather: asos_start {self.asos_start} is after asos_end {self.asos_end}",
                    allow_retries=False,
                )
            return first.date(), min(end.date(), last)
        if self.asos_days == 0:
            return None
        return last - dt.timedelta(days=self.asos_days - 1), last


def _midterm(source: WeatherSource, farms: list[Farm], tm_fc: str) -> Batch:
    regions: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for (nx, ny), members in grids_of(farms).items():
        regions.setdefault(midterm_region(members[0].sigun_cd), []).append((nx, ny))

    def unit(ta_reg: str, land_reg: str, grids: list[tuple[int, int]]) -> Callable[[], Parsed]:
        def call() -> Parsed:
            ta, land = source.mid_ta(ta_reg, tm_fc), source.mid_land(land_reg, tm_fc)
            out = Parsed()
            for nx, ny in grids:
                out.extend(midterm_rows(ta[0] if ta else None, land[0] if land else None,
                                        tm_fc, nx, ny))  # fmt: skip
            return out

        return call

    return Batch().run(
        [(f"region {ta}/{land}", unit(ta, land, g)) for (ta, land), g in sorted(regions.items())]
    )


def _observed(source: WeatherSource, farms: list[Farm], days: tuple[dt.date, dt.date]) -> Batch:
    by_station: dict[int, list[tuple[int, int]]] = {}
    for grid, members in grids_of(farms).items():
        if members[0].stn_id is not None:
            by_station.setdefault(members[0].stn_id, []).append(grid)

    def unit(station: int, grids: list[tuple[int, int]]) -> Callable[[], Parsed]:
        return lambda: asos_rows(source.asos_daily(station, *days), grids)

    return Batch().run(
        [(f"station {stn}", unit(stn, grids)) for stn, grids in sorted(by_station.items())]
    )


@dg.asset(
    group_name=GROUP,
    kinds=KINDS,
    retry_policy=STANDARD_RETRY,
    deps=[tm_weather_hourly, tm_weather_asos],
    check_specs=[dg.AssetCheckSpec(DAILY_CHECK, asset="tm_weather")],
)
def tm_weather(
    context: dg.AssetExecutionContext,
    config: WeatherConfig,
    farm_db: FarmDbResource,
    kma: KmaResource,
    inspig_sample: InspigSampleResource,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Daily rows per farm grid: forecast, mid-term days +3…+10, replaced by ASOS observations."""
    clock = Stopwatch()
    engine, farms, _, _ = _farms(context, farm_db, inspig_sample)
    grids = list(grids_of(farms))
    now = now_kst()
    days = config.asos_range(now.date())
    source = weather_source(kma, engine) if config.midterm or days else None
    counts: dict[str, object] = {}
    failures: list[tuple[str, Batch]] = []
    parsed = Parsed()
    if config.forecast:
        with engine.begin() as conn:
            daily = daily_from_hourly(read_hourly(conn, grids, now.strftime("%Y%m%d")))
            counts["forecast_rows"] = upsert(conn, t.tm_weather, daily, Mode.FORECAST)
    if config.midterm and source:
        tm_fc = midterm_tmfc(now)
        batch = _midterm(source, farms, tm_fc)
        with engine.begin() as conn:
            counts["midterm_rows"] = upsert(conn, t.tm_weather, batch.parsed.rows, Mode.INSERT_ONLY)
        counts["midterm_tmfc"] = tm_fc
        failures.append(("tm_weather mid-term", batch))
        parsed.rejected.extend(batch.parsed.rejected)
    if days and source:
        with engine.begin() as conn:
            stations = stations_in_use(conn)
            if not stations:
                raise dg.Failure(
                    "tm_weather: TM_WEATHER_ASOS holds no station in use, so no farm has an ASOS "
                    "station; materialize tm_weather_asos first",
                    allow_retries=False,
                )
            counts["stations_assigned"] = assign_stations(conn, farms, stations)
        batch = _observed(source, farms, days)
        with engine.begin() as conn:
            counts["observed_rows"] = upsert(conn, t.tm_weather, batch.parsed.rows, Mode.OVERWRITE)
        counts["observed_days"] = f"{days[0]:%Y%m%d}…{days[1]:%Y%m%d}"
        failures.append(("tm_weather ASOS", batch))
        parsed.rejected.extend(batch.parsed.rejected)
    rows = sum(v for k, v in counts.items() if k.endswith("_rows") and isinstance(v, int))
    metadata = partition_metadata(
        rows=rows, rejected=len(parsed.rejected), elapsed=clock,
        source=source.label if source else farm_db.source_label, grids=len(grids), **counts,
        **_rejected(parsed),
    )  # fmt: skip
    for what, batch in failures:
        _fail_if_needed(what, batch, metadata)
    yield dg.MaterializeResult(metadata=metadata)
    yield _temperature_check(engine, grids, now.date())


def _temperature_check(
    engine: sa.Engine, grids: list[tuple[int, int]], today: dt.date
) -> dg.AssetCheckResult:
    w = t.tm_weather
    first = (today - dt.timedelta(days=10)).strftime("%Y%m%d")
    with engine.connect() as conn:
        bad = conn.execute(
            sa.select(w.c.nx, w.c.ny, w.c.wk_date).where(
                w.c.wk_date >= first, w.c.temp_low > w.c.temp_high
            )
        ).all()
    wanted = set(grids)
    listed = [f"{r.nx},{r.ny} {r.wk_date}" for r in bad if (r.nx, r.ny) in wanted]
    return dg.AssetCheckResult(
        check_name=DAILY_CHECK,
        passed=not listed,
        description="no day of the farm grids has TEMP_LOW above TEMP_HIGH",
        metadata={"days": dg.MetadataValue.json(listed[:50])},
    )


# -- jobs, schedules, resources -------------------------------------------------------------------
inspig_weather_job = dg.define_asset_job(
    "inspig_weather_job",
    selection=dg.AssetSelection.assets(tm_weather_hourly, tm_weather),
    config={"ops": {"tm_weather": {"config": {"asos_days": 0}}}},
    tags=ORACLE_TAGS,
    description="Hourly: short-term forecast and nowcast, daily forecast rows, mid-term.",
)
inspig_weather_observed_job = dg.define_asset_job(
    "inspig_weather_observed_job",
    selection=dg.AssetSelection.assets(tm_weather_asos, tm_weather),
    config={
        "ops": {"tm_weather": {"config": {"forecast": False, "midterm": False, "asos_days": 1}}}
    },
    tags=ORACLE_TAGS,
    description="Daily: the station list and farms' stations, yesterday's ASOS observations.",
)
WEATHER_JOBS = (inspig_weather_job, inspig_weather_observed_job)


def weather_schedules(status: dg.DefaultScheduleStatus) -> list[dg.ScheduleDefinition]:
    """Hourly forecast, nowcast and mid-term; ASOS observations daily at 00:30 KST."""
    return [
        dg.ScheduleDefinition(
            name="inspig_weather_schedule",
            job=inspig_weather_job,
            cron_schedule="0 * * * *",
            execution_timezone=KST_NAME,
            default_status=status,
            description="Every hour (KST): forecast, nowcast and mid-term weather of farm grids.",
        ),
        dg.ScheduleDefinition(
            name="inspig_weather_observed_schedule",
            job=inspig_weather_observed_job,
            cron_schedule="30 0 * * *",
            execution_timezone=KST_NAME,
            default_status=status,
            description="00:30 KST: yesterday's ASOS observations replace its forecast rows.",
        ),
    ]


def weather_resources(settings: PlatformSettings) -> dict[str, dg.ConfigurableResource]:
    """The KMA client of the weather assets (keys come from TS_API_KEY_INFO, not settings)."""
    return {"kma": KmaResource(base_url=settings.kma_api_url, use_sample=not settings.is_prod)}
