"""A code location holding only `raw_sensor_data` in local mode, for running `make demo`'s code.

The lake folder comes from POTHOLE_TEST_LAKE: the demo's run processes import this module too.
"""

import os

import dagster as dg

from pothole_assets.assets import raw_sensor_data
from pothole_assets.sources import PotholeResource
from resources import LakeResource

defs = dg.Definitions(
    assets=[raw_sensor_data],
    resources={
        "lake": LakeResource(local_root=os.environ.get("POTHOLE_TEST_LAKE", ".platform/lake")),
        "pothole": PotholeResource(samples=True, sample_readings_per_day=2_000),
    },
)
