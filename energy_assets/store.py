"""Warehouse writes of the energy tables: upserts that keep stored values, whole-table replaces."""

import datetime as dt
from collections.abc import Sequence

import pandas as pd
import sqlalchemy as sa
from psycopg import sql

from energy_assets import schema
from resources.warehouse import WarehouseResource

DERIVED = (schema.plant_data_quality,)  # recomputable: dropped when their columns changed


def ensure_tables(warehouse: WarehouseResource) -> None:
    """Create the energy tables that are missing (a derived table of an older shape is rebuilt)."""
    with warehouse.begin() as conn:
        inspector = sa.inspect(conn)
        for table in DERIVED:
            if inspector.has_table(table.name):
                stored = {c["name"] for c in inspector.get_columns(table.name)}
                if stored != {c.name for c in table.columns}:
                    conn.execute(sa.text(f'DROP TABLE "{table.name}"'))
    warehouse.create_tables(schema.metadata)


def replace_days(
    warehouse: WarehouseResource,
    frame: pd.DataFrame,
    table: sa.Table,
    first: dt.date,
    last: dt.date,
) -> int:
    """Replace the rows of `table` with `day` in [first, last] by `frame` (one transaction)."""
    with warehouse.begin() as conn:
        conn.execute(table.delete().where(table.c.day >= first, table.c.day <= last))
        if len(frame):
            warehouse.copy_frame(frame, table.name, conn)
    return len(frame)


def upsert_keeping_stored(
    warehouse: WarehouseResource, frame: pd.DataFrame, table: sa.Table, keys: Sequence[str]
) -> int:
    """Upsert `frame` on `keys` where a NULL never overwrites a stored value (COPY + merge)."""
    if frame.empty:
        return 0
    columns = list(frame.columns)
    values = [c for c in columns if c not in keys]
    ident = sql.Identifier
    merge = sql.SQL(
        "INSERT INTO {t} ({cols}) SELECT {cols} FROM _energy_staging ON CONFLICT ({keys}) "
        "DO UPDATE SET {sets}"
    ).format(
        t=ident(table.name),
        cols=sql.SQL(", ").join(map(ident, columns)),
        keys=sql.SQL(", ").join(map(ident, keys)),
        sets=sql.SQL(", ").join(
            sql.SQL("{c} = COALESCE(EXCLUDED.{c}, {t}.{c})").format(c=ident(c), t=ident(table.name))
            for c in values
        ),
    )
    with warehouse.begin() as conn:
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            cur.execute(
                sql.SQL(
                    "CREATE TEMP TABLE _energy_staging ON COMMIT DROP AS "
                    "SELECT {} FROM {} WITH NO DATA"
                ).format(sql.SQL(", ").join(map(ident, columns)), ident(table.name))
            )
        warehouse.copy_frame(frame, "_energy_staging", conn)
        with raw.cursor() as cur:
            cur.execute(merge)
            return cur.rowcount


def replace_table(warehouse: WarehouseResource, frame: pd.DataFrame, table: sa.Table) -> int:
    """Replace every row of a small table by `frame`, in one transaction."""
    with warehouse.begin() as conn:
        conn.execute(table.delete())
        if len(frame):
            warehouse.copy_frame(frame, table.name, conn)
    return len(frame)
