"""Reading a raw sensor day into Spark: every file's schema judged, every error named by its key.

A day is a set of parquet objects in the lake. Spark reads them from wherever it can (the lake
folder, `s3a://`, or a staging folder on the driver), but an operator knows them only by their
lake key: every problem found here names the object by its lake address (`s3://…/dt=…/x.parquet`),
never by the path Spark happened to read it from.

- Each file's schema is read from its own footer (pyarrow on the driver for a local copy, else
  Spark) and judged against the sensor record schema: a file missing a column fails the day,
  whatever its name or place in the listing (Spark's folder read takes the schema of one file
  only, and would read a missing column as nulls).
- A file that is not parquet or is truncated fails the day naming its key.
- The day is read as one scan of its files (one per distinct file schema, when they differ), each
  cast to the record schema.
"""

from collections.abc import Sequence
from pathlib import Path

import pyarrow.parquet as pq
from py4j.protocol import Py4JError
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.pandas.types import from_arrow_schema

from pothole_assets.raw_layout import MEASURE_COLUMNS, RawFile

RAW_SCHEMA = T.StructType(
    [
        T.StructField("timestamp", T.LongType()),
        T.StructField("trip_id", T.StringType()),
        T.StructField("vehicle_id", T.StringType()),
        *[T.StructField(name, T.DoubleType()) for name in MEASURE_COLUMNS],
        T.StructField("satellites", T.IntegerType()),
    ]
)
NUMERIC_TYPES = (T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.FloatType, T.DoubleType)
# What Spark or pyarrow raise for a file they cannot read.
READ_ERRORS = (PySparkException, Py4JError, OSError, ValueError)


def local_raw_files(folder: str | Path) -> list[RawFile]:
    """The parquet files of a local folder, each named by its own path."""
    paths = sorted(p for p in Path(folder).glob("*.parquet") if p.is_file())
    return [RawFile(str(p), str(p), str(p)) for p in paths]


class RawSchemaError(ValueError):
    """Raw files lack a column, carry a wrong type, or cannot be read at all.

    `files` maps each bad file's lake address to its problems; `unreadable` lists the files that
    could not be read at all (not parquet, truncated).
    """

    def __init__(self, files: dict[str, list[str]], unreadable: list[str] | None = None) -> None:
        self.files = files
        self.unreadable = list(unreadable or [])
        self.problems = [f"{name}: {p}" for name, problems in files.items() for p in problems]
        super().__init__("; ".join(self.problems))


class RawReadError(RuntimeError):
    """Spark failed while reading a raw object; the message names its lake address."""

    def __init__(self, name: str | None, reason: str) -> None:
        self.name = name
        self.reason = reason
        where = f"raw object {name} is unreadable" if name else "reading the raw day failed"
        super().__init__(f"{where}: {reason}")


def check_raw_schema(schema: T.StructType) -> list[str]:
    """Problems of a raw file schema against the sensor record schema (empty = usable)."""
    found = {f.name: f.dataType for f in schema.fields}
    problems = []
    for expected in RAW_SCHEMA.fields:
        actual = found.get(expected.name)
        if actual is None:
            problems.append(f"missing column '{expected.name}'")
        elif isinstance(expected.dataType, T.StringType):
            if not isinstance(actual, T.StringType):
                problems.append(f"column '{expected.name}' is {actual.simpleString()}, not string")
        elif not isinstance(actual, NUMERIC_TYPES):
            problems.append(
                f"column '{expected.name}' is {actual.simpleString()}, not "
                f"{expected.dataType.simpleString()}"
            )
    return problems


def conform_raw(frame: DataFrame) -> DataFrame:
    """Select the sensor columns with the record schema's types (after `check_raw_schema`)."""
    types = {f.name: f.dataType for f in frame.schema.fields}
    return frame.select(
        [
            F.col(f.name) if types[f.name] == f.dataType else F.col(f.name).cast(f.dataType)
            for f in RAW_SCHEMA.fields
        ]
    )


def error_reason(exc: BaseException, files: Sequence[RawFile] = ()) -> str:
    """The first telling line of a Spark/pyarrow error, read paths replaced by lake names."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("An error occurred while calling")]
    text = (lines[0] if lines else type(exc).__name__).lstrip(": ")
    return rename_paths(text, files)[:300]


def rename_paths(text: str, files: Sequence[RawFile]) -> str:
    """`text` with every read path of `files` (also as `file:` URIs) replaced by its lake name."""
    forms = []
    for f in files:
        for path in {f.path, f.local} - {None}:
            forms += [(f"file://{path}", f.name), (f"file:{path}", f.name), (path, f.name)]
    for form, name in sorted(forms, key=lambda pair: -len(pair[0])):
        text = text.replace(form, name)
    return text


def named_file(text: str, files: Sequence[RawFile]) -> str | None:
    """The lake name of the file a (renamed) error text mentions, if it names one."""
    return next((f.name for f in files if f.name in text), None)


def file_schema(session: SparkSession, raw: RawFile) -> T.StructType:
    """A raw file's schema from its own footer (pyarrow on a local copy, else Spark)."""
    if raw.local is not None:
        return from_arrow_schema(pq.read_schema(raw.local))
    return session.read.parquet(raw.path).schema


def read_raw(session: SparkSession, files: list[RawFile]) -> tuple[DataFrame, list[str]]:
    """The day's rows in the record schema, and the columns of its files.

    Raises `RawSchemaError` naming every file that is unreadable or does not fit.
    """
    if not files:
        raise RawSchemaError({}, [])
    schemas: dict[str, T.StructType] = {}
    bad: dict[str, list[str]] = {}
    unreadable = []
    for raw in files:
        try:
            schemas[raw.name] = file_schema(session, raw)
        except READ_ERRORS as exc:
            unreadable.append(raw.name)
            bad[raw.name] = [f"unreadable (not parquet, or truncated): {error_reason(exc, files)}"]
            continue
        problems = check_raw_schema(schemas[raw.name])
        if problems:
            bad[raw.name] = problems
    if bad:
        raise RawSchemaError(bad, unreadable)
    groups: dict[str, tuple[T.StructType, list[str]]] = {}
    for raw in files:
        schema = schemas[raw.name]
        groups.setdefault(schema.json(), (schema, []))[1].append(raw.path)
    # each group read with the schema its footers gave: Spark need not infer it again
    frames = [
        conform_raw(session.read.schema(schema).parquet(*paths))
        for schema, paths in groups.values()
    ]
    frame = frames[0]
    for other in frames[1:]:
        frame = frame.unionByName(other)
    columns = [f.name for f in schemas[files[0].name].fields]
    return frame, columns
