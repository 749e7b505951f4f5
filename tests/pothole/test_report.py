"""The daily report: each day mailed once, a day without data never marked sent, a readable map.

Retries and re-executions skip the days already sent; a day without readings is mailed once its
data is loaded; the map names the top segments as the table does, on the road network, in Korean.
"""

import datetime as dt
import os
from email.header import decode_header, make_header
from email.message import Message

import dagster as dg
import pandas as pd
import pytest

from pothole_assets import geo, schema, serving
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
