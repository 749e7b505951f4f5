import datetime as dt
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from resources.warehouse import WarehouseResource

DAY1, DAY2, DAY3 = dt.date(2024, 1, 1), dt.date(2024, 1, 2), dt.date(2024, 1, 3)


def _create(warehouse: WarehouseResource) -> None:
    metadata = sa.MetaData()
    sa.Table(
        "readings",
        metadata,
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("sensor", sa.Text, primary_key=True),
        sa.Column("value", sa.Float),
        sa.Column("label", sa.Text),
        sa.Column("seen_at", sa.DateTime(timezone=True)),
        sa.Column("ok", sa.Boolean),
    )
    warehouse.create_tables(metadata)


def _frame(day: dt.date, n: int, value: float = 1.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "day": [day] * n,
            "sensor": [f"s{i:03d}" for i in range(n)],
            "value": np.arange(n, dtype=float) + value,
            "label": [
                'a,b "quoted"\nline' if i % 3 == 0 else ("" if i % 3 == 1 else None)
                for i in range(n)
            ],
            "seen_at": pd.Timestamp("2024-01-01 09:00", tz="Asia/Seoul"),
            "ok": [i % 2 == 0 for i in range(n)],
        }
    )


def _rows(warehouse: WarehouseResource) -> pd.DataFrame:
    return warehouse.read_frame("SELECT * FROM readings ORDER BY day, sensor")


def test_copy_frame_keeps_nulls_empty_strings_and_timestamps(warehouse: WarehouseResource) -> None:
    _create(warehouse)
    assert warehouse.copy_frame(_frame(DAY1, 3), "readings") == 3
    rows = _rows(warehouse)
    assert rows["label"].tolist() == ['a,b "quoted"\nline', "", None]
    assert rows["seen_at"].iloc[0] == pd.Timestamp("2024-01-01 00:00", tz="UTC")
    assert rows["ok"].tolist() == [True, False, True]


def test_replace_partition_is_idempotent_and_leaves_other_days(
    warehouse: WarehouseResource,
) -> None:
    _create(warehouse)
    warehouse.copy_frame(_frame(DAY2, 4, value=100), "readings")
    for _ in range(3):
        assert warehouse.replace_partition(_frame(DAY1, 5), "readings", "day", DAY1, DAY2) == 5
    rows = _rows(warehouse)
    assert (rows["day"] == DAY1).sum() == 5
    assert (rows["day"] == DAY2).sum() == 4
    assert rows[rows["day"] == DAY1]["value"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_replace_partition_refuses_rows_outside_the_range(warehouse: WarehouseResource) -> None:
    _create(warehouse)
    with pytest.raises(ValueError, match="2 row.*outside"):
        warehouse.replace_partition(
            pd.concat([_frame(DAY1, 3), _frame(DAY3, 2)]), "readings", "day", DAY1, DAY2
        )
    assert _rows(warehouse).empty


def test_replace_partition_is_atomic_when_the_load_fails(warehouse: WarehouseResource) -> None:
    _create(warehouse)
    warehouse.replace_partition(_frame(DAY1, 5), "readings", "day", DAY1, DAY2)
    before = _rows(warehouse)
    broken = _frame(DAY1, 6)
    broken.loc[5, "sensor"] = "s000"  # duplicate primary key: COPY fails after the DELETE ran
    with pytest.raises(Exception, match="duplicate key"):
        warehouse.replace_partition(broken, "readings", "day", DAY1, DAY2)
    pd.testing.assert_frame_equal(_rows(warehouse), before)


def test_replace_partition_with_many_chunks_and_a_bad_column(
    warehouse: WarehouseResource, monkeypatch: pytest.MonkeyPatch
) -> None:
    import resources.warehouse as wh

    monkeypatch.setattr(wh, "COPY_CHUNK_ROWS", 7)
    monkeypatch.setattr(wh, "PREFETCH_CHUNKS", 2)  # the serialiser waits for the COPY
    _create(warehouse)
    warehouse.copy_frame(_frame(DAY2, 4, value=100), "readings")
    # 100 rows in 7-row chunks: 15 chunks through a 2-chunk queue, in order
    assert warehouse.replace_partition(_frame(DAY1, 100), "readings", "day", DAY1, DAY2) == 100
    rows = _rows(warehouse)
    assert rows[rows["day"] == DAY1]["value"].tolist() == [float(v) for v in range(1, 101)]
    before = rows
    # a value that cannot be serialised, in the 3rd chunk: named, and the old day stays
    bad = _frame(DAY1, 30)
    bad["value"] = bad["value"].astype(object)
    bad.loc[20, "value"] = object()
    with pytest.raises(ValueError, match="column 'value'"):
        warehouse.replace_partition(bad, "readings", "day", DAY1, DAY2)
    pd.testing.assert_frame_equal(_rows(warehouse), before)


def test_replace_partition_frames_writes_every_frame_or_none(
    warehouse: WarehouseResource,
) -> None:
    _create(warehouse)
    warehouse.copy_frame(_frame(DAY2, 4, value=100), "readings")
    columns = list(_frame(DAY1, 1).columns)
    thirds = [_frame(DAY1, 30).iloc[i : i + 10] for i in (0, 10, 20)]
    assert warehouse.replace_partition_frames(thirds, columns, "readings", "day", DAY1, DAY2) == 30
    before = _rows(warehouse)
    assert before[before["day"] == DAY1]["sensor"].tolist() == [f"s{i:03d}" for i in range(30)]

    def failing() -> Iterator[pd.DataFrame]:
        yield _frame(DAY1, 5, value=50)
        raise RuntimeError("the page builder broke on the second chunk")

    with pytest.raises(RuntimeError, match="second chunk"):
        warehouse.replace_partition_frames(failing(), columns, "readings", "day", DAY1, DAY2)
    pd.testing.assert_frame_equal(_rows(warehouse), before)
    late = [_frame(DAY1, 5), _frame(DAY2, 2)]  # the second frame belongs to another day
    with pytest.raises(ValueError, match=r"2 row\(s\) of readings have day outside"):
        warehouse.replace_partition_frames(late, columns, "readings", "day", DAY1, DAY2)
    reordered = [_frame(DAY1, 5)[columns[::-1]]]
    with pytest.raises(ValueError, match="a frame has columns"):
        warehouse.replace_partition_frames(reordered, columns, "readings", "day", DAY1, DAY2)
    pd.testing.assert_frame_equal(_rows(warehouse), before)


def test_upsert_is_idempotent_and_updates_changed_rows(warehouse: WarehouseResource) -> None:
    _create(warehouse)
    for _ in range(3):
        assert warehouse.upsert(_frame(DAY1, 4), "readings", ["day", "sensor"]) == 4
    changed = _frame(DAY1, 6, value=50)
    assert warehouse.upsert(changed, "readings", ["day", "sensor"]) == 6
    rows = _rows(warehouse)
    assert len(rows) == 6
    assert rows["value"].tolist() == [50.0, 51.0, 52.0, 53.0, 54.0, 55.0]


def test_upsert_is_atomic_and_names_bad_input(warehouse: WarehouseResource) -> None:
    _create(warehouse)
    warehouse.upsert(_frame(DAY1, 3), "readings", ["day", "sensor"])
    before = _rows(warehouse)
    with pytest.raises(ValueError, match="1 row.*repeat a key"):
        warehouse.upsert(
            pd.concat([_frame(DAY1, 3), _frame(DAY1, 1)]), "readings", ["day", "sensor"]
        )
    bad = _frame(DAY2, 3)
    bad["value"] = ["1.0", "2.0", "not a number"]
    with pytest.raises(Exception, match="not a number"):
        warehouse.upsert(bad, "readings", ["day", "sensor"])
    pd.testing.assert_frame_equal(_rows(warehouse), before)


def test_unconvertible_column_is_named(warehouse: WarehouseResource) -> None:
    _create(warehouse)
    frame = _frame(DAY1, 2)
    frame["value"] = [1.0, object()]
    with pytest.raises(ValueError, match="column 'value'"):
        warehouse.copy_frame(frame, "readings")


def test_steps_creating_the_same_tables_at_once_do_not_collide(pg_url: str, pg_schema: str) -> None:
    metadata = sa.MetaData()
    for n in range(8):
        sa.Table(f"t{n}", metadata, sa.Column("id", sa.Integer, primary_key=True))
    warehouses = [WarehouseResource(url=pg_url, search_path=pg_schema) for _ in range(4)]
    start = threading.Barrier(len(warehouses))

    def create(warehouse: WarehouseResource) -> None:
        start.wait()
        warehouse.create_tables(metadata)

    with ThreadPoolExecutor(len(warehouses)) as pool:
        for future in [pool.submit(create, w) for w in warehouses]:
            future.result()  # raises the UniqueViolation of a lost race
    tables = warehouses[0].read_frame(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = :s",
        {"s": pg_schema},
    )
    assert tables["n"][0] == 8


def test_replace_partition_by_binary_copy_keeps_every_value(warehouse: WarehouseResource) -> None:
    _create(warehouse)
    frame = _frame(DAY1, 6)
    frame.loc[1, "value"] = float("nan")  # NaN is stored as NULL, as by CSV
    frame.loc[2, "label"] = "한글 ünï\tcode"
    frame.loc[4, "seen_at"] = pd.NaT
    frame["ok"] = [True, False, True, False, True, False]
    warehouse.copy_frame(frame.assign(day=DAY2), "readings")  # the CSV path, for comparison
    assert warehouse.replace_partition(frame, "readings", "day", DAY1, DAY2) == 6
    rows = _rows(warehouse)
    by_binary = rows[rows["day"] == DAY1].drop(columns="day").reset_index(drop=True)
    by_csv = rows[rows["day"] == DAY2].drop(columns="day").reset_index(drop=True)
    pd.testing.assert_frame_equal(by_binary, by_csv)
    assert by_binary["label"].tolist()[:3] == ['a,b "quoted"\nline', "", "한글 ünï\tcode"]
    assert by_binary["value"].isna().tolist() == [False, True, False, False, False, False]
    assert by_binary["seen_at"].iloc[0] == pd.Timestamp("2024-01-01 00:00", tz="UTC")
    assert pd.isna(by_binary["seen_at"].iloc[4])


def test_replace_partition_names_an_integer_out_of_range(warehouse: WarehouseResource) -> None:
    metadata = sa.MetaData()
    sa.Table(
        "counts",
        metadata,
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("n", sa.Integer),
    )
    warehouse.create_tables(metadata)
    frame = pd.DataFrame({"day": [DAY1, DAY1], "n": np.array([1, 2**40], dtype=np.int64)})
    frame.loc[0, "day"] = DAY1
    with pytest.raises(ValueError, match=r"column 'n'.*1099511627776 is out of range for int4"):
        warehouse.replace_partition(frame.iloc[[1]], "counts", "day", DAY1, DAY2)
    assert warehouse.replace_partition(frame.iloc[[0]], "counts", "day", DAY1, DAY2) == 1
    assert warehouse.read_frame("SELECT n FROM counts")["n"].tolist() == [1]
