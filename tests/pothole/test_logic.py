"""Loader validation, road grades, the report body and the complaint distance rule."""

import datetime as dt

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from pothole_assets import geo, reference, report
from pothole_assets import lake_io as lk
from pothole_assets.assets import pothole_segments
from resources import LakeResource, WarehouseResource

DAY = dt.date(2026, 4, 2)


def _stage2(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["s_id", "impact_count", "total_count", "centroid_lon", "centroid_lat"]
    ).assign(date=DAY)


def test_loader_keeps_good_rows_and_sets_bad_ones_aside(
    local_lake: LakeResource, warehouse: WarehouseResource
) -> None:
    frame = _stage2(
        [
            ("L1_0000", 2, 40, 127.60, 34.70),
            ("L1_0001", 0, 35, 127.61, 34.71),
            ("", 1, 10, 127.62, 34.72),  # empty s_id
            ("L1_0003", 12, 10, 127.63, 34.73),  # impact > total
        ]
    )
    local_lake.write_parquet(lk.day_prefix(lk.STAGE2_PREFIX, DAY) + "part-00000.parquet", frame)
    result = dg.materialize(
        [pothole_segments],
        partition_key=DAY.isoformat(),
        resources={"lake": local_lake, "warehouse": warehouse},
        raise_on_error=False,
    )
    # the good rows are loaded; the day fails its blocking checks, so nothing downstream runs
    assert not result.success
    rows = warehouse.read_frame("SELECT s_id, impact_count FROM pothole_segments ORDER BY s_id")
    assert rows.values.tolist() == [["L1_0000", 2], ["L1_0001", 0]]
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {
        "impact_count_not_above_total_count": False,
        "no_empty_s_id": False,
        "day_over_day_row_change_within_50pct": True,
    }
    rejected = local_lake.read_parquet(lk.day_prefix(lk.SEGMENTS_REJECTED_PREFIX, DAY))
    assert sorted(rejected["reason"]) == ["empty_s_id", "impact_exceeds_total"]
    # April's partition was created on demand (the original only had February 2026)
    assert warehouse.read_frame("SELECT to_regclass('pothole_segments_2026_04') IS NOT NULL AS ok")[
        "ok"
    ][0]


def test_day_over_day_change_above_half_fails_its_check(
    local_lake: LakeResource, warehouse: WarehouseResource
) -> None:
    for day, n in ((dt.date(2026, 4, 1), 10), (DAY, 4)):
        frame = _stage2([(f"L1_{i:04d}", 0, 5, 127.6, 34.7) for i in range(n)]).assign(date=day)
        local_lake.write_parquet(lk.day_prefix(lk.STAGE2_PREFIX, day) + "p.parquet", frame)
        result = dg.materialize(
            [pothole_segments],
            partition_key=day.isoformat(),
            resources={"lake": local_lake, "warehouse": warehouse},
            raise_on_error=False,
        )
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    change = checks["day_over_day_row_change_within_50pct"]
    assert not change.passed
    # 4 rows after 10: a 60% change stops the day before it is reported
    assert change.severity == dg.AssetCheckSeverity.ERROR and change.blocking
    assert "2026-04-02: 4 rows vs 10 on 2026-04-01 (60% change, limit 50%)" in change.description
    assert not result.success


def test_road_grade_weights_and_equal_width_bins() -> None:
    links = pd.DataFrame(
        {
            "link_id": ["a", "b", "c", "d"],
            "road_rank": [101, 103, 107, 109],
            "lanes": [4, 2, 1, 1],
            "max_spd": [30, 60, 80, 100],
            "road_type": [1, 0, 2, 3],
        }
    )
    grades = reference.link_grades(links).set_index("link_id")
    # a: 1·.3 + 1·.25 + 1·.25 + 1·.2 = 1.0 ; d: 5·.3 + 5·.25 + 5·.25 + 5·.2 = 5.0
    assert grades.loc["a", "weighted_score"] == 1.0 and grades.loc["d", "weighted_score"] == 5.0
    # b = .6+.75+.75+.6 = 2.7, c = 1.2+1.25+1.0+.8 = 4.25; five bins of width 0.8 from 1 to 5
    assert grades["road_grade"].tolist() == [1, 3, 5, 5]
    segments = pd.DataFrame({"s_id": ["a_0000", "x_0000"], "link_id": ["a", "x"]})
    per_segment = reference.segment_grades(segments, links).set_index("s_id")
    assert per_segment.loc["x_0000", "road_grade"] == 3  # unknown link: neutral grade
    assert not per_segment.loc["x_0000", "matched"]


def test_report_subject_names_the_day() -> None:
    assert report.subject(DAY) == "[포트홀 탐지] 일일 리포트 - 2026-04-02"


def test_report_rows_fall_back_to_dash_without_address() -> None:
    top = pd.DataFrame(
        [
            {
                "priority_rank": 1,
                "s_id": "L1_0000",
                "road_name": None,
                "district": None,
                "centroid_lat": 34.700049,
                "centroid_lon": 127.6,
                "priority_score": 82.0,
                "complaint_count": 1,
            }
        ]
    )
    html = report.render_html(DAY, top, {"impacts": 12, "impacts_change": -3})
    assert "- (34.7000, 127.6000)" in html and "82.0" in html and "1건" in html
    assert "12 (-3 vs 전일)" in html and 'src="cid:pothole-map"' in html


def test_distances_are_metres_to_the_line_not_degrees_to_midpoints() -> None:
    # two segments 0.001° apart east-west vs north-south: at 35°N the east one is 18% closer
    segments = pd.DataFrame(
        [
            {
                "s_id": "east",
                "link_id": "e",
                "start_lon": 127.001,
                "start_lat": 34.9995,
                "end_lon": 127.001,
                "end_lat": 35.0005,
            },
            {
                "s_id": "north",
                "link_id": "n",
                "start_lon": 126.9995,
                "start_lat": 35.00095,
                "end_lon": 127.0005,
                "end_lat": 35.00095,
            },
        ]
    )
    ids, dist = geo.nearest_segments(segments, np.array([127.0]), np.array([35.0]))
    # In degrees the north segment (0.00095°) looks nearer than the east one (0.001°). In metres,
    # around the network's centre latitude (34.9995 + 35.00095) / 2 = 35.000225°:
    #   east  = 0.001° × 111,195.08 m/° × cos(35.000225°) = 111.195 × 0.81915 = 91.085 m
    #   north = 0.00095° × 111,195.08 m/° = 105.64 m
    assert ids[0] == "east"
    assert dist[0] == pytest.approx(91.085, abs=0.001)


def test_a_failed_send_fails_the_report_step(
    local_lake: LakeResource, warehouse: WarehouseResource
) -> None:
    from pothole_assets import schema, serving
    from pothole_assets.assets import daily_pothole_report, mvw_dashboard_repair_priority
    from pothole_assets.sources import PotholeResource
    from resources import MailerResource
    from resources.mailer import MailDeliveryError
    from tests.conftest import free_port

    lk.ensure_sample_reference(local_lake)
    # one loaded segment: a day without rows has no report to send
    segment = geo.with_midpoints(lk.read_segments(local_lake)).head(1)
    warehouse.create_tables(schema.metadata)
    with warehouse.begin() as conn:
        serving.ensure_month_partitions(conn, [DAY])
    warehouse.copy_frame(
        segment[["s_id", "centroid_lon", "centroid_lat"]].assign(
            date=DAY, impact_count=2, total_count=40
        ),
        "pothole_segments",
    )
    resources = {
        "lake": local_lake,
        "warehouse": warehouse,
        "mailer": MailerResource(host="127.0.0.1", port=free_port(), timeout_seconds=2),
        "pothole": PotholeResource(report_to=["roads@example.com"]),
    }
    views = dg.materialize(
        [mvw_dashboard_repair_priority], partition_key=DAY.isoformat(), resources=resources
    )
    assert views.success
    # invoked directly: the asset's retry policy (for transient SMTP errors) is not in the way
    context = dg.build_asset_context(partition_key=DAY.isoformat())
    with pytest.raises(MailDeliveryError, match="roads@example.com via 127.0.0.1"):
        daily_pothole_report(context, **resources)


def test_views_are_created_once_and_replaced_when_their_definition_changes(
    warehouse: WarehouseResource, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pothole_assets import schema, serving

    warehouse.create_tables(schema.metadata)
    with warehouse.begin() as conn:
        assert serving.ensure_view(conn, schema.HEATMAP)
        assert not serving.ensure_view(conn, schema.HEATMAP)
        serving.refresh_view(conn, schema.HEATMAP)
    query, unique = schema.VIEW_SQL[schema.HEATMAP]
    changed = query.replace("SELECT ps.date,", "SELECT 1 AS v2, ps.date,")
    monkeypatch.setitem(schema.VIEW_SQL, schema.HEATMAP, (changed, unique))
    with warehouse.begin() as conn:
        assert serving.ensure_view(conn, schema.HEATMAP)
    columns = warehouse.read_frame("SELECT * FROM mvw_dashboard_heatmap").columns
    assert "v2" in columns
