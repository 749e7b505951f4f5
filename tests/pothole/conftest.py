"""Fixtures of the pothole tests: one shared local Spark session and the domain's resources."""

from collections.abc import Iterator
from typing import Any

import dagster as dg
import pytest
from pyspark.sql import SparkSession

from pothole_assets.sources import ComplaintsResource, KakaoResource, PotholeResource
from resources import (
    ClusterResource,
    LakeResource,
    MailerResource,
    SparkResource,
    WarehouseResource,
)

SAMPLE_READINGS = 6_000


@pytest.fixture(scope="session")
def spark_session() -> Iterator[SparkSession]:
    """One local Spark session for every pothole test (small shuffles keep them fast)."""
    session = (
        SparkSession.builder.master("local[2]")
        .appName("pothole-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "Asia/Seoul")
        .config("spark.default.parallelism", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


class SharedSpark(SparkResource):
    """The spark resource bound to the shared test session (never stopped by a step)."""

    def get_session(self) -> Any:
        """The shared session."""
        return SparkSession.builder.getOrCreate()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """Keep the shared session alive."""


@pytest.fixture
def spark_resource(spark_session: SparkSession) -> SparkResource:
    """A spark resource bound to the shared session."""
    return SharedSpark(master="local[2]")


def pothole_resources(
    lake: LakeResource,
    warehouse: WarehouseResource,
    spark: SparkResource,
    mailer: MailerResource | None = None,
    cluster: ClusterResource | None = None,
    kakao: KakaoResource | None = None,
    complaints: ComplaintsResource | None = None,
    readings: int = SAMPLE_READINGS,
) -> dict[str, Any]:
    """The resources of the location, pointed at test components; sample data on."""
    return {
        "lake": lake,
        "warehouse": warehouse,
        "spark": spark,
        "cluster": cluster or ClusterResource(),
        "mailer": mailer or MailerResource(outbox_dir=str(lake.local_root) + "-outbox"),
        "kakao": kakao or KakaoResource(use_sample=True),
        "complaints": complaints or ComplaintsResource(use_sample=True),
        "pothole": PotholeResource(
            samples=True, sample_readings_per_day=readings, report_to=["roads@example.com"]
        ),
    }
