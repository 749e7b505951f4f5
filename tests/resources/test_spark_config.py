"""The Spark resource's session settings, without starting a session."""

import os

import pytest

from resources.spark import CLUSTER_SHUFFLE_PARTITIONS, SparkResource, local_cores


@pytest.mark.parametrize(
    ("master", "threads"),
    [
        ("local", 1),
        ("local[2]", 2),
        ("local[3,4]", 3),  # three threads, four attempts per task
        ("local[*]", os.cpu_count()),
        ("spark://10.0.0.5:7077", None),
        ("localhost", None),
    ],
)
def test_local_worker_threads_are_read_from_the_master_url(master: str, threads: int) -> None:
    assert local_cores(master) == threads


def test_a_local_session_cuts_shuffles_into_one_partition_per_thread() -> None:
    assert SparkResource(master="local[3]").config()["spark.sql.shuffle.partitions"] == "3"
    cluster = SparkResource(master="spark://10.0.0.5:7077").config()
    assert cluster["spark.sql.shuffle.partitions"] == str(CLUSTER_SHUFFLE_PARTITIONS)
    # an operator's own setting wins
    tuned = SparkResource(master="local[2]", spark_config={"spark.sql.shuffle.partitions": "16"})
    assert tuned.config()["spark.sql.shuffle.partitions"] == "16"
