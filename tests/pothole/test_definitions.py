"""The cluster is held by one run at a time: the Spark step's pool and the job's run tag."""

from pathlib import Path

import pytest
import yaml

from pothole_assets import assets
from pothole_assets.definitions import defs

ROOT = Path(__file__).resolve().parents[2]


def test_spark_step_is_in_the_cluster_pool_and_the_daily_job_carries_the_cluster_tag() -> None:
    assert assets.pothole_spark_stages.op.pool == assets.SPARK_POOL == "spark_cluster"
    assert defs.resolve_job_def("pothole_daily_job").tags["platform/cluster"] == "pothole-spark"


@pytest.mark.parametrize("path", ["dagster.yaml", "deploy/dagster.yaml"])
def test_instances_allow_one_cluster_holder_at_a_time(path: str) -> None:
    concurrency = yaml.safe_load((ROOT / path).read_text())["concurrency"]
    limits = {item["key"]: item["limit"] for item in concurrency["runs"]["tag_concurrency_limits"]}
    assert limits["platform/cluster"] == 1
    pools = concurrency["pools"]
    assert pools.get("default_limit") == 1 or pools.get(assets.SPARK_POOL) == 1
