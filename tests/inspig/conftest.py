"""Fixtures of the inspig tests: a farm database in the test's own schema, sample data."""

import datetime as dt

import pytest
import sqlalchemy as sa

from inspig_assets import schema
from inspig_assets.sample import SampleSpec, load_sample
from inspig_assets.sources import InspigSampleResource, ProductivityApiResource
from resources.farm_db import FarmDbResource
from resources.warehouse import WarehouseResource

# The sample's last day; the report week before it is 2026-W46 (2026-11-09 .. 2026-11-15).
SAMPLE_UNTIL = dt.date(2026, 11, 17)


def inspig_resources(
    db: FarmDbResource, api: ProductivityApiResource | None = None
) -> dict[str, object]:
    """The resources inspig's assets and jobs take: the farm database, the API, the sample."""
    return {
        "farm_db": db,
        "productivity_api": api or ProductivityApiResource(),
        "inspig_sample": InspigSampleResource(),
    }


@pytest.fixture
def farm_db(warehouse: WarehouseResource, pg_schema: str) -> FarmDbResource:
    """PigPlan / InsightPig tables in this test's schema (empty)."""
    resource = FarmDbResource(warehouse=warehouse, local_schema=pg_schema)
    with resource.begin() as conn:
        schema.create_all(conn)
    return resource


@pytest.fixture
def engine(farm_db: FarmDbResource) -> sa.Engine:
    """Engine of the test schema."""
    return farm_db.get_engine()


@pytest.fixture
def sample_db(farm_db: FarmDbResource) -> FarmDbResource:
    """12 small sample farms (40 sows, 400 days of history) in this test's schema."""
    spec = SampleSpec(farms=12, sows_per_farm=40, history_days=400, until=SAMPLE_UNTIL)
    with farm_db.begin() as conn:
        load_sample(conn, spec, farm_db.insert_rows)
    return farm_db
