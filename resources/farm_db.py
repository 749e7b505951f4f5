"""PigPlan / InsightPig database: Oracle in production, the warehouse's `pigplan` schema locally."""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import dagster as dg
import pandas as pd
import sqlalchemy as sa
from pydantic import Field

from resources.warehouse import WarehouseResource, copy_rows

LOCAL_SCHEMA = "pigplan"


class FarmDbResource(dg.ConfigurableResource):
    """Oracle through SQLAlchemy `oracle+oracledb` (thin mode), or the warehouse schema pigplan."""

    oracle_url: str | None = Field(
        default=None, description="oracle+oracledb://user:password@host:port/?service_name=…"
    )
    warehouse: WarehouseResource = Field(default_factory=WarehouseResource)
    local_schema: str = LOCAL_SCHEMA

    @property
    def is_oracle(self) -> bool:
        """True when connected to the production Oracle database."""
        return bool(self.oracle_url)

    @property
    def source_label(self) -> str:
        """What the UI metadata shows as the database used."""
        return "oracle" if self.is_oracle else f"warehouse schema {self.local_schema} (sample)"

    def get_engine(self) -> sa.Engine:
        """Engine of the farm database (Oracle thin mode needs no client libraries)."""
        if self.oracle_url:
            return _oracle_engine(self.oracle_url)
        engine = self.warehouse.get_engine(search_path=self.local_schema)
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{self.local_schema}"'))
        return engine

    @contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """A connection inside one transaction."""
        with self.get_engine().begin() as conn:
            yield conn

    def insert_rows(
        self,
        conn: sa.Connection,
        table: sa.Table,
        rows: Sequence[Mapping[str, Any]] | pd.DataFrame,
    ) -> int:
        """Bulk insert: array-bound executemany on Oracle, COPY on the local PostgreSQL."""
        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
        if frame.empty:
            return 0
        if conn.dialect.name == "postgresql":
            return copy_rows(conn.connection.driver_connection, table, frame)
        records = frame.astype(object).where(frame.notna(), None).to_dict("records")
        conn.execute(table.insert(), records)  # oracledb executemany with array binding
        return len(records)


_oracle_engines: dict[str, sa.Engine] = {}


def _oracle_engine(url: str) -> sa.Engine:
    engine = _oracle_engines.get(url)
    if engine is None:
        engine = sa.create_engine(url, pool_pre_ping=True)
        _oracle_engines[url] = engine
    return engine
