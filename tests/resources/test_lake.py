import pandas as pd
import pytest

from resources.lake import LakeResource


@pytest.fixture(params=["s3", "local"])
def lake(request: pytest.FixtureRequest) -> LakeResource:
    return request.getfixturevalue("s3_lake" if request.param == "s3" else "local_lake")


def test_parquet_round_trip(lake: LakeResource) -> None:
    frame = pd.DataFrame({"trip": ["a", "b"], "z": [1.5, -2.25], "n": [1, 2]})
    lake.write_parquet("stage/dt=2024-01-01/part-0.parquet", frame)
    lake.write_parquet("stage/dt=2024-01-01/part-1.parquet", frame.assign(n=[3, 4]))
    lake.write_parquet("stage/dt=2024-01-02/part-0.parquet", frame)
    assert lake.exists("stage/dt=2024-01-01/part-0.parquet")
    assert not lake.exists("stage/dt=2024-01-01/part-9.parquet")
    one = lake.read_parquet("stage/dt=2024-01-01/part-0.parquet")
    pd.testing.assert_frame_equal(one, frame)
    day = lake.read_parquet("stage/dt=2024-01-01/")
    assert sorted(day["n"]) == [1, 2, 3, 4]
    with pytest.raises(FileNotFoundError, match="dt=2024-01-09"):
        lake.read_parquet("stage/dt=2024-01-09/")


def test_listing_pages_past_one_thousand_objects_and_delete_prefix(lake: LakeResource) -> None:
    for i in range(1105):
        lake.put_bytes(f"raw/dt=2024-01-01/obj-{i:05d}.bin", b"x" * (i % 7))
    lake.put_bytes("raw/dt=2024-01-02/keep.bin", b"keep")
    listed = lake.list("raw/dt=2024-01-01/")
    assert len(listed) == 1105
    assert listed[0].key == "raw/dt=2024-01-01/obj-00000.bin"
    assert sum(o.size for o in listed) == sum(i % 7 for i in range(1105))
    assert lake.delete_prefix("raw/dt=2024-01-01/") == 1105
    assert lake.list("raw/dt=2024-01-01/") == []
    assert [o.key for o in lake.list("raw/")] == ["raw/dt=2024-01-02/keep.bin"]
    assert lake.get_bytes("raw/dt=2024-01-02/keep.bin") == b"keep"


def test_missing_object_is_named(lake: LakeResource) -> None:
    with pytest.raises(FileNotFoundError, match="nothing-here.bin"):
        lake.get_bytes("nothing-here.bin")


def test_s3_keys_live_under_the_configured_prefix(s3_lake: LakeResource) -> None:
    s3_lake.put_bytes("a/b.txt", b"1")
    bucket = s3_lake.url.split("/")[2]
    keys = [o["Key"] for o in s3_lake.client().list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["data/a/b.txt"]
    assert s3_lake.uri("a/b.txt") == f"s3://{bucket}/data/a/b.txt"
