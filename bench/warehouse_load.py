"""Warehouse load speed: replace_partition and upsert over existing rows, against a raw COPY.

The table holds three days of 1,000,000 rows each (10 mixed-type columns, primary key (day, id)),
as a warehouse table does after a few runs. Each figure rewrites the middle day with the same rows
(a DataFrame in memory):

- baseline: COPY FROM STDIN of that day's rows, already serialised as CSV in memory, into the same
  table without the day (the server's own ingest speed with this index; the limit of this
  machine). Not timed: deleting the day beforehand.
- replace_partition: the day is there; DELETE of the day + COPY of the frame in one transaction,
  serialisation included. The DELETE counts.
- upsert over existing rows: every key exists, so every row is an update.

Each figure is the best of three; before each timed run the table is vacuumed (not timed), so dead
rows of the previous run do not weigh on the next. pandas' to_sql (100,000 rows into an empty
table) is shown as the usual alternative.

Server: BENCH_DATABASE_URL, else TEST_DATABASE_URL, else a temporary embedded PostgreSQL.
"""

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd
import sqlalchemy as sa
from benchdb import bench_database_url, best_seconds, fresh_schema, raw_copy

from resources.copy_format import csv_chunks
from resources.kst import KST
from resources.warehouse import COPY_CHUNK_ROWS, WarehouseResource

ROWS = 1_000_000
TO_SQL_ROWS = 100_000
REPEAT = 3
DAY = dt.date(2024, 3, 5)
OTHER_DAYS = (DAY - dt.timedelta(days=1), DAY + dt.timedelta(days=1))
REPLACE_TARGET = 0.70
UPSERT_TARGET = 0.35

DDL = """
CREATE TABLE {name} (
    day date NOT NULL, id bigint NOT NULL, seen_at timestamptz, device text, status text,
    speed double precision, accel_z double precision, gyro_y double precision, count integer,
    ok boolean, PRIMARY KEY (day, id)
)"""


def sample_frame(rows: int, day: dt.date = DAY) -> pd.DataFrame:
    """`rows` rows of one day; the same values for every day but the date."""
    rng = np.random.default_rng(7)
    start = pd.Timestamp(day.isoformat(), tz=KST)
    return pd.DataFrame(
        {
            "day": day,
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


def serialise(frame: pd.DataFrame) -> bytes:
    """The frame as the CSV COPY reads, in memory."""
    return b"".join(bytes(c) for c in csv_chunks(frame, COPY_CHUNK_ROWS))


def best_of(label: str, rows: int, reset: Callable[[], None], work: Callable[[], None]) -> float:
    """Best of REPEAT runs, printed as one line; returns rows/s."""
    seconds = best_seconds(REPEAT, reset, work)
    rate = rows / seconds
    print(f"{label:<40}{rows:>11,} rows {seconds:>8.2f} s {rate:>13,.0f} rows/s", flush=True)
    return rate


def main() -> None:
    """Run the benchmark on a fresh schema."""
    with bench_database_url() as url, fresh_schema(url, "bench_load") as schema:
        _main(url, schema)


def _main(url: str, schema: str) -> None:
    warehouse = WarehouseResource(url=url, search_path=schema)
    warehouse.execute(DDL.format(name="target"))
    warehouse.execute(DDL.format(name="scratch"))
    engine = warehouse.get_engine()
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    frame = sample_frame(ROWS)
    serialised = serialise(frame)
    for other in OTHER_DAYS:
        raw_copy(
            engine, "COPY target FROM STDIN WITH (FORMAT csv)", serialise(sample_frame(ROWS, other))
        )
    with engine.connect() as conn:
        version = conn.execute(sa.text("SHOW server_version")).scalar()
    print(
        f"PostgreSQL {version}, {ROWS:,} rows x 10 columns a day ({len(serialised) / 1e6:.0f} MB "
        f"as CSV), {len(OTHER_DAYS)} other days in the table; best of {REPEAT}",
        flush=True,
    )

    def vacuum() -> None:
        with autocommit.connect() as conn:
            conn.execute(sa.text("VACUUM (ANALYZE) target"))

    def without_the_day() -> None:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM target WHERE day = :day"), {"day": DAY})
        vacuum()

    def copy_baseline() -> None:
        raw_copy(engine, "COPY target FROM STDIN WITH (FORMAT csv)", serialised)

    def replace() -> None:
        warehouse.replace_partition(frame, "target", "day", DAY, DAY + dt.timedelta(days=1))

    def upsert() -> None:
        warehouse.upsert(frame, "target", ["day", "id"])

    small = frame.head(TO_SQL_ROWS)

    def empty_scratch() -> None:
        with engine.begin() as conn:
            conn.execute(sa.text("TRUNCATE scratch"))

    def to_sql() -> None:
        small.to_sql("scratch", engine, schema=schema, if_exists="append", index=False)

    raw = best_of("raw COPY (pre-serialised), day absent", ROWS, without_the_day, copy_baseline)
    rep = best_of("replace_partition, day present", ROWS, vacuum, replace)
    ups = best_of("upsert, every row exists", ROWS, vacuum, upsert)
    pds = best_of("pandas to_sql, empty table", TO_SQL_ROWS, empty_scratch, to_sql)
    with engine.connect() as conn:
        counts = dict(
            conn.execute(sa.text("SELECT day, count(*) FROM target GROUP BY day")).fetchall()
        )
    assert counts == {d: ROWS for d in (DAY, *OTHER_DAYS)}, counts  # each figure left the rows
    engine.dispose()

    print()
    print(f"pandas to_sql: {pds:,.0f} rows/s ({pds / raw:.2f} ×, no target)")
    print(
        f"upsert over existing rows: {ups:,.0f} rows/s ({ups / raw:.2f} ×, target {UPSERT_TARGET})"
    )
    print(
        f"replace_partition over an existing partition: {rep:,.0f} rows/s "
        f"({rep / raw:.2f} ×, target {REPLACE_TARGET})"
    )


if __name__ == "__main__":
    main()
