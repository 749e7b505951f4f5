"""Fixtures of the energy tests: the location's resources on a test schema, sample sources."""

import datetime as dt
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from energy_assets.sources import KoenResource, KospoResource, PlantGeocoderResource
from resources.alerts import AlertsResource
from resources.kma import KmaResource
from resources.warehouse import WarehouseResource


def sample_resources(
    warehouse: WarehouseResource, tmp_path: Path, as_of: dt.date | None = None, **overrides: Any
) -> dict[str, Any]:
    """The energy resources in local mode (sample sources), bound to the test's schema."""
    resources: dict[str, Any] = {
        "warehouse": warehouse,
        "kma": KmaResource(use_sample=True),
        "kospo": KospoResource(use_sample=True, as_of=as_of.isoformat() if as_of else None),
        "koen": KoenResource(base_url=None, use_sample=True, raw_dir=str(tmp_path / "koen")),
        "plant_geocoder": PlantGeocoderResource(use_sample=True),
        "alerts": AlertsResource(),
    }
    resources.update(overrides)
    return resources


@pytest.fixture
def instance() -> Any:
    with dg.instance_for_test() as inst:
        yield inst
