"""The change sensor: stabilisation without sleeping, cursor state, changed months only."""

import json
import os
from pathlib import Path

import dagster as dg

from production_assets.databases import discover, signature
from production_assets.definitions import defs as DEFS
from production_assets.sensors import build_db_change_sensor, build_sensors
from production_assets.sources import ProductionDbResource
from production_assets.watch import MAX_STABILIZATION_RESTARTS, FileWatch, advance, evaluate
from resources.settings import PlatformSettings
from tests.production.conftest import run_writer

WAIT = 5.0  # the default stabilisation wait, in seconds of the sensor's clock


def test_a_change_fires_only_after_three_unchanged_checks() -> None:
    watch = FileWatch(handled=[1, 100])
    watch, event = advance(watch, (2, 200), now=0.0)
    assert event == "pending"
    watch, event = advance(watch, (2, 200), now=3.0)  # too soon: not a check
    assert (event, watch.confirmations) == ("pending", 0)
    for now in (5.0, 10.0):
        watch, event = advance(watch, (2, 200), now=now)
        assert event == "pending"
    watch, event = advance(watch, (2, 200), now=15.0)
    assert event == "stable" and watch.handled == [2, 200] and not watch.pending
    assert advance(watch, (2, 200), now=20.0)[1] == "unchanged"


def test_a_file_still_being_written_is_never_forgotten() -> None:
    watch = FileWatch(handled=[1, 100])
    now = 0.0
    for size in range(200, 200 + 2 * MAX_STABILIZATION_RESTARTS):
        now += 5
        watch, event = advance(watch, (size, size), now)
    assert event == "unstable" and watch.handled == [1, 100]  # still pending, not dropped
    final = (size, size)
    events = []
    for _ in range(3):
        now += 5
        watch, event = advance(watch, final, now)
        events.append(event)
    assert events == ["pending", "pending", "stable"]


class Clock:
    """The sensor's clock, moved by the test: epoch seconds."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _sensor(clock: Clock) -> dg.SensorDefinition:
    return build_db_change_sensor(now=clock)


def _tick(
    sensor: dg.SensorDefinition, sensor_db: ProductionDbResource, cursor: str | None
) -> tuple[list[dg.RunRequest], str]:
    with dg.build_sensor_context(
        cursor=cursor,
        instance=dg.DagsterInstance.ephemeral(),
        resources={"production_db": sensor_db},
        definitions=DEFS,
    ) as context:
        result = sensor.evaluate_tick(context)
    return list(result.run_requests or []), result.cursor or ""


def _settle(
    clock: Clock, sensor_db: ProductionDbResource, cursor: str | None
) -> tuple[list[dg.RunRequest], str]:
    """Tick, a minute apart on the sensor's clock, until the sensor acts (or 8 ticks passed)."""
    sensor = _sensor(clock)
    requests: list[dg.RunRequest] = []
    for _ in range(8):
        requests, cursor = _tick(sensor, sensor_db, cursor)
        if requests:
            return requests, cursor
        clock.now += 60
    return requests, cursor or ""


def _months(requests: list[dg.RunRequest]) -> list[str]:
    return sorted(
        r.partition_key for r in requests if r.job_name == "production_monthly_totals_job"
    )


def test_sensor_waits_for_the_writer_then_requests_maintenance_and_changed_months(
    db_dir: Path, erp_writer
) -> None:
    clock = Clock()
    sensor = _sensor(clock)
    sensor_db = ProductionDbResource(db_dir=str(db_dir), stabilization_checks=3)
    files_before = set(os.listdir(db_dir))
    requests, cursor = _tick(sensor, sensor_db, None)
    assert requests == []  # first sight of the files: settling
    # After first sight, three unchanged checks at least the 5 s wait apart: the third one acts.
    for _ in range(2):
        clock.now += WAIT
        requests, cursor = _tick(sensor, sensor_db, cursor)
        assert requests == []
    clock.now += WAIT
    requests, cursor = _tick(sensor, sensor_db, cursor)
    assert _months(requests) == [
        "2024-06-01",
        "2025-11-01",
        "2025-12-01",
        "2026-01-01",
        "2026-02-01",
    ]
    assert [r.job_name for r in requests].count("production_maintenance_job") == 1
    # all state lives in the cursor: the sensor leaves no file behind (SQLite's own -wal/-shm aside)
    assert set(json.loads(cursor)) == {"files", "fingerprints", "vanished"}
    new_files = set(os.listdir(db_dir)) - files_before
    assert {n for n in new_files if not n.endswith(("-wal", "-shm"))} == set()

    live = db_dir / "production_analysis.db"
    erp = erp_writer(live, day="2026-03-15")
    for _ in range(8):  # the ERP commits between every two checks: never acted on
        erp.transaction(5)
        clock.now += WAIT
        requests, cursor = _tick(sensor, sensor_db, cursor)
        assert requests == []
    # The ERP stops writing (its connection stays open): the change settles and is acted on.
    requests, cursor = _settle(clock, sensor_db, cursor)
    assert _months(requests) == ["2026-03-01"]  # only the month the writer touched
    assert [r.job_name for r in requests].count("production_maintenance_job") == 1
    assert _settle(clock, sensor_db, cursor)[0] == []
    assert erp.close() == 40


def test_sensor_after_the_erp_replaces_the_file(db_dir: Path) -> None:
    clock = Clock()
    sensor_db = ProductionDbResource(db_dir=str(db_dir), stabilization_checks=2)
    _, cursor = _tick(_sensor(clock), sensor_db, None)
    _, cursor = _settle(clock, sensor_db, cursor)
    live = db_dir / "production_analysis.db"
    before = signature(live)
    run_writer("replace", "--db", str(live), "--rows", "50", "--day", "2026-02-20")
    assert signature(live) != before
    requests, _ = _settle(clock, sensor_db, cursor)
    # The new file has February rows only: January vanished, February changed.
    assert _months(requests) == ["2026-01-01", "2026-02-01"]


def test_the_location_sensor_follows_the_prod_local_rule() -> None:
    local = build_sensors(PlatformSettings(platform_env="local"))
    prod = build_sensors(PlatformSettings(platform_env="prod"))
    assert [s.default_status for s in local] == [dg.DefaultSensorStatus.STOPPED]
    assert [s.default_status for s in prod] == [dg.DefaultSensorStatus.RUNNING]


def test_a_change_that_cannot_be_read_is_taken_up_again(db_dir: Path) -> None:
    layout = discover(db_dir)
    live = db_dir / "production_analysis.db"
    outcome = None
    cursor = None
    for now in range(5):  # settle the initial state
        outcome = evaluate(cursor, layout, float(now), checks=2, wait_s=0.5)
        cursor = outcome.cursor
    good = live.read_bytes()
    live.write_bytes(b"garbage" * 1000)  # the ERP is half way through replacing the file
    for now in range(10, 13):
        outcome = evaluate(cursor, layout, float(now), checks=2, wait_s=0.5)
        cursor = outcome.cursor
    assert outcome.fired == [] and "production_analysis.db" in outcome.errors
    live.write_bytes(good)
    (db_dir / "production_analysis.db-wal").unlink(missing_ok=True)
    fired = []
    for now in range(20, 24):
        outcome = evaluate(cursor, layout, float(now), checks=2, wait_s=0.5)
        cursor = outcome.cursor
        fired += outcome.fired
    assert fired == ["production_analysis.db"] and outcome.errors == {}
