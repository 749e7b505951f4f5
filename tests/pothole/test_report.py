"""The daily report: each day mailed once, a day without data never marked sent, a readable map.

Retries and re-executions skip the days already sent; a day without readings is mailed once its
data is loaded; the map names the top segments as the table does, on the road network, in Korean.
"""

import datetime as dt
import math
import os
import re
import warnings
from email.header import decode_header, make_header
from email.message import Message

import dagster as dg
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PathCollection

from pothole_assets import geo, report_map, schema, serving
from pothole_assets import lake_io as lk
from pothole_assets.assets import daily_pothole_report, mvw_dashboard_repair_priority
from pothole_assets.sources import PotholeResource
from resources import LakeResource, MailerResource, WarehouseResource

DAYS = ["2026-02-10", "2026-02-11"]
RANGE = {
    "dagster/asset_partition_range_start": DAYS[0],
    "dagster/asset_partition_range_end": DAYS[-1],
}
RESEND = {"ops": {"daily_pothole_report": {"config": {"resend": True}}}}


def _subjects(messages: list[Message]) -> list[str]:
    return [str(make_header(decode_header(m["Subject"]))) for m in messages]


def _expected(*days: str) -> list[str]:
    return [f"[포트홀 탐지] 일일 리포트 - {day}" for day in days]


def _seed_days(lake: LakeResource, warehouse: WarehouseResource, loaded: list[str] = DAYS) -> None:
    """The sample network in the lake and ten of its segments loaded for each of `loaded`."""
    lk.ensure_sample_reference(lake)
    segments = geo.with_midpoints(lk.read_segments(lake)).head(10)
    warehouse.create_tables(schema.metadata)
    days = [dt.date.fromisoformat(d) for d in loaded]
    with warehouse.begin() as conn:
        serving.ensure_month_partitions(conn, days)
    frames = [
        pd.DataFrame(
            {
                "s_id": segments["s_id"],
                "date": day,
                "centroid_lon": segments["centroid_lon"],
                "centroid_lat": segments["centroid_lat"],
                "impact_count": [(i * (n + 3)) % 7 for i in range(len(segments))],
                "total_count": 40,
            }
        )
        for n, day in enumerate(days)
    ]
    warehouse.copy_frame(pd.concat(frames, ignore_index=True), "pothole_segments")


@pytest.fixture
def report_resources(
    local_lake: LakeResource, warehouse: WarehouseResource, smtp_server
) -> dict[str, object]:
    _seed_days(local_lake, warehouse)
    resources = {
        "lake": local_lake,
        "warehouse": warehouse,
        "mailer": smtp_server.mailer(),
        "pothole": PotholeResource(report_to=["roads@example.com"]),
    }
    views = dg.materialize([mvw_dashboard_repair_priority], resources=resources, tags=RANGE)
    assert views.success
    return resources


def _report(resources: dict[str, object], **kwargs: object) -> dg.ExecuteInProcessResult:
    return dg.materialize([daily_pothole_report], resources=resources, tags=RANGE, **kwargs)


def test_rerunning_a_report_range_mails_no_day_twice_unless_asked(
    report_resources: dict[str, object], smtp_server, warehouse: WarehouseResource
) -> None:
    first = _report(report_resources)
    assert first.success
    assert _subjects(smtp_server.messages) == _expected(*DAYS)

    # the same range again (a retry, a re-execution, a second backfill): nobody is mailed twice
    again = _report(report_resources)
    assert again.success
    assert len(smtp_server.messages) == 2
    log = warehouse.read_frame("SELECT * FROM pothole_report_sent ORDER BY report_date")
    assert [d.isoformat() for d in log["report_date"]] == DAYS
    assert set(log["run_id"]) == {first.run_id}
    events = again.get_asset_materialization_events()
    assert sorted(e.materialization.partition for e in events) == DAYS
    for event in events:
        metadata = event.materialization.metadata
        assert metadata["status"].value == "already sent"
        assert metadata["sent_by_run"].value == first.run_id
        assert metadata["dagster/row_count"].value == 5

    # the operator asks for the days again
    resent = _report(report_resources, run_config=RESEND)
    assert resent.success
    assert _subjects(smtp_server.messages[2:]) == _expected(*DAYS)
    statuses = {
        e.materialization.partition: e.materialization.metadata["status"].value
        for e in resent.get_asset_materialization_events()
    }
    assert statuses == {day: "sent again" for day in DAYS}
    log = warehouse.read_frame("SELECT * FROM pothole_report_sent ORDER BY report_date")
    assert len(log) == 2 and set(log["run_id"]) == {resent.run_id}


# -- re-execution from failure of a real run ----------------------------------------------------
def report_job() -> dg.JobDefinition:
    """The report asset's job over the test's components (named in POTHOLE_TEST_* variables)."""
    env = os.environ
    resources = {
        "lake": LakeResource(local_root=env["POTHOLE_TEST_LAKE"]),
        "warehouse": WarehouseResource(
            url=env["POTHOLE_TEST_PG_URL"], search_path=env["POTHOLE_TEST_SCHEMA"]
        ),
        "mailer": MailerResource(
            host="127.0.0.1",
            port=int(env["POTHOLE_TEST_SMTP_PORT"]),
            ca_file=env["POTHOLE_TEST_SMTP_CA"],
        ),
        "pothole": PotholeResource(report_to=["roads@example.com"]),
    }
    job = dg.define_asset_job(
        "pothole_report_test_job",
        selection=[daily_pothole_report.key],
        executor_def=dg.in_process_executor,
    )
    defs = dg.Definitions(assets=[daily_pothole_report], jobs=[job], resources=resources)
    return defs.resolve_job_def(job.name)


def test_reexecution_after_a_failed_send_mails_only_the_days_not_yet_sent(
    report_resources: dict[str, object],
    smtp_server,
    warehouse: WarehouseResource,
    pg_url: str,
    pg_schema: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lake = report_resources["lake"]
    assert isinstance(lake, LakeResource)
    monkeypatch.setenv("POTHOLE_TEST_LAKE", str(lake.local_root))
    monkeypatch.setenv("POTHOLE_TEST_PG_URL", pg_url)
    monkeypatch.setenv("POTHOLE_TEST_SCHEMA", pg_schema)
    monkeypatch.setenv("POTHOLE_TEST_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("POTHOLE_TEST_SMTP_CA", smtp_server.ca_file)
    # the SMTP server is busy for the second day's report: 451 4.3.0 try again later at DATA
    smtp_server.refuse = lambda message: _subjects([message]) == _expected(DAYS[1])
    job = dg.reconstructable(report_job)
    # step retries off: the retry policy's 30 s back-off is not what is tested here
    no_step_retries = {"execution": {"config": {"retries": {"disabled": {}}}}}
    with dg.instance_for_test() as instance:
        with dg.execute_job(job, instance, run_config=no_step_retries, tags=RANGE) as failed:
            assert not failed.success
        assert _subjects(smtp_server.messages) == _expected(DAYS[0])

        # the SMTP server takes mail again; the run is re-executed from its failure with its
        # tags (as run retries and the UI do; execute_job needs them passed)
        assert _subjects(smtp_server.refused) == _expected(DAYS[1])
        smtp_server.refuse = None
        with dg.execute_job(
            job,
            instance,
            run_config=no_step_retries,
            tags=RANGE,
            reexecution_options=dg.ReexecutionOptions.from_failure(failed.run_id, instance),
        ) as retried:
            assert retried.success
            statuses = {
                e.materialization.partition: e.materialization.metadata.get("status")
                for e in retried.get_asset_materialization_events()
            }
        assert _subjects(smtp_server.messages) == _expected(*DAYS)
        assert statuses == {
            DAYS[0]: dg.MetadataValue.text("already sent"),
            DAYS[1]: dg.MetadataValue.text("sent"),
        }
        log = warehouse.read_frame("SELECT report_date, run_id FROM pothole_report_sent")
        assert dict(zip(log["report_date"].astype(str), log["run_id"], strict=True)) == {
            DAYS[0]: failed.run_id,
            DAYS[1]: retried.run_id,
        }


# -- a day without readings ------------------------------------------------------------------------
def _parts(message: Message) -> dict[str, Message]:
    """The message's leaf parts by content type."""
    return {part.get_content_type(): part for part in message.walk() if not part.is_multipart()}


def _html(message: Message) -> str:
    part = _parts(message)["text/html"]
    return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")


def test_a_day_without_readings_is_not_marked_sent_and_its_real_report_is_mailed_later(
    local_lake: LakeResource, warehouse: WarehouseResource, smtp_server
) -> None:
    # the second day's file held no readings: only the first day has segment rows
    _seed_days(local_lake, warehouse, loaded=DAYS[:1])
    resources = {
        "lake": local_lake,
        "warehouse": warehouse,
        "mailer": smtp_server.mailer(),
        "pothole": PotholeResource(report_to=["roads@example.com"]),
    }
    assert dg.materialize([mvw_dashboard_repair_priority], resources=resources, tags=RANGE).success

    first = _report(resources, raise_on_error=False)
    # the day with data is mailed; the empty day is neither mailed nor recorded, and the run
    # fails naming it, so the operator sees it (and the failure alert carries the reason)
    assert not first.success
    assert _subjects(smtp_server.messages) == _expected(DAYS[0])
    (failure,) = first.get_step_failure_events()
    message = failure.step_failure_data.error.message
    assert f"{DAYS[1]}: no readings in pothole_segments" in message
    assert DAYS[0] not in message
    log = warehouse.read_frame("SELECT report_date FROM pothole_report_sent")
    assert [d.isoformat() for d in log["report_date"]] == DAYS[:1]

    # the day's real data arrives and the range is run again: the real report is mailed
    _seed_days(local_lake, warehouse, loaded=DAYS[1:])
    assert dg.materialize([mvw_dashboard_repair_priority], resources=resources, tags=RANGE).success
    again = _report(resources)
    assert again.success
    assert _subjects(smtp_server.messages) == _expected(*DAYS)
    statuses = {
        e.materialization.partition: e.materialization.metadata["status"].value
        for e in again.get_asset_materialization_events()
    }
    assert statuses == {DAYS[0]: "already sent", DAYS[1]: "sent"}
    mailed = smtp_server.messages[1]
    body = _html(mailed)
    assert "보수 우선순위 TOP 5" in body and "No data" not in body
    assert body.count("<tr style=") == 5  # the five ranked rows of the day
    picture = _parts(mailed)["image/png"]
    assert picture["Content-ID"] == "<pothole-map>"
    assert picture.get_payload(decode=True).startswith(b"\x89PNG")


def test_a_no_data_notice_recorded_by_an_earlier_version_does_not_block_the_real_report(
    report_resources: dict[str, object], smtp_server, warehouse: WarehouseResource
) -> None:
    # an earlier version mailed "No data available" for the second day and recorded it as sent
    with warehouse.begin() as conn:
        serving.record_report_sent(
            conn,
            dt.date.fromisoformat(DAYS[1]),
            ["roads@example.com"],
            _expected(DAYS[1])[0],
            "smtp",
            0,
            "an-earlier-run",
        )
    result = _report(report_resources)
    assert result.success
    assert _subjects(smtp_server.messages) == _expected(*DAYS)
    log = warehouse.read_frame("SELECT report_date, top_rows FROM pothole_report_sent")
    assert dict(zip(log["report_date"].astype(str), log["top_rows"], strict=True)) == {
        DAYS[0]: 5,
        DAYS[1]: 5,
    }


# -- the map ---------------------------------------------------------------------------------------
HANGUL = re.compile("[가-힣]")
LON_50M = 0.000547  # 50 m of longitude at 34.76°N: 50 / (111,195 m · cos 34.76°)
LAT_50M = 0.00045  # 50 m of latitude: 50 / 111,195 m


def _road(link: str, lon: float, lat: float, d_lon: float, d_lat: float) -> pd.DataFrame:
    """Forty 50 m segments of one link, from (lon, lat) in steps of (d_lon, d_lat)."""
    return pd.DataFrame(
        {
            "s_id": [f"{link}_{i:04d}" for i in range(40)],
            "link_id": link,
            "start_lon": [lon + i * d_lon for i in range(40)],
            "start_lat": [lat + i * d_lat for i in range(40)],
            "end_lon": [lon + (i + 1) * d_lon for i in range(40)],
            "end_lat": [lat + (i + 1) * d_lat for i in range(40)],
        }
    )


def _hand_made_map_data() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Two crossing 2 km roads and one 10 km east; five ranked segments on the crossing roads."""
    segments = pd.concat(
        [
            _road("A", 127.65, 34.76, LON_50M, 0.0),  # 여수로, west to east
            _road("B", 127.66, 34.751, 0.0, LAT_50M),  # 시청로, south to north
            _road("C", 127.76, 34.76, LON_50M, 0.0),  # 먼도로, 10 km east: off the map
        ],
        ignore_index=True,
    )
    names = {"A": "여수로", "B": "시청로", "C": "먼도로"}
    addresses = pd.DataFrame(
        {
            "s_id": segments["s_id"],
            "road_name": segments["link_id"].map(names),
            "district": "여수시",
        }
    )
    # B_0020 was never given an address: the table shows its coordinates instead
    addresses.loc[addresses["s_id"] == "B_0020", ["road_name", "district"]] = None
    mid = geo.with_midpoints(segments).set_index("s_id")
    ranked = ["A_0005", "A_0030", "B_0010", "B_0035", "B_0020"]
    top = pd.DataFrame(
        {
            "s_id": ranked,
            "priority_rank": [1, 2, 3, 4, 5],
            "centroid_lon": mid.loc[ranked, "centroid_lon"].to_numpy(),
            "centroid_lat": mid.loc[ranked, "centroid_lat"].to_numpy(),
            "priority_score": [90.0, 80.0, 70.0, 60.0, 50.0],
            "complaint_count": 0,
        }
    ).merge(addresses, on="s_id", how="left")
    return segments, top, addresses


def test_the_map_names_the_top_segments_in_korean_on_the_road_network_with_a_scale() -> None:
    segments, top, addresses = _hand_made_map_data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = report_map.render_map(segments, top, addresses, dt.date(2026, 2, 10))
        fig = report_map.build_map(segments, top, addresses, dt.date(2026, 2, 10))
        fig.canvas.draw()
    assert png.startswith(b"\x89PNG")
    # every Hangul glyph is in the font (matplotlib warns "Glyph … missing from font(s)")
    assert not [w for w in caught if "missing from font" in str(w.message)]
    (ax,) = fig.axes

    # each point says its rank and the road name and district the table shows; a segment
    # without an address shows the table's coordinates: B_0020's midpoint is 34.751 + 20.5 ·
    # 0.00045 = 34.760225 -> "(34.7602, 127.6600)"
    labels = [t for t in ax.texts if t.get_gid() == "point-label"]
    assert [t.get_text() for t in labels] == [
        "1위 여수로 (여수시)",
        "2위 여수로 (여수시)",
        "3위 시청로 (여수시)",
        "4위 시청로 (여수시)",
        "5위 (34.7602, 127.6600)",
    ]
    assert "A_0005" not in " ".join(t.get_text() for t in ax.texts)
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in labels]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])

    # the network: every segment drawn, and the roads in view named once each (not the far one)
    (network,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(network.get_segments()) == 120
    assert sorted(t.get_text() for t in ax.texts if t.get_gid() == "road-name") == [
        "시청로",
        "여수로",
    ]

    # the scale bar: the points span ~1.25 km, the window is at least 3 km wide, so a quarter of
    # it rounds down to 500 m; the map is in metres, so 1 and 2 (25 segments apart) are 1,250 m
    (scale,) = [a for a in ax.artists if a.get_gid() == "scale-bar"]
    assert scale.txt_label.get_text() == "500 m"
    assert scale.size_bar.get_children()[0].get_width() == 500
    (points,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    one, two = points.get_offsets()[:2]
    assert math.isclose(math.dist(one, two), 25 * 50, rel_tol=0.01)

    # the title and the legend are Korean
    assert HANGUL.search(ax.get_title()) and "2026-02-10" in ax.get_title()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(legend) == 2 and all(HANGUL.search(text) for text in legend)


def test_the_glyph_check_sees_hangul_drawn_without_a_korean_font() -> None:
    # the map test's glyph assertion is meaningful: matplotlib's default font has no Hangul
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure()
    FigureCanvasAgg(fig)
    fig.add_subplot().set_title("포트홀", family="DejaVu Sans")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    assert [w for w in caught if "missing from font" in str(w.message)]
