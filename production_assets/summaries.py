"""Monthly production totals across the live file and the archives, with the cutoff on both sides.

Every file contributes only the rows inside its own date range (see `databases.discover`), so rows
of a previous year that reappear in the live file are not counted twice. Averages are weighted: the
total divided by the batch count, never an average of averages. A row counts in the month its
`production_date` names (`YYYY-MM-`); a row whose date does not start that way is rejected (by
string order it would otherwise land in a neighbouring month). Plain Python: nothing here imports
Dagster.
"""

import hashlib
import sqlite3
from dataclasses import dataclass, field

from production_assets.databases import (
    TABLE,
    DbFile,
    DbLayout,
    require_table,
)
from production_assets.snapshots import long_reading


@dataclass
class ItemMonth:
    """Production of one item in one month."""

    year_month: str
    item_code: str
    item_name: str | None
    total_production: float
    batch_count: int

    @property
    def avg_batch_size(self) -> float:
        """Weighted average batch size: total / batches."""
        return self.total_production / self.batch_count if self.batch_count else 0.0


@dataclass
class RejectedRow:
    """A row that cannot be placed in a month."""

    source_file: str
    record_id: int
    production_date: str
    item_code: str
    good_quantity: float | None
    reason: str


@dataclass
class MonthlyTotals:
    """Totals per (month, item) for a date window, plus what was read and rejected."""

    items: list[ItemMonth] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    rows_by_file: dict[str, int] = field(default_factory=dict)
    # {year_month: {file: rows}}: which files each month was computed from.
    sources: dict[str, dict[str, int]] = field(default_factory=dict)

    def by_month(self) -> dict[str, dict[str, float]]:
        """Per month: total, batch count and weighted average batch size."""
        months: dict[str, dict[str, float]] = {}
        for item in self.items:
            month = months.setdefault(item.year_month, {"total_production": 0.0, "batch_count": 0})
            month["total_production"] += item.total_production
            month["batch_count"] += item.batch_count
        for month in months.values():
            count = month["batch_count"]
            month["avg_batch_size"] = month["total_production"] / count if count else 0.0
        return dict(sorted(months.items()))


def _intersect(db: DbFile, start: str, end: str) -> tuple[str, str] | None:
    lo = max(start, db.start) if db.start else start
    hi = min(end, db.end) if db.end else end
    return (lo, hi) if lo < hi else None


def files_for_window(layout: DbLayout, start: str, end: str) -> list[tuple[DbFile, str, str]]:
    """The files whose range meets [start, end), each with the part of the window it serves."""
    selected = []
    for db in layout.files:
        bounds = _intersect(db, start, end)
        if bounds:
            selected.append((db, *bounds))
    return selected


# Dates that name a real month (used to find a file's first and last month).
VALID_MONTH_SQL = (
    "(production_date GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-*'"
    " AND substr(production_date, 6, 2) BETWEEN '01' AND '12')"
)
REJECT_REASON = "production_date does not start with YYYY-MM- of a real month"


def next_month(day: str) -> str:
    """First day of the month after the one `day` (YYYY-MM...) names."""
    year, month = int(day[:4]), int(day[5:7])
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}-01"


def month_ranges(lo: str, hi: str) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """Cut [lo, hi) (lo an ISO day) into one range per month and the gaps between them.

    A month's range holds exactly the strings that start with `YYYY-MM-` (from `YYYY-MM-` up to
    `YYYY-MM.`, '.' being the character after '-'), so a row counts in the month its date names
    and the order of strings cannot carry `2024/01/05` or `2024-13-01` into a month: those lie in
    the gaps. Returns ([(year_month, start, end)], [(start, end)]), all half-open.
    """
    months: list[tuple[str, str, str]] = []
    month = lo[:7]
    while f"{month}-01" < hi:  # a month whose first day is outside the window is not in it
        start, end = max(lo, f"{month}-"), min(hi, f"{month}.")
        if start < end:
            months.append((month, start, end))
        month = next_month(month)[:7]
    gaps: list[tuple[str, str]] = []
    position = lo
    for _, start, end in months:
        if position < start:
            gaps.append((position, start))
        position = end
    if position < hi:
        gaps.append((position, hi))
    return months, gaps


# One month of one file, per item. Item first: the (item_code, production_date, good_quantity)
# index covers it and returns the groups in order, so nothing is sorted and the table itself is
# never read. (One query for a whole range grouped by item and month would sort every row.)
ITEM_MONTH_SQL = f"""
SELECT item_code, TOTAL(good_quantity), COUNT(*) FROM {TABLE}
WHERE production_date >= ? AND production_date < ?
GROUP BY item_code
"""
GAP_ROWS_SQL = f"""
SELECT id, production_date, item_code, good_quantity FROM {TABLE}
WHERE production_date >= ? AND production_date < ?
"""


def item_months(
    conn: sqlite3.Connection, months: list[tuple[str, str, str]]
) -> list[tuple[str, str, float, int, str | None]]:
    """(year_month, item_code, total, batches, name) of the rows in each month's range.

    The name is the item's name on its latest row of that month (names can change; the newest
    wins), so a month's figures do not depend on which other months a run covers.
    """
    return [
        (ym, code, float(total), int(count), _latest_name(conn, code, start, end))
        for ym, start, end in months
        for code, total, count in conn.execute(ITEM_MONTH_SQL, (start, end)).fetchall()
    ]


def monthly_totals(
    layout: DbLayout, start: str, end: str, busy_timeout_s: float = 5.0
) -> MonthlyTotals:
    """Totals per month and item for production dates in [start, end) (ISO dates)."""
    result = MonthlyTotals()
    merged: dict[tuple[str, str], ItemMonth] = {}
    for db, lo, hi in files_for_window(layout, start, end):
        with long_reading(db.path, busy_timeout_s, shared=db.kind == "live") as conn:
            require_table(conn, db.path)
            months, gaps = month_ranges(lo, hi)
            rows = item_months(conn, months)
            rejected = [r for gap in gaps for r in conn.execute(GAP_ROWS_SQL, gap)]
        result.rows_by_file[db.name] = sum(r[3] for r in rows)
        result.rejected.extend(
            RejectedRow(db.name, int(r[0]), r[1], r[2], r[3], REJECT_REASON) for r in rejected
        )
        for ym, code, total, count, name in rows:
            month_files = result.sources.setdefault(ym, {})
            month_files[db.name] = month_files.get(db.name, 0) + count
            key = (ym, code)
            if key in merged:
                merged[key].total_production += total
                merged[key].batch_count += count
                # Files are read oldest first: a newer file's item name wins.
                merged[key].item_name = name or merged[key].item_name
            else:
                merged[key] = ItemMonth(ym, code, name, total, count)
    result.items = [merged[k] for k in sorted(merged)]
    return result


def _latest_name(conn: sqlite3.Connection, item_code: str, lo: str, hi: str) -> str | None:
    """The item's name on its latest row in [lo, hi) (names can change; the newest wins)."""
    row = conn.execute(
        f"""
        SELECT item_name FROM {TABLE}
        WHERE item_code = ? AND production_date >= ? AND production_date < ?
        ORDER BY production_date DESC, id DESC LIMIT 1
        """,
        (item_code, lo, hi),
    ).fetchone()
    return row[0] if row else None


_P = (1 << 61) - 1


def _item_hash(code: str) -> int:
    return int.from_bytes(hashlib.blake2b(code.encode(), digest_size=8).digest(), "big") % _P


Fingerprint = list[int]
FINGERPRINT_SIZE = 5


def _month_span(conn: sqlite3.Connection, db: DbFile) -> tuple[str, str] | None:
    """[first month start, month after the last) of `db`'s dated rows in its range."""
    where, params = db.bounds_sql()
    ends = [
        conn.execute(  # by the date index: stops at the first row of a real month
            f"SELECT production_date FROM {TABLE} WHERE {where} AND {VALID_MONTH_SQL} "
            f"ORDER BY production_date {order} LIMIT 1",
            params,
        ).fetchone()
        for order in ("ASC", "DESC")
    ]
    if ends[0] is None:
        return None
    first = max(f"{ends[0][0][:7]}-01", db.start or "")
    last = next_month(ends[1][0])
    return first, min(last, db.end) if db.end else last


def month_fingerprints(db: DbFile, busy_timeout_s: float = 5.0) -> dict[str, Fingerprint]:
    """An additive digest per month of what `db` contributes to the monthly totals.

    The digest is [batches, total in thousandths, Σ h(item)·batches, Σ h(item)·total, Σ h(item,
    name)] (the last three mod 2^61-1), so digests of several files add up to the digest of their
    union: rows moving from the live file into an archive change nothing, and so does the ERP
    rewriting identical rows. The item's name (its latest in the month, as the totals show it) is
    part of it: renaming an item changes its months.
    """
    with long_reading(db.path, busy_timeout_s, shared=db.kind == "live") as conn:
        require_table(conn, db.path)
        span = _month_span(conn, db)
        rows = item_months(conn, month_ranges(*span)[0]) if span else []
    months: dict[str, Fingerprint] = {}
    for ym, code, total, count, name in rows:
        acc = months.setdefault(ym, [0] * FINGERPRINT_SIZE)
        milli = round(total * 1000)
        weight = _item_hash(code)
        acc[0] += count
        acc[1] += milli
        acc[2] = (acc[2] + weight * count) % _P
        acc[3] = (acc[3] + weight * milli) % _P
        acc[4] = (acc[4] + _item_hash(f"{code}\0{name}")) % _P
    return months


def combine_fingerprints(per_file: dict[str, dict[str, Fingerprint]]) -> dict[str, Fingerprint]:
    """Digest per month of the union of several files."""
    months: dict[str, Fingerprint] = {}
    for file_months in per_file.values():
        for ym, fp in file_months.items():
            acc = months.setdefault(ym, [0] * FINGERPRINT_SIZE)
            for n, value in enumerate(fp):
                acc[n] = acc[n] + value if n < 2 else (acc[n] + value) % _P
    return months


def changed_months(
    old: dict[str, dict[str, Fingerprint]], new: dict[str, dict[str, Fingerprint]]
) -> list[str]:
    """Months whose combined digest differs between two {file: {month: digest}} states."""
    before, after = combine_fingerprints(old), combine_fingerprints(new)
    return sorted(ym for ym in set(before) | set(after) if before.get(ym) != after.get(ym))
