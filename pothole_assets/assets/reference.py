"""Reference assets: the road network and speed bumps (lake files), road grades, complaints."""

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import dagster as dg
import pandas as pd
import sqlalchemy as sa
from pydantic import Field

from pothole_assets import checks, geo, reference, schema, serving
from pothole_assets import lake_io as lk
from pothole_assets.keys import COMPLAINTS, GROUP, ROAD_GRADE, ROAD_SEGMENTS, SPEED_BUMPS
from pothole_assets.sources import ComplaintsResource, PotholeResource, SourceError
from resources.kst import today_kst
from resources.lake import LakeResource
from resources.metadata import Stopwatch, partition_metadata
from resources.policies import STANDARD_RETRY
from resources.warehouse import WarehouseResource

COMPLAINT_MAX_DISTANCE_M = 500.0
# A segment is a 50 m cut of its link; the tolerance absorbs the projection's rounding.
SEGMENT_MAX_M = 50.5
MAX_UNUSABLE_BUMP_SHARE = 0.05


@dataclass
class LakeFileFigures:
    """What a reference file held: usable rows, rows set aside, extra figures and its check."""

    rows: int
    passed: bool
    check_metadata: dict[str, Any]
    rejected: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def segment_figures(lake: LakeResource) -> LakeFileFigures:
    """Segments, links and length of the road network; no segment longer than 50 m."""
    segments = geo.with_midpoints(lk.read_segments(lake))
    longest = float(segments["length_m"].max()) if len(segments) else 0.0
    too_long = int((segments["length_m"] > SEGMENT_MAX_M).sum())
    return LakeFileFigures(
        rows=len(segments),
        passed=too_long == 0,
        check_metadata={"longer_than_50m": too_long, "longest_m": round(longest, 2)},
        extra={
            "links": int(segments["link_id"].nunique()),
            "total_length_km": round(float(segments["length_m"].sum()) / 1000, 2),
        },
    )


def bump_figures(lake: LakeResource) -> LakeFileFigures:
    """Usable bumps and their mean length; at most 5% of the rows unusable."""
    bumps, unusable = lk.read_bumps(lake)
    total = len(bumps) + unusable
    share = unusable / total if total else 0.0
    return LakeFileFigures(
        rows=len(bumps),
        rejected=unusable,
        passed=share <= MAX_UNUSABLE_BUMP_SHARE,
        check_metadata={"unusable_rows": unusable, "unusable_share": round(share, 4)},
        extra={"mean_length_cm": round(float(bumps["length_cm"].mean()), 1) if len(bumps) else 0.0},
    )


def _lake_file_asset(
    name: str,
    key: str,
    description: str,
    check_name: str,
    check_description: str,
    figures: Callable[[LakeResource], LakeFileFigures],
) -> dg.AssetsDefinition:
    """A reference file in the lake (in local mode, the sample file is written when missing)."""

    @dg.asset(
        name=name,
        group_name=GROUP,
        kinds={"s3", "csv"},
        description=description,
        check_specs=[checks.spec(name, check_name, check_description)],
    )
    def _asset(lake: LakeResource, pothole: PotholeResource) -> dg.MaterializeResult:
        clock = Stopwatch()
        seeded = lk.ensure_sample_reference(lake) if pothole.samples else []
        if not lake.exists(key):
            raise dg.Failure(f"{name}: {lake.uri(key)} does not exist")
        found = figures(lake)
        return dg.MaterializeResult(
            metadata=partition_metadata(
                rows=found.rows,
                rejected=found.rejected,
                source="sample (local mode)" if pothole.samples else "lake",
                elapsed=clock,
                **found.extra,
                sample_files_written=len(seeded),
                location=dg.MetadataValue.path(lake.uri(key)),
            ),
            check_results=[
                dg.AssetCheckResult(
                    check_name=check_name, passed=found.passed, metadata=found.check_metadata
                )
            ],
        )

    return _asset


road_segments = _lake_file_asset(
    ROAD_SEGMENTS,
    reference.ROAD_SEGMENTS_KEY,
    "50 m road segments of road 863 (s_id, link, start and end points) in the lake.",
    checks.SEGMENTS_AT_MOST_50M,
    "Every segment is a 50 m cut of its link (the last piece may be shorter).",
    segment_figures,
)
speed_bumps = _lake_file_asset(
    SPEED_BUMPS,
    reference.SPEED_BUMPS_KEY,
    "Speed bumps (position and length) whose box vetoes Stage 1 suspects.",
    checks.BUMPS_USABLE,
    "At most 5% of the bump rows lack a position or a length.",
    bump_figures,
)


@dg.asset(
    name=ROAD_GRADE,
    group_name=GROUP,
    deps=[ROAD_SEGMENTS],
    kinds={"postgres"},
    check_specs=[
        checks.spec(
            ROAD_GRADE,
            checks.EVERY_SEGMENT_GRADED,
            "Every segment has a 1–5 grade and its link was found in the link file.",
        )
    ],
)
def segment_road_grade(
    lake: LakeResource, warehouse: WarehouseResource, pothole: PotholeResource
) -> dg.MaterializeResult:
    """Weighted 1–5 road grade per segment (rank, lanes, speed limit, road type) in PostgreSQL."""
    clock = Stopwatch()
    if pothole.samples:
        lk.ensure_sample_reference(lake)
    segments = lk.read_segments(lake)
    links = pd.read_csv(
        io.BytesIO(lake.get_bytes(reference.ROAD_LINKS_KEY)), dtype={"link_id": str}
    )
    grades = reference.segment_grades(segments, links)
    warehouse.create_tables(schema.metadata)
    frame = grades[["s_id", "link_id", "road_grade"]]
    with warehouse.begin() as conn:
        conn.execute(sa.delete(schema.segment_road_grade))
        warehouse.copy_frame(frame, schema.segment_road_grade, conn=conn)
    unmatched = int((~grades["matched"]).sum())
    distribution = grades["road_grade"].value_counts().sort_index()
    return dg.MaterializeResult(
        metadata=partition_metadata(
            rows=len(frame),
            elapsed=clock,
            links=int(links["link_id"].nunique()),
            unmatched_segments=unmatched,
            grade_distribution={str(k): int(v) for k, v in distribution.items()},
        ),
        check_results=[
            dg.AssetCheckResult(
                check_name=checks.EVERY_SEGMENT_GRADED,
                passed=unmatched == 0 and bool(grades["road_grade"].between(1, 5).all()),
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"unmatched_segments": unmatched},
            )
        ],
    )


class ComplaintsConfig(dg.Config):
    """Date range of the complaints to fetch (default: the last 365 days up to yesterday, KST)."""

    date_from: str | None = Field(default=None, description="YYYY-MM-DD")
    date_to: str | None = Field(default=None, description="YYYY-MM-DD")
    max_distance_m: float = COMPLAINT_MAX_DISTANCE_M


def complaint_range(config: ComplaintsConfig, today: date) -> tuple[date, date]:
    """The configured dates, by default the 365 days up to yesterday."""
    last = date.fromisoformat(config.date_to) if config.date_to else today - timedelta(days=1)
    first = date.fromisoformat(config.date_from) if config.date_from else last - timedelta(364)
    return first, last


def usable_complaints(fetched: pd.DataFrame) -> pd.DataFrame:
    """Complaints with a date and a position in Korea, each (date, position) once."""
    usable = fetched.dropna()
    return usable[
        usable["event_lat"].between(*reference.VALID_LAT)
        & usable["event_lon"].between(*reference.VALID_LON)
    ].drop_duplicates(["create_dt", "event_lat", "event_lon"])


@dg.asset(
    name=COMPLAINTS,
    group_name=GROUP,
    deps=[ROAD_SEGMENTS],
    kinds={"postgres"},
    retry_policy=STANDARD_RETRY,
    check_specs=[
        checks.spec(
            COMPLAINTS,
            checks.COMPLAINTS_MAPPED,
            "Every stored complaint has a segment within 500 m.",
        )
    ],
)
def pothole_complaints(
    context: dg.AssetExecutionContext,
    config: ComplaintsConfig,
    lake: LakeResource,
    warehouse: WarehouseResource,
    complaints: ComplaintsResource,
    pothole: PotholeResource,
) -> dg.MaterializeResult:
    """Citizen pothole complaints mapped to their nearest segment within 500 m."""
    clock = Stopwatch()
    first, last = complaint_range(config, today_kst())
    if pothole.samples:
        lk.ensure_sample_reference(lake)
    try:
        fetched = complaints.fetch(first, last)
    except SourceError as exc:
        # a refused key or quota stays refused: only a transient failure is tried again
        raise dg.Failure(
            f"pothole_complaints {first}..{last}: {exc}", allow_retries=exc.transient
        ) from None
    usable = usable_complaints(fetched)
    nearest, distance = geo.nearest_segments(
        lk.read_segments(lake), usable["event_lon"].to_numpy(), usable["event_lat"].to_numpy()
    )
    usable = usable.assign(nearest_s_id=nearest, distance_m=distance.round(1))
    near = usable[usable["distance_m"] <= config.max_distance_m]
    warehouse.create_tables(schema.metadata)
    merged = (
        warehouse.upsert(
            near[["create_dt", "event_lat", "event_lon", "nearest_s_id", "distance_m"]],
            schema.pothole_complaints,
            ["create_dt", "event_lat", "event_lon"],
        )
        if len(near)
        else 0
    )
    with warehouse.begin() as conn:
        unmapped = serving.unmapped_complaints(conn, config.max_distance_m)
    context.log.info(f"complaints {first}..{last}: {len(fetched)} fetched, {len(near)} near a road")
    return dg.MaterializeResult(
        metadata=partition_metadata(
            rows=len(near),
            rejected=len(fetched) - len(usable),
            source=complaints.source,
            elapsed=clock,
            fetched=len(fetched),
            farther_than_max=len(usable) - len(near),
            merged=merged,
            date_from=first.isoformat(),
            date_to=last.isoformat(),
        ),
        check_results=[
            dg.AssetCheckResult(
                check_name=checks.COMPLAINTS_MAPPED,
                passed=unmapped == 0,
                metadata={"unmapped_rows": unmapped},
            )
        ],
    )
