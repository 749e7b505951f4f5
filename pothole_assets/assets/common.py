"""What the pothole assets share: the backfill policy and the per-day metadata of a range run."""

from collections.abc import Mapping
from datetime import date
from typing import Any

import dagster as dg

from resources.metadata import ELAPSED, Stopwatch

# A range of days is one run: the work is set-based (one Spark session, one replace, one refresh).
daily_backfill = dg.BackfillPolicy.single_run()


def day_metadata(
    context: dg.AssetExecutionContext, asset: str, per_day: Mapping[date, Mapping[str, Any]]
) -> None:
    """Attach each day's own figures to that day's materialization.

    A run over a range records one materialization per day, and metadata given to the
    `MaterializeResult` is copied onto every one of them; `add_asset_metadata(partition_key=…)`
    adds to (and overrides) it for one day. Call it before the `MaterializeResult` is returned.
    """
    for day, metadata in per_day.items():
        context.add_asset_metadata(dict(metadata), asset_key=asset, partition_key=day.isoformat())


def run_metadata(days: list[date], clock: Stopwatch) -> dict[str, Any]:
    """What every day of a run shares: the run's days and its elapsed time."""
    span = days[0].isoformat() if len(days) == 1 else f"{days[0]}..{days[-1]}"
    return {"run_days": span, ELAPSED: clock.elapsed()}
