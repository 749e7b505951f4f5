"""Lake keys of the pothole pipeline, sample seeding, and moving Spark files in and out of the lake.

Spark reads and writes the lake directly when it can (a local folder, or `s3a://` on a real
cluster). A local Spark session cannot reach S3 (no hadoop-aws jar), so the day's objects are
staged through the lake resource into a temporary folder and the results uploaded back.
"""

import logging
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from pothole_assets import reference, sample_data
from pothole_assets.raw_layout import RawFile
from resources.lake import LakeObject, LakeResource

RAW_PREFIX = "raw-sensor-data"
STAGE1_PREFIX = "stage1_anomaly_detected"
STAGE1_REJECTED_PREFIX = "stage1_rejected"
STAGE2_PREFIX = "stage2_spatial_clustering"
SEGMENTS_REJECTED_PREFIX = "pothole_segments_rejected"
SUCCESS_MARKER = "_SUCCESS"


def day_prefix(dataset: str, day: date | str) -> str:
    """`dataset/dt=YYYY-MM-DD/`."""
    key = day.isoformat() if isinstance(day, date) else day
    return f"{dataset}/dt={key}/"


def parquet_objects(lake: LakeResource, prefix: str) -> list[LakeObject]:
    """Parquet objects under a prefix (markers and temporary files excluded)."""
    return [o for o in lake.list(prefix) if o.key.endswith(".parquet")]


# -- sample data (local mode) ----------------------------------------------------------------------
def ensure_sample_reference(lake: LakeResource) -> list[str]:
    """Write the sample road network, link attributes and bumps where they are missing."""
    missing = [
        key
        for key in (
            reference.ROAD_SEGMENTS_KEY,
            reference.ROAD_LINKS_KEY,
            reference.SPEED_BUMPS_KEY,
        )
        if not lake.exists(key)
    ]
    if not missing:
        return []
    network = sample_data.build_network()
    content = {
        reference.ROAD_SEGMENTS_KEY: network.segments.to_csv(index=False).encode(),
        reference.ROAD_LINKS_KEY: network.links.to_csv(index=False).encode(),
        reference.SPEED_BUMPS_KEY: network.bumps.to_csv(index=False).encode("utf-8-sig"),
    }
    for key in missing:
        lake.put_bytes(key, content[key])
    return missing


def ensure_sample_day(lake: LakeResource, day: date, readings: int) -> int:
    """Write the sample raw files of `day` when the day has none; returns the rows written."""
    prefix = day_prefix(RAW_PREFIX, day)
    if parquet_objects(lake, prefix):
        return 0
    network = sample_data.build_network()
    frame = sample_data.generate_day(network, day, readings=readings)
    for name, data in sample_data.raw_day_files(frame, merge_trips=40):
        lake.put_bytes(prefix + name, data)
    lake.put_bytes(prefix + SUCCESS_MARKER, b"")
    return len(frame)


def read_segments(lake: LakeResource) -> pd.DataFrame:
    """The validated road segments from the lake."""
    return reference.parse_road_segments(lake.get_bytes(reference.ROAD_SEGMENTS_KEY))


def read_bumps(lake: LakeResource) -> tuple[pd.DataFrame, int]:
    """The usable speed bumps from the lake, and how many rows were unusable."""
    return reference.parse_speed_bumps(lake.get_bytes(reference.SPEED_BUMPS_KEY))


# -- Spark <-> lake ------------------------------------------------------------------------------
@dataclass
class SparkLakeIO:
    """Where Spark reads and writes a lake prefix, and publishing of locally written output."""

    lake: LakeResource
    spark_master: str
    workdir: Path
    log: logging.Logger | Any

    @property
    def mode(self) -> str:
        """'direct' (local lake), 's3a' (S3 lake, cluster) or 'staged' (S3 lake, local Spark)."""
        if not self.lake.is_s3:
            return "direct"
        return "staged" if self.spark_master.startswith("local") else "s3a"

    def _s3a(self, prefix: str) -> str:
        return "s3a://" + self.lake.uri(prefix)[len("s3://") :]

    def input_files(self, prefix: str) -> list[RawFile]:
        """The parquet objects under `prefix`: each one's lake address and where Spark reads it.

        Staged objects are copied to the driver under their own names; direct ones are read in
        place; both give a local copy whose footer can be read without Spark.
        """
        objects = parquet_objects(self.lake, prefix)
        if self.mode == "direct":
            return [
                RawFile(self.lake.uri(o.key), self.lake.uri(o.key), self.lake.uri(o.key))
                for o in objects
            ]
        if self.mode == "s3a":
            return [RawFile(self.lake.uri(o.key), self._s3a(o.key)) for o in objects]
        target = Path(tempfile.mkdtemp(prefix="in-", dir=self.workdir))
        files = []
        for obj in objects:
            local = target / Path(obj.key).name
            local.write_bytes(self.lake.get_bytes(obj.key))
            files.append(RawFile(self.lake.uri(obj.key), str(local), str(local)))
        self.log.info(f"staged {len(objects)} object(s) of {self.lake.uri(prefix)} to {target}")
        return files

    def output_path(self, prefix: str) -> str:
        """Where Spark writes the output of `prefix` (published afterwards unless s3a)."""
        if self.mode == "s3a":
            return self._s3a(prefix)
        return str(Path(tempfile.mkdtemp(prefix="out-", dir=self.workdir)) / "data")

    def publish(self, path: str, prefix: str) -> int:
        """Upload Spark's part files from `path` to `prefix`, replacing the previous output.

        Parts get stable names (part-00000.snappy.parquet, …): each replaces its predecessor
        atomically, stale parts are removed, and `_SUCCESS` is written last. Returns the bytes.
        """
        if self.mode == "s3a":
            return sum(o.size for o in parquet_objects(self.lake, prefix))
        parts = sorted(p for p in Path(path).glob("part-*") if p.name.endswith(".parquet"))
        written, total = set(), 0
        for i, part in enumerate(parts):
            key = f"{prefix}part-{i:05d}.snappy.parquet"
            data = part.read_bytes()
            self.lake.put_bytes(key, data)
            written.add(key)
            total += len(data)
        for obj in self.lake.list(prefix):
            if obj.key not in written:
                self.lake.delete_prefix(obj.key)  # the exact key: no other key extends it
        self.lake.put_bytes(prefix + SUCCESS_MARKER, b"")
        return total
