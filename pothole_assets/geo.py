"""Geometry in metres: a local projection, point-to-segment distances and a cell index.

Every distance is in metres, measured to the segment line (not in degrees to its midpoint: a degree
of longitude is about 18% shorter than a degree of latitude at 35°N), with a cutoff, and a grid of
cells keeps each lookup to a few candidates.
"""

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

EARTH_RADIUS_M = 6_371_008.8
M_PER_DEG = math.pi / 180.0 * EARTH_RADIUS_M
# Columns of the road network file: one row per 50 m segment of a link.
ROAD_NETWORK_COLUMNS = ["s_id", "link_id", "start_lon", "start_lat", "end_lon", "end_lat"]


@dataclass(frozen=True)
class LocalProjection:
    """Equirectangular projection around a reference point: metres east (x) and north (y).

    Over a region of ~100 km the scale error is below 1%, far less than GPS noise.
    """

    lon0: float
    lat0: float

    @property
    def kx(self) -> float:
        """Metres per degree of longitude at the reference latitude."""
        return M_PER_DEG * math.cos(math.radians(self.lat0))

    @property
    def ky(self) -> float:
        """Metres per degree of latitude."""
        return M_PER_DEG

    def to_xy(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project degrees to metres."""
        return (np.asarray(lon) - self.lon0) * self.kx, (np.asarray(lat) - self.lat0) * self.ky

    def to_lonlat(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inverse of `to_xy`."""
        return np.asarray(x) / self.kx + self.lon0, np.asarray(y) / self.ky + self.lat0

    @classmethod
    def for_segments(cls, segments: pd.DataFrame) -> "LocalProjection":
        """A projection centred on a road network."""
        lon = pd.concat([segments["start_lon"], segments["end_lon"]])
        lat = pd.concat([segments["start_lat"], segments["end_lat"]])
        return cls(float((lon.min() + lon.max()) / 2), float((lat.min() + lat.max()) / 2))


def with_midpoints(segments: pd.DataFrame) -> pd.DataFrame:
    """Segments plus `centroid_lon/lat` (the midpoint) and `length_m`."""
    out = segments.copy()
    out["centroid_lon"] = (out["start_lon"] + out["end_lon"]) / 2
    out["centroid_lat"] = (out["start_lat"] + out["end_lat"]) / 2
    proj = LocalProjection.for_segments(out)
    ax, ay = proj.to_xy(out["start_lon"].to_numpy(), out["start_lat"].to_numpy())
    bx, by = proj.to_xy(out["end_lon"].to_numpy(), out["end_lat"].to_numpy())
    out["length_m"] = np.hypot(bx - ax, by - ay)
    return out


def point_segment_distance(
    px: np.ndarray,
    py: np.ndarray,
    ax: np.ndarray,
    ay: np.ndarray,
    bx: np.ndarray,
    by: np.ndarray,
) -> np.ndarray:
    """Distance from points to line segments (all in metres, broadcasting)."""
    dx, dy = bx - ax, by - ay
    len2 = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(len2 > 0, ((px - ax) * dx + (py - ay) * dy) / np.where(len2 > 0, len2, 1), 0)
    t = np.clip(t, 0.0, 1.0)
    return np.hypot(px - (ax + t * dx), py - (ay + t * dy))


def nearest_segments(
    segments: pd.DataFrame,
    lon: np.ndarray,
    lat: np.ndarray,
    chunk: int = 512,
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest segment id and its distance in metres for each point (exact, chunked brute force).

    Meant for small point sets (complaints); Stage 2 uses the cell index in Spark instead.
    """
    proj = LocalProjection.for_segments(segments)
    ax, ay = proj.to_xy(segments["start_lon"].to_numpy(), segments["start_lat"].to_numpy())
    bx, by = proj.to_xy(segments["end_lon"].to_numpy(), segments["end_lat"].to_numpy())
    px, py = proj.to_xy(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    ids = segments["s_id"].to_numpy()
    best_id = np.empty(len(px), dtype=object)
    best_d = np.empty(len(px), dtype=float)
    for start in range(0, len(px), chunk):
        sl = slice(start, start + chunk)
        d = point_segment_distance(
            px[sl, None], py[sl, None], ax[None, :], ay[None, :], bx[None, :], by[None, :]
        )
        idx = d.argmin(axis=1)
        best_id[sl] = ids[idx]
        best_d[sl] = d[np.arange(len(idx)), idx]
    return best_id, best_d


def segment_cells(
    segments: pd.DataFrame, proj: LocalProjection, max_distance_m: float, cell_m: float
) -> pd.DataFrame:
    """One row per (cell, segment) for every cell within `max_distance_m` of a segment's box.

    A point in cell (cx, cy) can only be within `max_distance_m` of the segments listed for that
    cell, so the nearest-segment search only looks at those candidates.
    """
    ax, ay = proj.to_xy(segments["start_lon"].to_numpy(), segments["start_lat"].to_numpy())
    bx, by = proj.to_xy(segments["end_lon"].to_numpy(), segments["end_lat"].to_numpy())
    x0 = np.floor((np.minimum(ax, bx) - max_distance_m) / cell_m).astype(np.int64)
    x1 = np.floor((np.maximum(ax, bx) + max_distance_m) / cell_m).astype(np.int64)
    y0 = np.floor((np.minimum(ay, by) - max_distance_m) / cell_m).astype(np.int64)
    y1 = np.floor((np.maximum(ay, by) + max_distance_m) / cell_m).astype(np.int64)
    rows: dict[str, list] = {k: [] for k in ("cx", "cy", "s_id", "ax", "ay", "bx", "by")}
    ids = segments["s_id"].to_numpy()
    for i in range(len(ids)):
        xs = np.arange(x0[i], x1[i] + 1)
        ys = np.arange(y0[i], y1[i] + 1)
        gx, gy = np.meshgrid(xs, ys)
        n = gx.size
        rows["cx"].append(gx.ravel())
        rows["cy"].append(gy.ravel())
        rows["s_id"].append(np.repeat(ids[i], n))
        for key, value in (("ax", ax[i]), ("ay", ay[i]), ("bx", bx[i]), ("by", by[i])):
            rows[key].append(np.full(n, value))
    if not len(ids):
        return pd.DataFrame({k: pd.Series(dtype="float64") for k in rows})
    return pd.DataFrame({k: np.concatenate(v) for k, v in rows.items()})


# -- speed bumps ------------------------------------------------------------------------------
# The veto box's tolerance: half the bump length (cm) in metres, expressed in degrees.
BUMP_DEG_PER_CM = 1.0 / (2 * 100 * 111_000)


def bump_cells(bumps: pd.DataFrame, cell_deg: float) -> pd.DataFrame:
    """One row per (cell, bump) for every degree-cell a bump's veto box can reach.

    The veto box of a bump of length L cm is |Δlat| ≤ L·F and |Δlon|·cos(lat) ≤ L·F with
    F = 1/(2·100·111000); a point can only fall inside it from the cells listed here.
    """
    lat = bumps["lat"].to_numpy(dtype=float)
    lon = bumps["lon"].to_numpy(dtype=float)
    half = bumps["length_cm"].to_numpy(dtype=float) * BUMP_DEG_PER_CM
    # Widest longitude reach: at the highest latitude of the box cos(lat) is smallest.
    half_lon = half / np.cos(np.radians(np.minimum(np.abs(lat) + half, 89.0)))
    rows: dict[str, list] = {k: [] for k in ("cy", "cx", "bump_lat", "bump_lon", "half_deg")}
    for i in range(len(lat)):
        ys = np.arange(
            math.floor((lat[i] - half[i]) / cell_deg), math.floor((lat[i] + half[i]) / cell_deg) + 1
        )
        xs = np.arange(
            math.floor((lon[i] - half_lon[i]) / cell_deg),
            math.floor((lon[i] + half_lon[i]) / cell_deg) + 1,
        )
        gy, gx = np.meshgrid(ys, xs)
        n = gy.size
        rows["cy"].append(gy.ravel())
        rows["cx"].append(gx.ravel())
        rows["bump_lat"].append(np.full(n, lat[i]))
        rows["bump_lon"].append(np.full(n, lon[i]))
        rows["half_deg"].append(np.full(n, half[i]))
    if not len(lat):
        return pd.DataFrame({k: pd.Series(dtype="float64") for k in rows})
    return pd.DataFrame({k: np.concatenate(v) for k, v in rows.items()})
