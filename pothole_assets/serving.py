"""Serving-layer SQL: monthly partitions, loader validation, views, report queries, counts."""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from pothole_assets.schema import REPAIR_PRIORITY, VIEW_SQL, pothole_report_sent

# Columns of a pothole_segments row (one segment on one day), as Stage 2 writes them.
SEGMENT_ROW_COLUMNS = [
    "s_id",
    "date",
    "centroid_lon",
    "centroid_lat",
    "impact_count",
    "total_count",
]
MAX_DAY_OVER_DAY_CHANGE = 0.5
# Any constant works: it only serialises partition creation between concurrent runs.
_PARTITION_LOCK_KEY = 86_3_2026


def month_start(day: date) -> date:
    """First day of `day`'s month."""
    return day.replace(day=1)


def next_month(day: date) -> date:
    """First day of the month after `day`'s."""
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def partition_name(day: date) -> str:
    """Name of the monthly partition holding `day`: pothole_segments_YYYY_MM."""
    return f"pothole_segments_{day:%Y_%m}"


def ensure_month_partitions(conn: sa.Connection, days: Iterable[date]) -> list[str]:
    """Create the monthly partitions of pothole_segments that `days` need; returns the new ones.

    Every month gets its partition when its first day is loaded, whatever the month.
    """
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PARTITION_LOCK_KEY})
    existing = set(
        conn.execute(
            sa.text(
                "SELECT c.relname FROM pg_inherits i "
                "JOIN pg_class c ON c.oid = i.inhrelid "
                "JOIN pg_class p ON p.oid = i.inhparent "
                "WHERE p.oid = 'pothole_segments'::regclass"
            )
        ).scalars()
    )
    created = []
    for first in sorted({month_start(d) for d in days}):
        name = partition_name(first)
        if name in existing:
            continue
        conn.execute(
            sa.text(
                f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF pothole_segments '
                f"FOR VALUES FROM ('{first.isoformat()}') TO ('{next_month(first).isoformat()}')"
            )
        )
        created.append(name)
    return created


@dataclass
class LoadFrame:
    """Stage 2 rows ready to load, and the rows refused with their reason."""

    rows: pd.DataFrame
    rejected: pd.DataFrame

    @property
    def rejected_by_reason(self) -> dict[str, int]:
        """How many rows were refused, per reason."""
        if self.rejected.empty:
            return {}
        return {str(k): int(v) for k, v in self.rejected["reason"].value_counts().items()}


def prepare_segment_rows(frame: pd.DataFrame, day: date | None = None) -> LoadFrame:
    """Validate Stage 2 rows: types, `date` set to the batch day, bad rows set aside.

    With `day`, every row gets that batch date (the loaded day); without it the frame's
    own `date` column is used (several days at once, as in a backfill). Refused: an empty s_id,
    impact_count > total_count, negative or missing counts, missing centroids, or an s_id
    repeated within a day.
    """
    missing = [c for c in SEGMENT_ROW_COLUMNS if c not in frame.columns and c != "date"]
    if day is None and "date" not in frame.columns:
        missing.append("date")
    if missing:
        raise ValueError(f"stage2 output for {day or 'the range'}: missing column(s) {missing}")
    s_id = frame["s_id"].astype("string").str.strip()
    out = pd.DataFrame(
        {
            "s_id": s_id,
            "date": day if day is not None else frame["date"].to_numpy(),
            "centroid_lon": pd.to_numeric(frame["centroid_lon"], errors="coerce"),
            "centroid_lat": pd.to_numeric(frame["centroid_lat"], errors="coerce"),
            "impact_count": pd.to_numeric(frame["impact_count"], errors="coerce"),
            "total_count": pd.to_numeric(frame["total_count"], errors="coerce"),
        }
    )
    counts = out[["impact_count", "total_count"]]
    rules = [
        ("empty_s_id", (s_id.isna() | (s_id == "")).to_numpy(dtype=bool, na_value=True)),
        ("bad_counts", (counts.isna() | (counts < 0)).any(axis=1).to_numpy()),
        ("impact_exceeds_total", (out["impact_count"] > out["total_count"]).to_numpy()),
        ("missing_centroid", out[["centroid_lon", "centroid_lat"]].isna().any(axis=1).to_numpy()),
        ("duplicate_s_id", out.duplicated(["s_id", "date"], keep="first").to_numpy()),
    ]
    reason = np.full(len(out), None, dtype=object)
    for name, mask in rules:
        reason[(reason == None) & mask] = name  # noqa: E711 (elementwise on an object array)
    bad = reason != None  # noqa: E711
    if not bad.any():
        rows = out.astype({"impact_count": "int64", "total_count": "int64", "s_id": object})
        return LoadFrame(rows=rows.reset_index(drop=True), rejected=out.iloc[0:0].assign(reason=""))
    rejected = out[bad].assign(reason=reason[bad]).reset_index(drop=True)
    rows = out[~bad].astype({"impact_count": "int64", "total_count": "int64", "s_id": object})
    return LoadFrame(rows=rows.reset_index(drop=True), rejected=rejected)


def day_over_day(conn: sa.Connection, day: date) -> dict[str, object]:
    """Rows of `day` vs the latest earlier day, and whether the change stays within 50%."""
    today = conn.execute(
        sa.text("SELECT COUNT(*) FROM pothole_segments WHERE date = :d"), {"d": day}
    ).scalar_one()
    prev = conn.execute(
        sa.text(
            "SELECT date, COUNT(*) FROM pothole_segments WHERE date = "
            "(SELECT MAX(date) FROM pothole_segments WHERE date < :d) GROUP BY date"
        ),
        {"d": day},
    ).first()
    if prev is None or not prev[1]:
        return {
            "rows": int(today),
            "previous_date": None,
            "previous_rows": 0,
            "change": None,
            "within_limit": True,
        }
    change = abs(today - prev[1]) / prev[1]
    return {
        "rows": int(today),
        "previous_date": prev[0].isoformat(),
        "previous_rows": int(prev[1]),
        "change": round(float(change), 4),
        "within_limit": change <= MAX_DAY_OVER_DAY_CHANGE,
    }


def segment_rows(conn: sa.Connection, first: date, last: date) -> int:
    """Rows of pothole_segments dated [first, last]."""
    return int(
        conn.execute(
            sa.text("SELECT COUNT(*) FROM pothole_segments WHERE date BETWEEN :a AND :b"),
            {"a": first, "b": last},
        ).scalar_one()
    )


def distinct_segments(conn: sa.Connection, first: date, last: date) -> int:
    """Distinct segments of pothole_segments dated [first, last]."""
    return int(
        conn.execute(
            sa.text(
                "SELECT COUNT(DISTINCT s_id) FROM pothole_segments WHERE date BETWEEN :a AND :b"
            ),
            {"a": first, "b": last},
        ).scalar_one()
    )


def impact_above_total(conn: sa.Connection, first: date, last: date) -> int:
    """Rows dated [first, last] whose impact_count exceeds their total_count."""
    return int(
        conn.execute(
            sa.text(
                "SELECT COUNT(*) FROM pothole_segments WHERE date BETWEEN :a AND :b "
                "AND impact_count > total_count"
            ),
            {"a": first, "b": last},
        ).scalar_one()
    )


def unmapped_complaints(conn: sa.Connection, max_distance_m: float) -> int:
    """Stored complaints without a segment within `max_distance_m`."""
    return int(
        conn.execute(
            sa.text(
                "SELECT COUNT(*) FROM pothole_complaints "
                "WHERE nearest_s_id IS NULL OR distance_m > :m"
            ),
            {"m": max_distance_m},
        ).scalar_one()
    )


def complaints_on(conn: sa.Connection, day: date) -> int:
    """Complaints filed on `day`."""
    return int(
        conn.execute(
            sa.text("SELECT COUNT(*) FROM pothole_complaints WHERE create_dt = :d"), {"d": day}
        ).scalar_one()
    )


# -- materialized views --------------------------------------------------------------------------
def view_version(name: str) -> str:
    """A short hash of the view's definition, kept as the view's comment."""
    query, unique = VIEW_SQL[name]
    return "pothole-view " + hashlib.sha1(f"{query}|{unique}".encode()).hexdigest()[:12]


def ensure_view(conn: sa.Connection, name: str) -> bool:
    """Create the view and its unique index when missing or defined differently.

    Returns True when the view was (re)created: it is then already populated.
    """
    comment = conn.execute(
        sa.text(
            "SELECT obj_description(c.oid, 'pg_class') FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = :n AND c.relkind = 'm' AND n.nspname = current_schema()"
        ),
        {"n": name},
    ).first()
    version = view_version(name)
    if comment is not None and comment[0] == version:
        return False
    query, unique = VIEW_SQL[name]
    if comment is not None:  # an older definition: replace it
        conn.execute(sa.text(f"DROP MATERIALIZED VIEW {name}"))
    conn.execute(sa.text(f"CREATE MATERIALIZED VIEW {name} AS {query}"))
    conn.execute(sa.text(f"CREATE UNIQUE INDEX ux_{name} ON {name} {unique}"))
    conn.execute(sa.text(f"COMMENT ON MATERIALIZED VIEW {name} IS '{version}'"))
    return True


def refresh_view(conn: sa.Connection, name: str) -> None:
    """REFRESH … CONCURRENTLY: readers keep seeing the old rows until the new ones are ready."""
    conn.execute(sa.text(f"REFRESH MATERIALIZED VIEW CONCURRENTLY {name}"))


def view_rows(conn: sa.Connection, name: str, first: date, last: date) -> pd.DataFrame:
    """Rows of a view for the dates [first, last], ordered."""
    order = "date, priority_rank, s_id" if name == REPAIR_PRIORITY else "date, s_id"
    result = conn.execute(
        sa.text(f"SELECT * FROM {name} WHERE date BETWEEN :a AND :b ORDER BY {order}"),
        {"a": first, "b": last},
    )
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def top_priorities(conn: sa.Connection, day: date, limit: int = 5) -> pd.DataFrame:
    """The repair priorities of `day`, best first (ties by s_id)."""
    result = conn.execute(
        sa.text(
            f"SELECT * FROM {REPAIR_PRIORITY} WHERE date = :d ORDER BY priority_rank, s_id LIMIT :n"
        ),
        {"d": day, "n": limit},
    )
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def daily_kpi(conn: sa.Connection, day: date) -> dict[str, object]:
    """Total impacts and active segments of `day` and their change against the previous day."""
    rows = conn.execute(
        sa.text(
            "SELECT date, SUM(impact_count) AS impacts, "
            "COUNT(*) FILTER (WHERE impact_count > 0) AS active, SUM(total_count) AS readings "
            "FROM pothole_segments WHERE date <= :d GROUP BY date ORDER BY date DESC LIMIT 2"
        ),
        {"d": day},
    ).fetchall()
    if not rows or rows[0][0] != day:
        return {
            "impacts": 0,
            "active_segments": 0,
            "readings": 0,
            "impacts_change": None,
            "active_change": None,
        }
    cur = rows[0]
    prev = rows[1] if len(rows) > 1 else None
    return {
        "impacts": int(cur[1]),
        "active_segments": int(cur[2]),
        "readings": int(cur[3]),
        "previous_date": prev[0].isoformat() if prev else None,
        "impacts_change": int(cur[1] - prev[1]) if prev else None,
        "active_change": int(cur[2] - prev[2]) if prev else None,
    }


def segments_missing_address(conn: sa.Connection, first: date, last: date) -> pd.DataFrame:
    """Distinct segments loaded in [first, last] that have no address yet.

    `first_date` is the segment's first date within [first, last]: a range run counts a new
    segment's lookup on that day.
    """
    result = conn.execute(
        sa.text(
            "SELECT ps.s_id, MIN(ps.centroid_lon) AS centroid_lon, "
            "MIN(ps.centroid_lat) AS centroid_lat, MIN(ps.date) AS first_date "
            "FROM pothole_segments ps LEFT JOIN segment_address sa ON sa.s_id = ps.s_id "
            "WHERE sa.s_id IS NULL AND ps.date BETWEEN :a AND :b "
            "GROUP BY ps.s_id ORDER BY ps.s_id"
        ),
        {"a": first, "b": last},
    )
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def address_coverage_by_day(
    conn: sa.Connection, first: date, last: date
) -> dict[date, tuple[int, int]]:
    """Per date in [first, last]: (segments loaded, those without an address)."""
    rows = conn.execute(
        sa.text(
            "SELECT ps.date, COUNT(DISTINCT ps.s_id), "
            "COUNT(DISTINCT ps.s_id) FILTER (WHERE sa.s_id IS NULL) "
            "FROM pothole_segments ps LEFT JOIN segment_address sa ON sa.s_id = ps.s_id "
            "WHERE ps.date BETWEEN :a AND :b GROUP BY ps.date"
        ),
        {"a": first, "b": last},
    ).fetchall()
    return {row[0]: (int(row[1]), int(row[2])) for row in rows}


# -- report sent-log -------------------------------------------------------------------------------
def report_sent(conn: sa.Connection, day: date) -> sa.Row | None:
    """The record of `day`'s report when it was already mailed successfully."""
    return conn.execute(
        sa.select(pothole_report_sent).where(pothole_report_sent.c.report_date == day)
    ).first()


def record_report_sent(
    conn: sa.Connection,
    day: date,
    recipients: list[str],
    subject: str,
    destination: str,
    top_rows: int,
    run_id: str,
) -> None:
    """Record that `day`'s report was mailed (a resend replaces the record)."""
    values = {
        "report_date": day,
        "recipients": ", ".join(recipients),
        "subject": subject,
        "destination": destination,
        "top_rows": top_rows,
        "run_id": run_id,
    }
    insert = pg_insert(pothole_report_sent).values(**values)
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=[pothole_report_sent.c.report_date],
            set_={
                **{k: insert.excluded[k] for k in values if k != "report_date"},
                "sent_at": sa.func.now(),
            },
        )
    )
