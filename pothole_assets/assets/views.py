"""The dashboard's materialized views: heatmap, weekly statistics and repair priority."""

from datetime import date, timedelta
from typing import Any

import dagster as dg
import pandas as pd

from pothole_assets import checks, schema, serving
from pothole_assets.assets.common import daily_backfill, day_metadata, run_metadata
from pothole_assets.keys import ADDRESS, COMPLAINTS, GROUP, ROAD_GRADE, SEGMENTS
from pothole_assets.partitions import partition_days, pothole_daily_partitions
from resources.metadata import Stopwatch, md_table, partition_metadata
from resources.warehouse import WarehouseResource

# Rows shown in a day's metadata table.
TOP_ROWS = 5


def refresh(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, name: str, window_days: int
) -> tuple[dict[str, Any], pd.DataFrame, int]:
    """Create or refresh view `name`; its rows for the run's days (with their windows)."""
    days = partition_days(context)
    clock = Stopwatch()
    warehouse.create_tables(schema.metadata)
    with warehouse.begin() as conn:
        created = serving.ensure_view(conn, name)
        if not created:
            serving.refresh_view(conn, name)
    with warehouse.begin() as conn:
        first = days[0] - timedelta(days=window_days - 1)
        rows = serving.view_rows(conn, name, first, days[-1])
        expected = serving.segment_rows(conn, first, days[-1])
    metadata: dict[str, Any] = {
        "created": created,
        "refresh": "created" if created else "REFRESH CONCURRENTLY",
        **run_metadata(days, clock),
    }
    return metadata, rows, expected


def window(rows: pd.DataFrame, day: date, window_days: int) -> tuple[str, pd.DataFrame]:
    """The dates a view shows for `day` ("first..day") and its rows of those dates."""
    first = day - timedelta(days=window_days - 1)
    shown = rows if rows.empty else rows[rows["date"].between(first, day)]
    return f"{first.isoformat()}..{day.isoformat()}", shown


def _day_table(name: str, shown: pd.DataFrame) -> dict[str, Any]:
    """The table a view's day shows in its metadata (the riskiest segments, or per date)."""
    if not len(shown):
        return {}
    if name == schema.HEATMAP:
        top = shown.sort_values(["risk_rate", "s_id"], ascending=[False, True]).head(TOP_ROWS)
        columns = ["date", "s_id", "road_name", "impact_count", "total_count", "risk_rate"]
        return {"highest_risk": md_table(top[columns])}
    if name == schema.WEEKLY_STATS:
        by_date = shown.groupby("date")[["impact_count", "total_count"]].sum()
        return {"per_day": md_table(by_date.reset_index())}
    return {}


def _view_asset(
    name: str, deps: list[str], description: str, window_days: int
) -> dg.AssetsDefinition:
    @dg.asset(
        name=name,
        group_name=GROUP,
        deps=deps,
        partitions_def=pothole_daily_partitions,
        backfill_policy=daily_backfill,
        kinds={"postgres"},
        description=description,
        check_specs=[
            checks.spec(
                name,
                checks.VIEW_MATCHES_SEGMENTS,
                "The view holds one row per pothole_segments row of its dates.",
            )
        ],
    )
    def _asset(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        metadata, rows, expected = refresh(context, warehouse, name, window_days)
        per_day = {}
        for day in partition_days(context):
            dates, shown = window(rows, day, window_days)
            per_day[day] = partition_metadata(
                rows=len(shown), dates=dates, **_day_table(name, shown)
            )
        day_metadata(context, name, per_day)
        return dg.MaterializeResult(
            metadata=metadata,
            check_results=[
                dg.AssetCheckResult(
                    check_name=checks.VIEW_MATCHES_SEGMENTS,
                    passed=len(rows) == expected,
                    metadata={"view_rows": len(rows), "pothole_segments_rows": expected},
                )
            ],
        )

    return _asset


mvw_dashboard_heatmap = _view_asset(
    schema.HEATMAP,
    [SEGMENTS, ADDRESS],
    "Risk map of the day: impacts, traffic and risk rate per segment with its address.",
    window_days=1,
)
mvw_dashboard_weekly_stats = _view_asset(
    schema.WEEKLY_STATS,
    [SEGMENTS, ADDRESS],
    "Seven days up to the batch date, per segment and weekday.",
    window_days=7,
)

PRIORITY_COLUMNS = [
    "priority_rank",
    "s_id",
    "road_name",
    "total_impacts",
    "complaint_count",
    "priority_score",
]


def priorities_ranked(rows: pd.DataFrame, expected: int) -> bool:
    """Every segment-day is ranked, each day's ranks start at 1, and every score is set."""
    return bool(
        len(rows) == expected
        and (
            rows.empty
            or (
                (rows.groupby("date")["priority_rank"].min() == 1).all()
                and rows["priority_score"].notna().all()
            )
        )
    )


@dg.asset(
    name=schema.REPAIR_PRIORITY,
    group_name=GROUP,
    deps=[SEGMENTS, ADDRESS, COMPLAINTS, ROAD_GRADE],
    partitions_def=pothole_daily_partitions,
    backfill_policy=daily_backfill,
    kinds={"postgres"},
    check_specs=[
        checks.spec(
            schema.REPAIR_PRIORITY,
            checks.PRIORITY_RANKED,
            "Every segment of the day is ranked, starting at 1, with a score.",
        )
    ],
)
def mvw_dashboard_repair_priority(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Repair priority of the day: impacts + 50 per complaint + 10 × road grade, ranked."""
    metadata, rows, expected = refresh(context, warehouse, schema.REPAIR_PRIORITY, 1)
    per_day = {}
    for day in partition_days(context):
        dates, shown = window(rows, day, 1)
        top = {"top_5": md_table(shown.head(TOP_ROWS)[PRIORITY_COLUMNS])} if len(shown) else {}
        per_day[day] = partition_metadata(rows=len(shown), dates=dates, **top)
    day_metadata(context, schema.REPAIR_PRIORITY, per_day)
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[
            dg.AssetCheckResult(
                check_name=checks.PRIORITY_RANKED,
                passed=priorities_ranked(rows, expected),
                metadata={"ranked_rows": len(rows), "pothole_segments_rows": expected},
            )
        ],
    )
