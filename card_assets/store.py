"""The warehouse side of the card location: dead letters, scenario rows, retention.

`card_dead_letters` holds one row per (window, stage, item) that failed after its retries:
`stage` is `material` or `gscm` (item: a sales org) or `scenario` (item: a user). A new failure
of the same item adds its attempts and moves `last_failed_at`; a success deletes the row.
"""

import datetime as dt
from collections.abc import Iterable, Iterator

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from card_assets.schema import (
    LATEST_VIEW_SQL,
    PAGE_COLUMNS,
    card_dead_letters,
    user_scenario_result,
    warehouse_metadata,
)
from resources.warehouse import WarehouseResource

STAGES = ("material", "gscm", "scenario")


def ensure_tables(warehouse: WarehouseResource) -> None:
    """Create the card tables, their indexes and the `user_scenario_latest` view."""
    warehouse.create_tables(warehouse_metadata)
    with warehouse.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(80020014)"))
        conn.execute(sa.text(LATEST_VIEW_SQL))


def record_failures(
    warehouse: WarehouseResource,
    window_start: dt.datetime,
    stage: str,
    failures: Iterable[tuple[str, str, int]],
    at: dt.datetime | None = None,
) -> int:
    """Dead-letter (item, error, attempts) of a stage; returns how many were written."""
    at = at or dt.datetime.now(dt.UTC)
    rows = [
        {
            "window_start": window_start,
            "stage": stage,
            "item": item,
            "error": error,
            "attempts": attempts,
            "first_failed_at": at,
            "last_failed_at": at,
        }
        for item, error, attempts in failures
    ]
    if not rows:
        return 0
    statement = insert(card_dead_letters)
    statement = statement.on_conflict_do_update(
        index_elements=["window_start", "stage", "item"],
        set_={
            "error": statement.excluded.error,
            "attempts": card_dead_letters.c.attempts + statement.excluded.attempts,
            "last_failed_at": statement.excluded.last_failed_at,
        },
    )
    with warehouse.begin() as conn:
        conn.execute(statement, rows)
    return len(rows)


def clear(
    warehouse: WarehouseResource,
    window_start: dt.datetime,
    stage: str,
    items: Iterable[str] | None = None,
) -> int:
    """Delete a stage's dead letters of a window (only `items` when given); returns the count."""
    table = card_dead_letters
    condition = sa.and_(table.c.window_start == window_start, table.c.stage == stage)
    if items is not None:
        items = list(items)
        if not items:
            return 0
        condition = sa.and_(condition, table.c.item.in_(items))
    with warehouse.begin() as conn:
        return conn.execute(sa.delete(table).where(condition)).rowcount


def dead_letters(
    warehouse: WarehouseResource, window_start: dt.datetime, stage: str | None = None
) -> pd.DataFrame:
    """The dead letters of a window (of one stage when given), by stage and item."""
    table = card_dead_letters
    query = sa.select(table).where(table.c.window_start == window_start)
    if stage:
        query = query.where(table.c.stage == stage)
    return warehouse.read_frame(query.order_by(table.c.stage, table.c.item))


def write_window(
    warehouse: WarehouseResource,
    pages: pd.DataFrame | Iterable[pd.DataFrame],
    window_start: dt.datetime,
    window_end: dt.datetime,
) -> int:
    """Replace the window's rows of `user_scenario_result` by `pages`, in one transaction.

    `pages` is one frame or frames in turn (`scenario.page_chunks`): each is sent to PostgreSQL
    while the next is built. Returns the number of rows written.
    """
    if isinstance(pages, pd.DataFrame):
        pages = [pages]
    created_at = pd.Timestamp.now(tz="UTC")
    window = pd.Timestamp(window_start)

    def rows() -> Iterator[pd.DataFrame]:
        for chunk in pages:
            frame = chunk.copy()
            frame.insert(1, "window_start", window)
            frame["created_at"] = created_at
            yield frame

    columns = ["user_id", "window_start", *PAGE_COLUMNS, "created_at"]
    return warehouse.replace_partition_frames(
        rows(), columns, user_scenario_result.name, "window_start", window_start, window_end
    )


def delete_expired(warehouse: WarehouseResource, days: int) -> int:
    """Delete result rows created more than `days` days ago; returns how many."""
    table = user_scenario_result
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    with warehouse.begin() as conn:
        return conn.execute(sa.delete(table).where(table.c.created_at < cutoff)).rowcount
