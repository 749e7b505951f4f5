"""Spark session resource (dagster-pyspark); created lazily so a cluster can be started first."""

import os
import re
from typing import Any

import dagster as dg
from dagster_pyspark.resources import spark_session_from_config
from pydantic import Field, PrivateAttr

from resources.kst import KST_NAME

# A cluster's shuffles are cut into this many partitions (adaptive execution merges small ones).
CLUSTER_SHUFFLE_PARTITIONS = 8


def local_cores(master: str) -> int | None:
    """The worker threads of a `local`, `local[N]`, `local[*]` or `local[N,F]` master; else None."""
    found = re.fullmatch(r"local(?:\[(\*|\d+)(?:,\d+)?\])?", master)
    if found is None:
        return None
    threads = found.group(1) or "1"
    return (os.cpu_count() or 1) if threads == "*" else int(threads)


def sql_double(value: float) -> str:
    """`value` as a Spark SQL double literal (`0.0005D`), for formulas written as SQL text."""
    return f"{float(value)!r}D"


class SparkResource(dg.ConfigurableResource):
    """`local[*]` by default; `master` points at a standalone cluster (`spark://host:7077`)."""

    master: str = Field(default="local[*]", description="Spark master URL")
    app_name: str = "data-platform"
    spark_config: dict[str, str] = Field(default_factory=dict, description="Extra Spark settings")
    s3_endpoint_url: str | None = Field(
        default=None, description="S3A endpoint when the lake is S3"
    )
    s3_region: str | None = Field(default=None, description="S3A region when the lake is S3")

    _session: Any = PrivateAttr(default=None)

    def config(self) -> dict[str, str]:
        """The full Spark configuration the session is built with.

        A local session cuts each shuffle into one partition per worker thread: every thread
        takes one share, where more shares than threads leave some threads idle at the end.
        """
        cores = local_cores(self.master)
        conf = {
            "spark.master": self.master,
            "spark.app.name": self.app_name,
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.session.timeZone": KST_NAME,
            "spark.sql.shuffle.partitions": str(cores or CLUSTER_SHUFFLE_PARTITIONS),
            "spark.sql.execution.arrow.pyspark.enabled": "true",
        }
        if self.s3_region:
            # S3A: credentials come from the default AWS provider chain (instance profile in prod).
            conf["spark.hadoop.fs.s3a.endpoint.region"] = self.s3_region
            conf["spark.hadoop.fs.s3a.aws.credentials.provider"] = (
                "software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider"
            )
            if self.s3_endpoint_url:
                conf["spark.hadoop.fs.s3a.endpoint"] = self.s3_endpoint_url
                conf["spark.hadoop.fs.s3a.path.style.access"] = "true"
        conf.update(self.spark_config)
        return conf

    def get_session(self) -> Any:
        """The SparkSession, started on first call (after the cluster is up)."""
        if self._session is None:
            self._session = spark_session_from_config(self.config())
        return self._session

    def stop(self) -> None:
        """Stop the session now (before its cluster goes down); a later call starts a new one."""
        if self._session is not None:
            self._session.stop()
            self._session = None

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """Stop the session at the end of the step that started it."""
        self.stop()
