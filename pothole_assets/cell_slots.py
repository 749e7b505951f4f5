"""Broadcast cell indexes whose entries are numbered columns, one set per entry, not an array.

A cell's entries (the bumps whose veto box reaches it, the segments within reach of it) become
columns `field_0`, `field_1`, … up to the most entries any cell holds, null past a cell's own.
A test over them is then a plain expression Spark compiles, where a lambda over an array would be
interpreted row by row.
"""

from collections.abc import Sequence

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

KEYS = ("cx", "cy")


def slot_frame(
    spark: SparkSession,
    rows: pd.DataFrame,
    fields: Sequence[str],
    int_fields: Sequence[str] = (),
) -> DataFrame:
    """One row per cell (`cx`, `cy`, as int) with its entries' `fields` numbered in row order.

    `fields` are doubles, except those in `int_fields`.
    """
    slot = rows.groupby(list(KEYS), sort=False).cumcount()
    width = int(slot.max()) + 1 if len(rows) else 0
    names = [f"{name}_{i}" for i in range(width) for name in fields]
    ints = {*KEYS, *(f"{name}_{i}" for i in range(width) for name in int_fields)}
    records: list[dict] = []
    if len(rows):
        wide = rows.assign(slot=slot).pivot(index=list(KEYS), columns="slot", values=list(fields))
        wide.columns = [f"{name}_{i}" for name, i in wide.columns]
        wide = wide.reset_index()[[*KEYS, *names]]
        records = [
            {
                name: None if pd.isna(value) else int(value) if name in ints else float(value)
                for name, value in record.items()
            }
            for record in wide.to_dict("records")
        ]
    schema = T.StructType(
        [
            T.StructField(name, T.IntegerType() if name in ints else T.DoubleType())
            for name in [*KEYS, *names]
        ]
    )
    return spark.createDataFrame(records, schema)


def slot_count(frame: DataFrame, field: str) -> int:
    """How many numbered entries a `slot_frame` holds per cell (its columns `field_0` …)."""
    prefix = f"{field}_"
    return sum(1 for c in frame.columns if c.startswith(prefix) and c[len(prefix) :].isdigit())
