"""A small code location used to test the demo runner (two partitions definitions, checks).

The daily assets have single-run backfill policies, so the demo runs a range of days as one run.
"""

from collections.abc import Iterator

import dagster as dg

daily = dg.DailyPartitionsDefinition(start_date="2024-01-01", timezone="Asia/Seoul")
regions = dg.StaticPartitionsDefinition(["north", "south"])


@dg.observable_source_asset
def station_feed() -> dg.ObserveResult:
    """The external feed the stations come from."""
    return dg.ObserveResult(metadata={"files": 2})


@dg.asset(deps=[station_feed])
def stations() -> dg.MaterializeResult:
    """Reference list of stations."""
    return dg.MaterializeResult(metadata={"dagster/row_count": 3})


@dg.asset(partitions_def=daily, deps=[stations], backfill_policy=dg.BackfillPolicy.single_run())
def readings(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Daily readings (24 a day; a range run records 24 on each day's materialization)."""
    return dg.MaterializeResult(
        metadata={"dagster/row_count": 24, "days": ",".join(context.partition_keys)}
    )


@dg.asset(partitions_def=daily, deps=[readings], backfill_policy=dg.BackfillPolicy.single_run())
def daily_summary() -> dg.MaterializeResult:
    """Daily summary."""
    return dg.MaterializeResult(metadata={"dagster/row_count": 1})


@dg.asset(partitions_def=regions, deps=[stations])
def region_table(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """One table per region."""
    return dg.MaterializeResult(metadata={"dagster/row_count": 10})


@dg.asset_check(asset=readings)
def readings_not_empty() -> dg.AssetCheckResult:
    """Readings exist."""
    return dg.AssetCheckResult(passed=True)


@dg.asset_check(asset=region_table)
def region_table_fails() -> dg.AssetCheckResult:
    """A check that fails, so the demo reports it."""
    return dg.AssetCheckResult(passed=False)


@dg.multi_asset(
    specs=[
        dg.AssetSpec("report_master", deps=[stations]),
        dg.AssetSpec("report_rows", deps=["report_master"]),
    ],
    can_subset=False,
)
def report() -> Iterator[dg.MaterializeResult]:
    """Two report tables written together."""
    yield dg.MaterializeResult(asset_key="report_master", metadata={"dagster/row_count": 1})
    yield dg.MaterializeResult(asset_key="report_rows", metadata={"dagster/row_count": 5})


defs = dg.Definitions(
    assets=[station_feed, stations, readings, daily_summary, region_table, report],
    asset_checks=[readings_not_empty, region_table_fails],
)
