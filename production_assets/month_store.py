"""The monthly totals in the warehouse: what a run writes, and what it must not overwrite.

A window's rows of the three tables (totals, rejected records, the files each month came from)
are replaced together in one transaction, and only after every input was read. A month that an
earlier run computed from a file that is gone now is refused: rebuilding it without that file
would replace its figures with nothing. Plain Python: nothing here imports Dagster.
"""

import datetime as dt
import re
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from production_assets.schema import production_monthly_sources as sources_table
from production_assets.schema import production_monthly_totals as monthly_table
from production_assets.schema import production_rejected_records as rejected_table
from production_assets.summaries import MonthlyTotals
from resources.warehouse import WarehouseResource

# The bucket of rejected rows whose raw date names no month at all (e.g. `n/a`, `2024-13-01`).
UNDATED_MONTH = dt.date(1900, 1, 1)
# A year and a month at the start of a raw date: `2024-01-05`, `2024/1/5`, `2024.01`, `2024년 1월`,
# or the compact `20240105`.
_NAMED_MONTH = re.compile(r"^\s*(\d{4})(?:\s*[-/.년]\s*(\d{1,2})(?!\d)|(\d{2})\d{2}(?!\d))")


def rejected_month(production_date: str | None) -> dt.date:
    """The month a rejected row's raw date names, or UNDATED_MONTH when it names none.

    It depends on the row alone, so a month run on its own and a range run keep the row under the
    same month.
    """
    match = _NAMED_MONTH.match(production_date or "")
    if match:
        month = int(match.group(2) or match.group(3))
        if 1 <= month <= 12:
            return dt.date(int(match.group(1)), month, 1)
    return UNDATED_MONTH


@dataclass(frozen=True)
class MonthFrames:
    """The rows one run writes for its window."""

    totals: pd.DataFrame
    rejected: pd.DataFrame
    sources: pd.DataFrame


def frames(totals: MonthlyTotals, now: dt.datetime) -> MonthFrames:
    """The rows of the three tables for what `monthly_totals` read."""
    items = totals.items
    totals_frame = pd.DataFrame(
        {
            "month": [dt.date.fromisoformat(f"{i.year_month}-01") for i in items],
            "item_code": [i.item_code for i in items],
            "item_name": [i.item_name for i in items],
            "total_production": [i.total_production for i in items],
            "batch_count": [i.batch_count for i in items],
            "avg_batch_size": [i.avg_batch_size for i in items],
            "computed_at": [now] * len(items),
        },
        columns=[c.name for c in monthly_table.columns],
    )
    rejected = totals.rejected
    rejected_frame = pd.DataFrame(
        {
            "month": [rejected_month(r.production_date) for r in rejected],
            "source_file": [r.source_file for r in rejected],
            "record_id": [r.record_id for r in rejected],
            "production_date": [r.production_date for r in rejected],
            "item_code": [r.item_code for r in rejected],
            "good_quantity": [r.good_quantity for r in rejected],
            "reason": [r.reason for r in rejected],
            "detected_at": [now] * len(rejected),
        },
        columns=[c.name for c in rejected_table.columns],
    )
    pairs = [(ym, name, n) for ym, files in totals.sources.items() for name, n in files.items()]
    sources_frame = pd.DataFrame(
        {
            "month": [dt.date.fromisoformat(f"{ym}-01") for ym, _, _ in pairs],
            "source_file": [name for _, name, _ in pairs],
            "rows": [n for _, _, n in pairs],
            "computed_at": [now] * len(pairs),
        },
        columns=[c.name for c in sources_table.columns],
    )
    return MonthFrames(totals_frame, rejected_frame, sources_frame)


def months_of_vanished_files(
    warehouse: WarehouseResource, start: dt.date, end: dt.date, present: set[str]
) -> dict[str, list[str]]:
    """{file: [YYYY-MM]} of the window's months that were computed from a file not in `present`."""
    query = sa.select(sources_table.c.source_file, sources_table.c.month).where(
        sources_table.c.month >= start, sources_table.c.month < end
    )
    vanished: dict[str, list[str]] = {}
    for name, month in warehouse.read_frame(query).itertuples(index=False):
        if name not in present:
            vanished.setdefault(name, []).append(month.strftime("%Y-%m"))
    return {name: sorted(months) for name, months in sorted(vanished.items())}


def replace_window(
    warehouse: WarehouseResource, rows: MonthFrames, start: dt.date, end: dt.date
) -> int:
    """Replace the window's rows of the three tables in one transaction; returns totals written.

    Rejected rows are replaced by the raw dates the window read ([start, end) in byte order, the
    order SQLite compares in), not by the month they are kept under: a row read by this window may
    name another month or none.
    """
    for frame, table in ((rows.totals, monthly_table), (rows.sources, sources_table)):
        if len(frame) and not ((frame.month >= start) & (frame.month < end)).all():
            raise ValueError(f"{table.name}: rows outside [{start}, {end})")
    raw_date = sa.collate(rejected_table.c.production_date, "C")
    with warehouse.begin() as conn:
        for table in (monthly_table, sources_table):
            conn.execute(sa.delete(table).where(table.c.month >= start, table.c.month < end))
        conn.execute(
            sa.delete(rejected_table).where(
                raw_date >= start.isoformat(), raw_date < end.isoformat()
            )
        )
        warehouse.copy_frame(rows.totals, monthly_table, conn=conn)
        warehouse.copy_frame(rows.rejected, rejected_table, conn=conn)
        warehouse.copy_frame(rows.sources, sources_table, conn=conn)
    return len(rows.totals)
