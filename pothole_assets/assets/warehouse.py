"""PostgreSQL assets of the batch day: `pothole_segments` and `segment_address`."""

from collections import Counter
from datetime import date, timedelta
from typing import Any

import dagster as dg
import pandas as pd
import requests

from pothole_assets import checks, schema, serving
from pothole_assets import lake_io as lk
from pothole_assets.assets.common import daily_backfill, day_metadata, run_metadata
from pothole_assets.keys import ADDRESS, GROUP, SEGMENTS, STAGE2
from pothole_assets.partitions import partition_days, pothole_daily_partitions
from pothole_assets.sources import KakaoResource, SourceError
from resources.kst import now_kst
from resources.lake import LakeResource
from resources.metadata import SOURCE, Stopwatch, partition_metadata
from resources.policies import STANDARD_RETRY
from resources.warehouse import WarehouseResource

# Below this share of the run's segments with an address, the coverage check warns.
MIN_ADDRESS_COVERAGE = 0.95


def read_stage2_days(lake: LakeResource, days: list[date]) -> pd.DataFrame:
    """The Stage 2 counts of `days`, each row dated with its batch day."""
    frames = []
    for day in days:
        prefix = lk.day_prefix(lk.STAGE2_PREFIX, day)
        try:
            frames.append(lake.read_parquet(prefix).assign(date=day))
        except FileNotFoundError as exc:
            raise dg.Failure(f"{SEGMENTS} {day}: no Stage 2 output ({exc})") from exc
    return pd.concat(frames, ignore_index=True)


def keep_refused_rows(lake: LakeResource, refused: pd.DataFrame, days: list[date]) -> None:
    """Each day's refused rows, with their reason, in the lake (a day without any: none)."""
    for day in days:
        prefix = lk.day_prefix(lk.SEGMENTS_REJECTED_PREFIX, day)
        bad = refused[refused["date"] == day]
        if len(bad):
            lake.write_parquet(f"{prefix}rejected.parquet", bad)
        else:
            lake.delete_prefix(prefix)


def segment_day_metadata(
    rows: pd.DataFrame, refused: pd.DataFrame, days: list[date], changes: list[dict[str, Any]]
) -> dict[date, dict[str, Any]]:
    """Each day's rows loaded and refused, its totals and its change against the day before."""
    per_day = {}
    for day, change in zip(days, changes, strict=True):
        day_rows = rows[rows["date"] == day]
        day_refused = refused[refused["date"] == day]
        per_day[day] = partition_metadata(
            rows=len(day_rows),
            rejected=len(day_refused),
            rejected_by_reason=day_refused["reason"].value_counts().to_dict(),
            impact_total=int(day_rows["impact_count"].sum()),
            readings_total=int(day_rows["total_count"].sum()),
            previous_date=change["previous_date"] or "-",
            previous_rows=change["previous_rows"],
            day_over_day_change=change["change"],
        )
    return per_day


@dg.asset(
    name=SEGMENTS,
    group_name=GROUP,
    deps=[STAGE2],
    partitions_def=pothole_daily_partitions,
    backfill_policy=daily_backfill,
    kinds={"postgres"},
    # The loader's three checks decide whether a day is fit to report: each is blocking, so a day
    # that fails one stops the run before the views are refreshed and the report is mailed.
    check_specs=[
        checks.spec(
            SEGMENTS,
            checks.IMPACT_NOT_ABOVE_TOTAL,
            "No segment-day has impact_count > total_count.",
            blocking=True,
        ),
        checks.spec(
            SEGMENTS, checks.NO_EMPTY_SEGMENT_ID, "No row has an empty s_id.", blocking=True
        ),
        checks.spec(
            SEGMENTS,
            checks.DAY_OVER_DAY_ROW_CHANGE,
            "The day's row count is within 50% of the previous loaded day.",
            blocking=True,
        ),
    ],
)
def pothole_segments(
    context: dg.AssetExecutionContext, lake: LakeResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Daily impact and traffic counts per road segment and day in PostgreSQL.

    A daily asset; its PostgreSQL table is partitioned by month, each month's table partition
    created when its first day is loaded.
    """
    clock = Stopwatch()
    days = partition_days(context)
    prepared = serving.prepare_segment_rows(read_stage2_days(lake, days))
    rows, refused = prepared.rows, prepared.rejected
    keep_refused_rows(lake, refused, days)
    warehouse.create_tables(schema.metadata)
    with warehouse.begin() as conn:
        created = serving.ensure_month_partitions(conn, days)
    warehouse.replace_partition(
        rows, schema.pothole_segments, "date", days[0], days[-1] + timedelta(days=1)
    )
    with warehouse.begin() as conn:
        changes = [{"day": d.isoformat(), **serving.day_over_day(conn, d)} for d in days]
        over = serving.impact_above_total(conn, days[0], days[-1])
    reasons = prepared.rejected_by_reason
    impact_refused = reasons.get("impact_exceeds_total", 0)
    empty_refused = reasons.get("empty_s_id", 0)
    day_metadata(context, SEGMENTS, segment_day_metadata(rows, refused, days, changes))
    return dg.MaterializeResult(
        metadata={"partitions_created": created, **run_metadata(days, clock)},
        check_results=loader_checks(context, days, impact_refused, over, empty_refused, changes),
    )


def loader_checks(
    context: dg.AssetExecutionContext,
    days: list[date],
    impact_refused: int,
    over: int,
    empty_refused: int,
    changes: list[dict[str, Any]],
) -> list[dg.AssetCheckResult]:
    """The loader's three (blocking) checks; each failure says why, in the check and the log."""
    span = days[0].isoformat() if len(days) == 1 else f"{days[0]}..{days[-1]}"
    jumps = [c for c in changes if not c["within_limit"]]
    results = [
        dg.AssetCheckResult(
            check_name=checks.IMPACT_NOT_ABOVE_TOTAL,
            passed=impact_refused == 0 and over == 0,
            description=f"{impact_refused} row(s) refused and {over} row(s) in the table with "
            "impact_count > total_count",
            metadata={"rows_refused": impact_refused, "rows_in_table": over},
        ),
        dg.AssetCheckResult(
            check_name=checks.NO_EMPTY_SEGMENT_ID,
            passed=empty_refused == 0,
            description=f"{empty_refused} row(s) refused for an empty s_id",
            metadata={"rows_refused": empty_refused},
        ),
        dg.AssetCheckResult(
            check_name=checks.DAY_OVER_DAY_ROW_CHANGE,
            passed=not jumps,
            description="; ".join(
                f"{c['day']}: {c['rows']} rows vs {c['previous_rows']} on {c['previous_date']} "
                f"({c['change']:.0%} change, limit 50%)"
                for c in jumps
            )
            or "every day within 50% of the previous loaded day",
            metadata={"per_day": dg.MetadataValue.json(changes)},
        ),
    ]
    for result in results:
        if not result.passed:
            context.log.error(f"{SEGMENTS} {span}: {result.check_name}: {result.description}")
    return results


def geocode_missing(
    kakao: KakaoResource, missing: pd.DataFrame, where: str
) -> tuple[list[dict[str, Any]], Counter[date]]:
    """Addresses of the segments in `missing`, and per first date the segments Kakao lacks."""
    found: list[dict[str, Any]] = []
    not_found: Counter[date] = Counter()
    http = requests.Session()
    for row in missing.itertuples(index=False):
        try:
            answer = kakao.reverse_geocode(row.centroid_lon, row.centroid_lat, http)
        except SourceError as exc:
            # a refused key or quota stays refused: only a transient failure is tried again
            raise dg.Failure(f"{where}: {exc}", allow_retries=exc.transient) from None
        if answer is None:
            not_found[row.first_date] += 1
            continue
        found.append(
            {
                "s_id": row.s_id,
                "road_name": answer[0],
                "district": answer[1],
                "centroid_lon": row.centroid_lon,
                "centroid_lat": row.centroid_lat,
                "source": kakao.mode,
                "updated_at": now_kst(),
            }
        )
    return found, not_found


def address_day_metadata(
    days: list[date],
    missing: pd.DataFrame,
    found: list[dict[str, Any]],
    not_found: Counter[date],
    coverage_by_day: dict[date, tuple[int, int]],
) -> dict[date, dict[str, Any]]:
    """Each day's addresses written, looked up and not found, and the day's coverage.

    A new segment counts on the first day of the run it appears on.
    """
    first_date = dict(zip(missing["s_id"], missing["first_date"], strict=True))
    written = Counter(first_date[f["s_id"]] for f in found)
    looked_up = Counter(missing["first_date"])
    per_day = {}
    for day in days:
        segments, without = coverage_by_day.get(day, (0, 0))
        per_day[day] = partition_metadata(
            rows=written[day],
            looked_up=looked_up[day],
            not_found=not_found[day],
            segments=segments,
            segments_without_address=without,
            coverage=round(1 - without / segments, 4) if segments else 1.0,
        )
    return per_day


def _address_skipped(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    days: list[date],
    clock: Stopwatch,
) -> dg.MaterializeResult:
    """Without a Kakao key: nothing is looked up; each day reports its segments."""
    context.log.info("segment_address: no Kakao API key; reverse geocoding skipped")
    with warehouse.begin() as conn:
        coverage_by_day = serving.address_coverage_by_day(conn, days[0], days[-1])
    per_day = {}
    for day in days:
        segments, without = coverage_by_day.get(day, (0, 0))
        per_day[day] = partition_metadata(
            rows=0, segments=segments, segments_without_address=without
        )
    day_metadata(context, ADDRESS, per_day)
    return dg.MaterializeResult(
        metadata={
            "skipped": True,
            "reason": "no KAKAO_API_KEY",
            SOURCE: "off",
            **run_metadata(days, clock),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=checks.ADDRESS_COVERAGE,
                passed=True,
                metadata={"skipped": "no Kakao API key"},
            )
        ],
    )


@dg.asset(
    name=ADDRESS,
    group_name=GROUP,
    deps=[SEGMENTS],
    partitions_def=pothole_daily_partitions,
    backfill_policy=daily_backfill,
    kinds={"postgres"},
    retry_policy=STANDARD_RETRY,
    check_specs=[
        checks.spec(
            ADDRESS,
            checks.ADDRESS_COVERAGE,
            "Segments of the day have an address (skipped without a Kakao key).",
        )
    ],
)
def segment_address(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, kakao: KakaoResource
) -> dg.MaterializeResult:
    """Road name and district of each segment, reverse-geocoded once per new segment (Kakao)."""
    clock = Stopwatch()
    days = partition_days(context)
    warehouse.create_tables(schema.metadata)
    if kakao.mode == "off":
        return _address_skipped(context, warehouse, days, clock)
    with warehouse.begin() as conn:
        missing = serving.segments_missing_address(conn, days[0], days[-1])
    found, not_found = geocode_missing(kakao, missing, f"{ADDRESS} {days[0]}..{days[-1]}")
    if found:
        warehouse.upsert(pd.DataFrame(found), schema.segment_address, ["s_id"])
    with warehouse.begin() as conn:
        coverage_by_day = serving.address_coverage_by_day(conn, days[0], days[-1])
        still = len(serving.segments_missing_address(conn, days[0], days[-1]))
        total = serving.distinct_segments(conn, days[0], days[-1])
    day_metadata(
        context, ADDRESS, address_day_metadata(days, missing, found, not_found, coverage_by_day)
    )
    coverage = 1 - still / total if total else 1.0
    return dg.MaterializeResult(
        metadata={SOURCE: kakao.mode, **run_metadata(days, clock)},
        check_results=[
            dg.AssetCheckResult(
                check_name=checks.ADDRESS_COVERAGE,
                passed=coverage >= MIN_ADDRESS_COVERAGE,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"segments_without_address": still, "coverage": round(coverage, 4)},
            )
        ],
    )
