"""The inspig location: every job that touches Oracle carries the run tag the instance limits."""

from pathlib import Path

import yaml

from inspig_assets.definitions import defs

ROOT = Path(__file__).resolve().parents[2]
ORACLE_JOBS = (
    "inspig_weekly_report_job",
    "inspig_farm_report_job",
    "inspig_productivity_weekly_job",
    "inspig_productivity_monthly_job",
    "inspig_job_log_retention_job",
)


def test_every_oracle_job_carries_the_oracle_tag() -> None:
    for name in ORACLE_JOBS:
        assert defs.resolve_job_def(name).tags.get("platform/oracle") == "inspig", name


def test_the_production_instance_runs_two_oracle_runs_at_once() -> None:
    concurrency = yaml.safe_load((ROOT / "deploy/dagster.yaml").read_text())["concurrency"]
    limits = {item["key"]: item["limit"] for item in concurrency["runs"]["tag_concurrency_limits"]}
    assert limits["platform/oracle"] == 2
