"""The weather tables in the farm database: farms' grids and stations, upserts, the key pool.

Writes are upserts on the tables' unique keys, built from the one table definition in `schema`:
`MERGE` on Oracle (`OracleMerge`, executed with array binding), `INSERT … ON CONFLICT` on
PostgreSQL. Three ways of writing a row (`Mode`):

- `OVERWRITE`: an observation replaces whatever the row held (nowcast hours, ASOS days);
- `FORECAST`: a forecast updates only rows that are still forecasts (IS_FORECAST 'Y'), so an
  observed row is never turned back into a forecast;
- `INSERT_ONLY`: a row is added when absent (mid-term days, the ASOS station list).
"""

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ClauseElement, Executable

from inspig_assets import schema as t
from inspig_assets.weather_stations import ASOS_STATION_LIST
from resources.kma import KeyPool, PoolKey, haversine_km, latlon_to_grid


class Mode(enum.Enum):
    """How an upsert treats an existing row (see the module docstring)."""

    OVERWRITE = "overwrite"
    FORECAST = "forecast"
    INSERT_ONLY = "insert_only"


# -- the upsert -----------------------------------------------------------------------------------
class OracleMerge(Executable, ClauseElement):
    """`MERGE INTO table USING (SELECT :c AS c … FROM DUAL)` on `keys`, one row per bind set."""

    inherit_cache = False

    def __init__(
        self, table: sa.Table, columns: Sequence[str], keys: Sequence[str], mode: Mode
    ) -> None:
        self.table, self.columns, self.keys, self.mode = table, list(columns), list(keys), mode


@compiles(OracleMerge)
def _compile_merge(element: OracleMerge, compiler: Any, **kw: Any) -> str:
    table = element.table
    prep = compiler.preparer
    name = prep.format_table(table)
    q = {c: prep.quote(c) for c in element.columns}
    select = ", ".join(
        f"{compiler.process(sa.bindparam(c, type_=table.c[c].type), **kw)} AS {q[c]}"
        for c in element.columns
    )
    on = " AND ".join(f"t.{q[k]} = s.{q[k]}" for k in element.keys)
    sql = f"MERGE INTO {name} t USING (SELECT {select} FROM DUAL) s ON ({on})"
    if element.mode is not Mode.INSERT_ONLY:
        updated = [c for c in element.columns if c not in element.keys and c != "log_ins_dt"]
        sql += " WHEN MATCHED THEN UPDATE SET " + ", ".join(f"t.{q[c]} = s.{q[c]}" for c in updated)
        if element.mode is Mode.FORECAST:
            sql += " WHERE t.is_forecast = 'Y'"
    columns = ", ".join(q[c] for c in element.columns)
    values = ", ".join(f"s.{q[c]}" for c in element.columns)
    return sql + f" WHEN NOT MATCHED THEN INSERT ({columns}) VALUES ({values})"


def upsert_statement(
    dialect: str, table: sa.Table, columns: Sequence[str], keys: Sequence[str], mode: Mode
) -> Executable:
    """The upsert of `columns` on `keys` for a dialect ('oracle' or 'postgresql')."""
    if dialect == "oracle":
        return OracleMerge(table, columns, keys, mode)
    stmt = pg_insert(table)
    if mode is Mode.INSERT_ONLY:
        return stmt.on_conflict_do_nothing(index_elements=list(keys))
    updated = [c for c in columns if c not in keys and c != "log_ins_dt"]
    return stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={c: stmt.excluded[c] for c in updated},
        where=(table.c.is_forecast == "Y") if mode is Mode.FORECAST else None,
    )


WEATHER_KEYS = {
    "tm_weather": ("nx", "ny", "wk_date"),
    "tm_weather_hourly": ("nx", "ny", "wk_date", "wk_time"),
    "tm_weather_asos": ("stn_id",),
}


def upsert(
    conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]], mode: Mode
) -> int:
    """Write `rows` (all with the same columns) on the table's unique key; rows written."""
    if not rows:
        return 0
    now = dt.datetime.now(dt.UTC)
    stamps = {"log_ins_dt": now} | ({"log_upt_dt": now} if "log_upt_dt" in table.c else {})
    records = [{**row, **stamps} for row in rows]
    columns = list(records[0])
    stmt = upsert_statement(
        conn.dialect.name, table, columns, WEATHER_KEYS[table.name], mode
    )  # fmt: skip
    conn.execute(stmt, records)  # executemany: array binding on Oracle, batched VALUES on PG
    return len(records)


# -- farms, grids and stations --------------------------------------------------------------------
@dataclass
class Farm:
    """An active farm as the weather collection sees it."""

    farm_no: int
    sigun_cd: str | None
    lat: float | None
    lon: float | None
    nx: int | None
    ny: int | None
    stn_id: int | None


def active_farms(conn: sa.Connection) -> list[Farm]:
    """Farms with USE_YN 'Y', by farm number."""
    f = t.ta_farm
    query = sa.select(
        f.c.farm_no, f.c.sigun_cd, f.c.map_y_n, f.c.map_x_n,
        f.c.weather_nx_n, f.c.weather_ny_n, f.c.asos_stn_id,
    ).where(f.c.use_yn == "Y")  # fmt: skip
    return [
        Farm(
            r.farm_no,
            r.sigun_cd,
            float(r.map_y_n) if r.map_y_n is not None else None,
            float(r.map_x_n) if r.map_x_n is not None else None,
            r.weather_nx_n,
            r.weather_ny_n,
            r.asos_stn_id,
        )
        for r in conn.execute(query.order_by(f.c.farm_no))
    ]


def assign_grids(conn: sa.Connection, farms: Sequence[Farm]) -> tuple[int, list[int]]:
    """Give farms without a grid the grid of their coordinates (stored on TA_FARM).

    Returns (farms assigned, farms that have neither grid nor coordinates).
    """
    f = t.ta_farm
    updates, unplaced = [], []
    for farm in farms:
        if farm.nx is not None and farm.ny is not None:
            continue
        if farm.lat is None or farm.lon is None:
            unplaced.append(farm.farm_no)
            continue
        farm.nx, farm.ny = latlon_to_grid(farm.lat, farm.lon)
        updates.append({"b_farm": farm.farm_no, "b_nx": farm.nx, "b_ny": farm.ny})
    if updates:
        conn.execute(
            f.update()
            .where(f.c.farm_no == sa.bindparam("b_farm"))
            .values(
                weather_nx_n=sa.bindparam("b_nx"),
                weather_ny_n=sa.bindparam("b_ny"),
                log_upt_dt=dt.datetime.now(),
            ),
            updates,
        )
    return len(updates), unplaced


@dataclass(frozen=True)
class Station:
    """An ASOS station in use."""

    stn_id: int
    stn_nm: str
    lat: float
    lon: float


def stations_in_use(conn: sa.Connection) -> list[Station]:
    """TM_WEATHER_ASOS rows with USE_YN 'Y'."""
    s = t.tm_weather_asos
    query = sa.select(s.c.stn_id, s.c.stn_nm, s.c.lat, s.c.lon).where(
        sa.func.coalesce(s.c.use_yn, "Y") == "Y"
    )
    return [
        Station(r.stn_id, r.stn_nm, float(r.lat), float(r.lon))
        for r in conn.execute(query.order_by(s.c.stn_id))
    ]


def seed_stations(conn: sa.Connection) -> int:
    """Add the stations of the built-in list that TM_WEATHER_ASOS lacks; rows added."""
    s = t.tm_weather_asos
    before = conn.execute(sa.select(sa.func.count()).select_from(s)).scalar_one()
    rows = [
        {"stn_id": i, "stn_nm": nm, "lat": lat, "lon": lon, "use_yn": "Y"}
        for i, nm, lat, lon in ASOS_STATION_LIST
    ]
    upsert(conn, s, rows, Mode.INSERT_ONLY)
    return conn.execute(sa.select(sa.func.count()).select_from(s)).scalar_one() - before


def nearest_station(lat: float, lon: float, stations: Sequence[Station]) -> tuple[Station, float]:
    """The closest station by haversine distance, and the distance in km."""
    return min(
        ((s, haversine_km(lat, lon, s.lat, s.lon)) for s in stations), key=lambda pair: pair[1]
    )


def assign_stations(
    conn: sa.Connection, farms: Sequence[Farm], stations: Sequence[Station], *, every: bool = False
) -> int:
    """Store the nearest station on farms with coordinates and no station (`every`: all of them).

    Returns the farms whose station was stored (a farm already on its nearest station is left).
    """
    if not stations:
        return 0
    f = t.ta_farm
    updates = []
    for farm in farms:
        if farm.lat is None or farm.lon is None or (farm.stn_id is not None and not every):
            continue
        station, km = nearest_station(farm.lat, farm.lon, stations)
        if farm.stn_id == station.stn_id:
            continue
        farm.stn_id = station.stn_id
        updates.append(
            {"b_farm": farm.farm_no, "b_id": station.stn_id, "b_nm": station.stn_nm,
             "b_km": round(km, 2)}
        )  # fmt: skip
    if updates:
        conn.execute(
            f.update()
            .where(f.c.farm_no == sa.bindparam("b_farm"))
            .values(
                asos_stn_id=sa.bindparam("b_id"),
                asos_stn_nm=sa.bindparam("b_nm"),
                asos_dist_km=sa.bindparam("b_km"),
                log_upt_dt=dt.datetime.now(),
            ),
            updates,
        )
    return len(updates)


def grids_of(farms: Sequence[Farm]) -> dict[tuple[int, int], list[Farm]]:
    """The distinct grids of the farms, each with its farms (by farm number)."""
    grids: dict[tuple[int, int], list[Farm]] = {}
    for farm in sorted(farms, key=lambda f: f.farm_no):
        if farm.nx is not None and farm.ny is not None:
            grids.setdefault((farm.nx, farm.ny), []).append(farm)
    return dict(sorted(grids.items()))


def read_hourly(
    conn: sa.Connection, grids: Sequence[tuple[int, int]], first_day: str
) -> list[dict[str, Any]]:
    """TM_WEATHER_HOURLY rows of `grids` from `first_day` (YYYYMMDD) on."""
    h = t.tm_weather_hourly
    if not grids:
        return []
    query = sa.select(
        h.c.nx, h.c.ny, h.c.wk_date, h.c.wk_time, h.c.temp, h.c.rain_prob, h.c.rain_amt,
        h.c.humidity, h.c.wind_speed, h.c.sky_cd, h.c.weather_cd, h.c.base_date, h.c.base_time,
    ).where(
        h.c.wk_date >= first_day,
        h.c.nx.in_(sorted({g[0] for g in grids})),
        h.c.ny.in_(sorted({g[1] for g in grids})),
    )  # fmt: skip
    wanted = {tuple(g) for g in grids}
    return [dict(r._mapping) for r in conn.execute(query) if (r.nx, r.ny) in wanted]


def hourly_skies(
    conn: sa.Connection, hours: Sequence[tuple[int, int, str, str]]
) -> dict[tuple[int, int, str, str], str]:
    """The sky already stored for (nx, ny, date, HHMM) hours (the nowcast has no sky)."""
    h = t.tm_weather_hourly
    if not hours:
        return {}
    query = sa.select(h.c.nx, h.c.ny, h.c.wk_date, h.c.wk_time, h.c.sky_cd).where(
        h.c.wk_date.in_(sorted({hour[2] for hour in hours})),
        h.c.wk_time.in_(sorted({hour[3] for hour in hours})),
        h.c.sky_cd.is_not(None),
    )
    wanted = set(hours)
    found = {(r.nx, r.ny, r.wk_date, r.wk_time): r.sky_cd for r in conn.execute(query)}
    return {hour: sky for hour, sky in found.items() if hour in wanted}


# -- the key pool ---------------------------------------------------------------------------------
def key_pool(engine: sa.Engine) -> KeyPool:
    """The keys of TS_API_KEY_INFO, least used first; each success adds 1 to its REQ_CNT.

    Keys are stored URL-encoded and used decoded (the HTTP library encodes them once).
    """
    k = t.ts_api_key_info
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(k.c.api_key, k.c.create_user, k.c.req_cnt).order_by(
                sa.func.coalesce(k.c.req_cnt, 0), k.c.api_key
            )
        ).all()
    stored = {unquote(r.api_key): r.api_key for r in rows}
    keys = [
        PoolKey(unquote(r.api_key), r.create_user or f"key {n + 1}", int(r.req_cnt or 0))
        for n, r in enumerate(rows)
    ]

    def count(key: PoolKey) -> None:
        with engine.begin() as conn:
            conn.execute(
                k.update()
                .where(k.c.api_key == stored[key.key])
                .values(req_cnt=sa.func.coalesce(k.c.req_cnt, 0) + 1)
            )

    return KeyPool(keys, on_success=count)
