"""Static reference data: road segments, speed bumps and the weighted road grade (no Dagster)."""

import io

import numpy as np
import pandas as pd

from pothole_assets.geo import ROAD_NETWORK_COLUMNS

ROAD_SEGMENTS_KEY = "road-network/road_network_863.csv"
ROAD_LINKS_KEY = "road-network/road_links_863.csv"
SPEED_BUMPS_KEY = "speed-bump/yeosu_provincial_road_speed_bump_data.csv"

# Korean headers of the provincial speed-bump file; only latitude, longitude and length are used.
BUMP_LAT, BUMP_LON, BUMP_WIDTH, BUMP_LENGTH, BUMP_ROAD_TYPE = (
    "WGS84위도",
    "WGS84경도",
    "과속방지턱폭",
    "과속방지턱연장",
    "도로유형구분",
)

VALID_LON = (124.0, 132.0)
VALID_LAT = (33.0, 43.0)


class ReferenceDataError(ValueError):
    """A reference file is missing columns or holds unusable rows."""


def _in_korea(lon: pd.Series, lat: pd.Series) -> pd.Series:
    return lon.between(*VALID_LON) & lat.between(*VALID_LAT)


def parse_road_segments(data: bytes, source: str = ROAD_SEGMENTS_KEY) -> pd.DataFrame:
    """Read the 50 m segment CSV; refuse missing columns, duplicate ids, positions outside Korea."""
    frame = pd.read_csv(io.BytesIO(data), dtype={"s_id": str, "link_id": str})
    missing = [c for c in ROAD_NETWORK_COLUMNS if c not in frame.columns]
    if missing:
        raise ReferenceDataError(f"{source}: missing column(s) {missing}")
    frame = frame[ROAD_NETWORK_COLUMNS].copy()
    for column in ROAD_NETWORK_COLUMNS[2:]:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    bad = frame[ROAD_NETWORK_COLUMNS[2:]].isna().any(axis=1) | frame["s_id"].isna()
    bad |= ~_in_korea(frame["start_lon"], frame["start_lat"])
    bad |= ~_in_korea(frame["end_lon"], frame["end_lat"])
    if bad.any():
        raise ReferenceDataError(
            f"{source}: {int(bad.sum())} segment row(s) with missing or out-of-range coordinates"
        )
    duplicated = frame["s_id"].duplicated()
    if duplicated.any():
        raise ReferenceDataError(f"{source}: {int(duplicated.sum())} duplicate s_id value(s)")
    return frame.reset_index(drop=True)


def parse_speed_bumps(data: bytes, source: str = SPEED_BUMPS_KEY) -> tuple[pd.DataFrame, int]:
    """Read the speed-bump CSV as (lat, lon, length_cm); returns the bumps and the unusable count.

    Rows without a position or with a non-positive length cannot veto anything and are dropped
    (and counted).
    """
    frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    missing = [c for c in (BUMP_LAT, BUMP_LON, BUMP_LENGTH) if c not in frame.columns]
    if missing:
        raise ReferenceDataError(f"{source}: missing column(s) {missing}")
    bumps = pd.DataFrame(
        {
            "lat": pd.to_numeric(frame[BUMP_LAT], errors="coerce"),
            "lon": pd.to_numeric(frame[BUMP_LON], errors="coerce"),
            "length_cm": pd.to_numeric(frame[BUMP_LENGTH], errors="coerce"),
        }
    )
    usable = bumps.notna().all(axis=1) & (bumps["length_cm"] > 0)
    usable &= _in_korea(bumps["lon"], bumps["lat"])
    return bumps[usable].reset_index(drop=True), int((~usable).sum())


# -- road grade --------------------------------------------------------------------------------
GRADE_WEIGHTS = {"road_rank": 0.30, "lanes": 0.25, "max_spd": 0.25, "road_type": 0.20}
LINK_COLUMNS = ["link_id", "road_rank", "lanes", "max_spd", "road_type"]


def _rank_score(rank: pd.Series) -> pd.Series:
    table = {101: 1, 102: 1, 103: 2, 104: 2, 105: 3, 106: 3, 107: 4, 108: 5, 109: 5}
    return pd.to_numeric(rank, errors="coerce").map(table).fillna(3)


def _lanes_score(lanes: pd.Series) -> pd.Series:
    lanes = pd.to_numeric(lanes, errors="coerce")
    return pd.Series(np.select([lanes >= 4, lanes >= 2, lanes == 1], [1, 3, 5], 3), lanes.index)


def _speed_score(speed: pd.Series) -> pd.Series:
    speed = pd.to_numeric(speed, errors="coerce").fillna(0)
    return pd.Series(
        np.select([speed >= 100, speed >= 80, speed >= 60, speed >= 40], [5, 4, 3, 2], 1),
        speed.index,
    )


def _type_score(road_type: pd.Series) -> pd.Series:
    table = {0: 3, 1: 1, 2: 4, 3: 5, 4: 2, 5: 3}
    return pd.to_numeric(road_type, errors="coerce").map(table).fillna(3)


def link_grades(links: pd.DataFrame) -> pd.DataFrame:
    """Weighted 1–5 grade per link: four attribute scores, weighted, binned into 5 equal widths."""
    missing = [c for c in LINK_COLUMNS if c not in links.columns]
    if missing:
        raise ReferenceDataError(f"{ROAD_LINKS_KEY}: missing column(s) {missing}")
    weighted = (
        _rank_score(links["road_rank"]) * GRADE_WEIGHTS["road_rank"]
        + _lanes_score(links["lanes"]) * GRADE_WEIGHTS["lanes"]
        + _speed_score(links["max_spd"]) * GRADE_WEIGHTS["max_spd"]
        + _type_score(links["road_type"]) * GRADE_WEIGHTS["road_type"]
    )
    if weighted.nunique() <= 1:
        grade = pd.Series(3, index=links.index)  # nothing to tell apart: the neutral middle grade
    else:
        grade = pd.cut(weighted, bins=5, labels=[1, 2, 3, 4, 5]).astype(int)
    return pd.DataFrame(
        {"link_id": links["link_id"].astype(str), "weighted_score": weighted, "road_grade": grade}
    )


def segment_grades(segments: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """Each segment inherits its link's grade; segments of unknown links get the neutral 3."""
    grades = link_grades(links).drop_duplicates("link_id")
    out = segments[["s_id", "link_id"]].merge(grades, on="link_id", how="left")
    out["matched"] = out["road_grade"].notna()
    out["road_grade"] = out["road_grade"].fillna(3).astype(int)
    return out[["s_id", "link_id", "road_grade", "matched"]]
