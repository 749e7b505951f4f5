"""Object store for parquet stages: S3 (`s3://bucket/prefix`) or a local folder, same keys."""

import io
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from dagster_aws.s3 import S3Resource
from pydantic import Field, PrivateAttr


@dataclass(frozen=True)
class LakeObject:
    """One stored object: its key relative to the lake root, size and last modification."""

    key: str
    size: int
    modified: datetime


class LakeResource(dg.ConfigurableResource):
    """Parquet read/write/list/exists/delete on S3 or on a local folder with the same key layout."""

    url: str | None = Field(default=None, description="s3://bucket/prefix; None = local folder")
    local_root: str = Field(default=".platform/lake", description="Folder used when url is unset")
    region: str = "ap-northeast-2"
    endpoint_url: str | None = Field(default=None, description="S3-compatible endpoint override")

    _client: Any = PrivateAttr(default=None)

    # -- addressing --------------------------------------------------------------------------
    @property
    def is_s3(self) -> bool:
        """True when the lake is an S3 bucket."""
        return bool(self.url and self.url.startswith("s3://"))

    def _bucket_prefix(self) -> tuple[str, str]:
        assert self.url is not None
        rest = self.url[len("s3://") :]
        bucket, _, prefix = rest.partition("/")
        return bucket, prefix.strip("/")

    def _s3_key(self, key: str) -> str:
        _, prefix = self._bucket_prefix()
        key = key.lstrip("/")
        return f"{prefix}/{key}" if prefix else key

    def _local(self, key: str) -> Path:
        return Path(self.local_root).expanduser().resolve() / key.lstrip("/")

    def uri(self, key: str) -> str:
        """Full address of `key`: `s3://bucket/prefix/key` or an absolute local path."""
        if self.is_s3:
            bucket, _ = self._bucket_prefix()
            return f"s3://{bucket}/{self._s3_key(key)}"
        return str(self._local(key))

    def client(self) -> Any:
        """boto3 S3 client (through dagster-aws), created once per resource instance."""
        if self._client is None:
            self._client = S3Resource(
                region_name=self.region, endpoint_url=self.endpoint_url
            ).get_client()
        return self._client

    # -- bytes ---------------------------------------------------------------------------------
    def put_bytes(self, key: str, data: bytes) -> None:
        """Store `data` under `key`, replacing it atomically."""
        if self.is_s3:
            bucket, _ = self._bucket_prefix()
            self.client().put_object(Bucket=bucket, Key=self._s3_key(key), Body=data)
            return
        path = self._local(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get_bytes(self, key: str) -> bytes:
        """Content of the object `key` (FileNotFoundError naming the address when absent)."""
        if self.is_s3:
            bucket, _ = self._bucket_prefix()
            client = self.client()
            try:
                return client.get_object(Bucket=bucket, Key=self._s3_key(key))["Body"].read()
            except client.exceptions.NoSuchKey as exc:
                raise FileNotFoundError(f"lake object not found: {self.uri(key)}") from exc
        path = self._local(key)
        if not path.is_file():
            raise FileNotFoundError(f"lake object not found: {path}")
        return path.read_bytes()

    # -- listing -------------------------------------------------------------------------------
    def list(self, prefix: str = "") -> list[LakeObject]:
        """Every object under `prefix` (all pages), sorted by key; keys are lake-relative."""
        if self.is_s3:
            bucket, root = self._bucket_prefix()
            strip = len(root) + 1 if root else 0
            paginator = self.client().get_paginator("list_objects_v2")
            found = []
            for page in paginator.paginate(Bucket=bucket, Prefix=self._s3_key(prefix)):
                for item in page.get("Contents", []):
                    found.append(
                        LakeObject(item["Key"][strip:], item["Size"], item["LastModified"])
                    )
            return sorted(found, key=lambda o: o.key)
        root = self._local("")
        base = self._local(prefix)
        # A prefix may end mid-name, as on S3: walk from its folder and filter.
        walk_from = base if base.is_dir() else base.parent
        if not walk_from.exists():
            return []
        found = []
        for path in walk_from.rglob("*"):
            if path.is_file() and not path.name.startswith(".tmp-"):
                key = path.relative_to(root).as_posix()
                if key.startswith(prefix.lstrip("/")):
                    stat = path.stat()
                    found.append(
                        LakeObject(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))
                    )
        return sorted(found, key=lambda o: o.key)

    def exists(self, key: str) -> bool:
        """True when the object `key` exists."""
        if self.is_s3:
            bucket, _ = self._bucket_prefix()
            client = self.client()
            try:
                client.head_object(Bucket=bucket, Key=self._s3_key(key))
                return True
            except client.exceptions.ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                    return False
                raise
        return self._local(key).is_file()

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix`; returns how many were deleted."""
        objects = self.list(prefix)
        if self.is_s3:
            bucket, _ = self._bucket_prefix()
            client = self.client()
            for start in range(0, len(objects), 1000):
                batch = objects[start : start + 1000]
                client.delete_objects(
                    Bucket=bucket,
                    Delete={
                        "Objects": [{"Key": self._s3_key(o.key)} for o in batch],
                        "Quiet": True,
                    },
                )
            return len(objects)
        for obj in objects:
            self._local(obj.key).unlink(missing_ok=True)
        base = self._local(prefix)
        if base.is_dir() and not any(base.rglob("*")):
            shutil.rmtree(base, ignore_errors=True)
        return len(objects)

    # -- parquet -------------------------------------------------------------------------------
    def write_parquet(self, key: str, frame: pd.DataFrame) -> int:
        """Write `frame` as one parquet object; returns the bytes written."""
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        data = buffer.getvalue()
        self.put_bytes(key, data)
        return len(data)

    def read_parquet(self, key_or_prefix: str) -> pd.DataFrame:
        """Read one parquet object, or every `.parquet` object under a prefix, as one frame."""
        if key_or_prefix.endswith(".parquet"):
            return pq.read_table(io.BytesIO(self.get_bytes(key_or_prefix))).to_pandas()
        keys = [o.key for o in self.list(key_or_prefix) if o.key.endswith(".parquet")]
        if not keys:
            raise FileNotFoundError(f"no parquet objects under {self.uri(key_or_prefix)}")
        tables = [pq.read_table(io.BytesIO(self.get_bytes(k))) for k in keys]
        return pa.concat_tables(tables, promote_options="default").to_pandas()
