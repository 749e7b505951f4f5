"""Warehouse load speed: replace_partition and upsert against a raw COPY of pre-serialised rows.

1,000,000 rows of 10 mixed-type columns (in memory as a DataFrame). The baseline is COPY FROM STDIN
of the same rows already serialised as CSV in memory: the server's own ingest speed, the limit of
this machine. replace_partition and upsert include serialisation. pandas' to_sql runs on 100,000
of the rows as the usual alternative. Each figure is the best of three runs into an empty table.

Server: BENCH_DATABASE_URL, else TEST_DATABASE_URL, else a temporary embedded PostgreSQL.
"""

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd
import sqlalchemy as sa
from benchdb import bench_database_url, best_seconds, fresh_schema, raw_copy

from resources.copy_format import csv_chunks
from resources.warehouse import COPY_CHUNK_ROWS, WarehouseResource

ROWS = 1_000_000
TO_SQL_ROWS = 100_000
REPEAT = 3
DAY = dt.date(2024, 3, 5)

DDL = """
CREATE TABLE {name} (
    day date NOT NULL, id bigint NOT NULL, seen_at timestamptz, device text, status text,
    speed double precision, accel_z double precision, gyro_y double precision, count integer,
    ok boolean, PRIMARY KEY (day, id)
)"""


def sample_frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    start = pd.Timestamp("2024-03-05 00:00", tz="Asia/Seoul")
    return pd.DataFrame(
        {
            "day": DAY,
            "id": np.arange(rows, dtype=np.int64),
            "seen_at": start + pd.to_timedelta(rng.integers(0, 86_400_000, rows), unit="ms"),
            "device": pd.Series([f"dev-{i:05d}" for i in rng.integers(0, 50_000, rows)]),
            "status": rng.choice(["ok", "warn", "error, retry", ""], rows),
            "speed": rng.normal(40, 12, rows),
            "accel_z": rng.normal(9.8, 1.5, rows),
            "gyro_y": rng.normal(0, 0.3, rows),
            "count": rng.integers(0, 1000, rows).astype(np.int32),
            "ok": rng.random(rows) > 0.1,
        }
    )


def best_of(label: str, rows: int, reset: Callable[[], None], work: Callable[[], None]) -> float:
    seconds = best_seconds(REPEAT, reset, work)
    rate = rows / seconds
    print(f"{label:<34}{rows:>11,} rows {seconds:>8.2f} s {rate:>13,.0f} rows/s")
    return rate


def main() -> None:
    with bench_database_url() as url, fresh_schema(url, "bench_load") as schema:
        _main(url, schema)


def _main(url: str, schema: str) -> None:
    warehouse = WarehouseResource(url=url, search_path=schema)
    warehouse.execute(DDL.format(name="target"))
    engine = warehouse.get_engine()

    frame = sample_frame(ROWS)
    serialised = b"".join(bytes(c) for c in csv_chunks(frame, COPY_CHUNK_ROWS))
    with engine.connect() as conn:
        version = conn.execute(sa.text("SHOW server_version")).scalar()
    print(
        f"PostgreSQL {version}, {ROWS:,} rows x 10 columns, "
        f"{len(serialised) / 1e6:.0f} MB as CSV; best of {REPEAT}"
    )

    def truncate() -> None:
        with engine.begin() as conn:
            conn.execute(sa.text("TRUNCATE target"))

    def copy_baseline() -> None:
        raw_copy(engine, "COPY target FROM STDIN WITH (FORMAT csv)", serialised)

    def replace() -> None:
        warehouse.replace_partition(frame, "target", "day", DAY, DAY + dt.timedelta(days=1))

    def upsert() -> None:
        warehouse.upsert(frame, "target", ["day", "id"])

    small = frame.head(TO_SQL_ROWS)

    def to_sql() -> None:
        small.to_sql("target", engine, schema=schema, if_exists="append", index=False)

    raw = best_of("raw COPY (pre-serialised)", ROWS, truncate, copy_baseline)
    rep = best_of("replace_partition", ROWS, truncate, replace)
    ups = best_of("upsert (COPY staging + merge)", ROWS, truncate, upsert)
    pds = best_of("pandas to_sql", TO_SQL_ROWS, truncate, to_sql)
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE target"))
    warehouse.upsert(frame, "target", ["day", "id"])
    again = best_of("upsert over existing rows", ROWS, lambda: None, upsert)

    print()
    print(f"replace_partition / raw COPY   {rep / raw:5.2f}  (target >= 0.80)")
    print(f"upsert / raw COPY              {ups / raw:5.2f}  (target >= 0.50)")
    print(f"upsert over existing / raw     {again / raw:5.2f}")
    print(f"pandas to_sql / raw COPY       {pds / raw:5.2f}")
    engine.dispose()


if __name__ == "__main__":
    main()
