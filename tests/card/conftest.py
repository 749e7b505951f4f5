"""Fixtures of the card tests: the location's resources on a test schema and a local lake."""

from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from card_assets.sources import CardOptions, ErpDbResource, T2AResource
from resources.lake import LakeResource
from resources.warehouse import WarehouseResource, dispose_engines


def card_resources(
    warehouse: WarehouseResource, tmp_path: Path, **overrides: Any
) -> dict[str, Any]:
    """The card resources in local mode: sample T2A, the sample ERP in the test's schema."""
    resources: dict[str, Any] = {
        "warehouse": warehouse,
        "lake": LakeResource(local_root=str(tmp_path / "lake")),
        "t2a": T2AResource(use_sample=True),
        "erp_db": ErpDbResource(
            warehouse=warehouse,
            local_schema=f"{warehouse.search_path}_erp",
            sample_orgs=4,
            sample_users=24,
        ),
        "card": CardOptions(max_workers_sales=4, retention_days=14),
    }
    resources.update(overrides)
    return resources


@pytest.fixture
def resources(warehouse: WarehouseResource, tmp_path: Path) -> Any:
    """The card resources; the ERP sample schema is dropped afterwards."""
    res = card_resources(warehouse, tmp_path)
    yield res
    erp = res["erp_db"].local_schema
    dispose_engines(erp)
    warehouse.execute(f'DROP SCHEMA IF EXISTS "{erp}" CASCADE')


@pytest.fixture
def instance() -> Any:
    with dg.instance_for_test() as inst:
        yield inst
