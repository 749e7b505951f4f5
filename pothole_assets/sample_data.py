"""Deterministic sample data: a road-863-like network, speed bumps, complaints and raw sensor days.

Potholes and bumps are planted at known places so the pipeline's results can be checked: a
pothole gives a main shock of 5–15 m/s² × intensity (0.5–2.0), a 0.6× second shock and decaying
after-shocks; a bump gives a one-sample 3–8 m/s² spike recorded where the bump is. Sampling is
10 Hz with 10 points per 50 m segment.
"""

import hashlib
import io
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pothole_assets.geo import LocalProjection
from pothole_assets.raw_layout import MEASURE_COLUMNS, RAW_COLUMNS
from pothole_assets.reference import (
    BUMP_LAT,
    BUMP_LENGTH,
    BUMP_LON,
    BUMP_ROAD_TYPE,
    BUMP_WIDTH,
)
from resources.kst import KST

SEGMENT_M = 50.0
POINTS_PER_SEGMENT = 10
SAMPLING_MS = 100
# Device noise profiles: accelerometer (m/s²), gyroscope (°/s). GPS noise is kept at ~1 m so a
# bump's spike lands inside its veto box (half the bump length).
DEVICE_NOISE = {"OBD2": (0.3, 0.08), "DTG": (0.5, 0.12)}
GPS_NOISE_M = 0.7

RAW_ARROW_SCHEMA = pa.schema(
    [("timestamp", pa.int64()), ("trip_id", pa.string()), ("vehicle_id", pa.string())]
    + [(c, pa.float64()) for c in MEASURE_COLUMNS]
    + [("satellites", pa.int32())]
)


def _seed(*parts: object) -> int:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little")


@dataclass
class SampleNetwork:
    """The generated road, its link attributes, bumps and planted potholes."""

    segments: pd.DataFrame
    links: pd.DataFrame
    bumps: pd.DataFrame  # in the provincial file's layout (Korean headers)
    potholes: pd.DataFrame  # s_id, fraction along the segment, intensity
    projection: LocalProjection
    xy: dict[str, np.ndarray] = field(repr=False, default_factory=dict)


def build_network(links: int = 12, link_m: float = 1_250.0, seed: int = 863) -> SampleNetwork:
    """A winding road of `links` links inside road 863's box, cut into 50 m segments."""
    rng = np.random.default_rng(seed)
    proj = LocalProjection(127.65, 34.78)
    # Walk a smooth polyline northwards with vertices every 250 m.
    step = 250.0
    n_vertices = int(links * link_m / step) + 1
    heading = math.radians(20.0)
    x, y = [-8_000.0], [-25_000.0]
    for _ in range(n_vertices - 1):
        heading += rng.normal(0.0, 0.18)
        heading = min(max(heading, math.radians(-40)), math.radians(70))
        x.append(x[-1] + step * math.sin(heading))
        y.append(y[-1] + step * math.cos(heading))
    vx, vy = np.array(x), np.array(y)
    seg_rows, link_rows = [], []
    per_link = int(link_m / step)
    for li in range(links):
        link_id = f"32500{10000 + li * 7:05d}"
        lx = vx[li * per_link : (li + 1) * per_link + 1]
        ly = vy[li * per_link : (li + 1) * per_link + 1]
        cum = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(lx), np.diff(ly)))])
        cuts = np.append(np.arange(0.0, cum[-1], SEGMENT_M), cum[-1])
        px, py = np.interp(cuts, cum, lx), np.interp(cuts, cum, ly)
        lon, lat = proj.to_lonlat(px, py)
        for seq in range(len(cuts) - 1):
            if cuts[seq + 1] - cuts[seq] < 1.0:
                continue
            seg_rows.append(
                {
                    "s_id": f"{link_id}_{seq:04d}",
                    "link_id": link_id,
                    "start_lon": round(float(lon[seq]), 6),
                    "start_lat": round(float(lat[seq]), 6),
                    "end_lon": round(float(lon[seq + 1]), 6),
                    "end_lat": round(float(lat[seq + 1]), 6),
                }
            )
        link_rows.append(
            {
                "link_id": link_id,
                "road_rank": int(rng.choice([103, 104, 105, 106, 107])),
                "lanes": int(rng.choice([1, 2, 2, 4])),
                "max_spd": int(rng.choice([40, 60, 60, 80])),
                "road_type": int(rng.choice([0, 1, 2, 3])),
            }
        )
    segments = pd.DataFrame(seg_rows)
    ax, ay = proj.to_xy(segments["start_lon"].to_numpy(), segments["start_lat"].to_numpy())
    bx, by = proj.to_xy(segments["end_lon"].to_numpy(), segments["end_lat"].to_numpy())

    n = len(segments)
    # Bumps: about one per 600 m; potholes on ~4% of the other segments.
    bump_idx = np.sort(rng.choice(n, size=max(1, n // 12), replace=False))
    bump_frac = rng.uniform(0.2, 0.8, len(bump_idx))
    blon, blat = proj.to_lonlat(
        ax[bump_idx] + bump_frac * (bx[bump_idx] - ax[bump_idx]),
        ay[bump_idx] + bump_frac * (by[bump_idx] - ay[bump_idx]),
    )
    bumps = pd.DataFrame(
        {
            "_c0": np.arange(len(bump_idx)),
            BUMP_LAT: np.round(blat, 7),
            BUMP_LON: np.round(blon, 7),
            BUMP_WIDTH: rng.choice([300, 330, 360], len(bump_idx)),
            BUMP_LENGTH: rng.choice([360, 400, 450], len(bump_idx)),
            BUMP_ROAD_TYPE: "지방도",
        }
    )
    candidates = np.setdiff1d(np.arange(n), bump_idx)
    hole_idx = np.sort(rng.choice(candidates, size=max(1, n // 25), replace=False))
    potholes = pd.DataFrame(
        {
            "s_id": segments["s_id"].to_numpy()[hole_idx],
            "fraction": rng.uniform(0.25, 0.75, len(hole_idx)),
            "intensity": rng.uniform(0.5, 2.0, len(hole_idx)),
        }
    )
    return SampleNetwork(
        segments=segments,
        links=pd.DataFrame(link_rows),
        bumps=bumps,
        potholes=potholes,
        projection=proj,
        xy={
            "ax": ax,
            "ay": ay,
            "bx": bx,
            "by": by,
            "bump_idx": bump_idx,
            "bump_frac": bump_frac,
            "hole_idx": hole_idx,
        },
    )


def generate_day(
    network: SampleNetwork,
    day: date,
    readings: int = 30_000,
    off_road_share: float = 0.01,
    invalid_share: float = 0.0005,
) -> pd.DataFrame:
    """Raw sensor readings of one KST day (about `readings` rows), deterministic per day."""
    rng = np.random.default_rng(_seed("raw", day.isoformat(), len(network.segments)))
    xy = network.xy
    ax, ay, bx, by = xy["ax"], xy["ay"], xy["bx"], xy["by"]
    n_seg = len(ax)
    hole_at = dict(zip(xy["hole_idx"].tolist(), network.potholes.itertuples(index=False)))
    bump_at = dict(zip(xy["bump_idx"].tolist(), xy["bump_frac"].tolist()))
    day_start_ms = int(datetime(day.year, day.month, day.day, tzinfo=KST).timestamp() * 1000)
    frames: list[dict[str, np.ndarray]] = []
    total = 0
    while total < readings:
        length = int(np.clip(rng.lognormal(math.log(30), 0.5), 10, 100))
        length = min(length, n_seg)
        first = int(rng.integers(0, n_seg - length + 1))
        idx = np.arange(first, first + length)
        if rng.random() < 0.5:
            idx = idx[::-1]
        forward = idx[0] <= idx[-1]
        k = np.tile(np.arange(POINTS_PER_SEGMENT), length)
        seg = np.repeat(idx, POINTS_PER_SEGMENT)
        frac = (k + 0.5) / POINTS_PER_SEGMENT
        if not forward:
            frac = 1.0 - frac
        px = ax[seg] + frac * (bx[seg] - ax[seg])
        py = ay[seg] + frac * (by[seg] - ay[seg])
        m = len(seg)
        device = "OBD2" if rng.random() < 0.6 else "DTG"
        acc_noise, gyr_noise = DEVICE_NOISE[device]
        speed = np.clip(rng.uniform(35, 80) + rng.normal(0, 3, m).cumsum() * 0.1, 20, 110)
        speed[:POINTS_PER_SEGMENT] = rng.uniform(2, 6)  # pulling away: filtered out by speed
        acc = rng.normal(0, acc_noise, (m, 3))
        acc[:, 2] += 9.81
        gyr = rng.normal(0, gyr_noise, (m, 3))
        hdop = rng.uniform(0.8, 3.0, m)
        hdop[rng.random(m) < 0.01] = rng.uniform(5.5, 9.0)
        sats = rng.integers(6, 13, m).astype(np.int32)
        sats[rng.random(m) < 0.005] = 3
        # Potholes: the sample nearest the hole takes the main shock, then 0.6x and after-shocks.
        for j, s in enumerate(idx):
            hole = hole_at.get(int(s))
            if hole is not None:
                base = j * POINTS_PER_SEGMENT
                pos = hole.fraction if forward else 1.0 - hole.fraction
                hit = base + min(POINTS_PER_SEGMENT - 1, int(pos * POINTS_PER_SEGMENT))
                if speed[hit] > 10:
                    shock = rng.uniform(5, 15) * hole.intensity
                    train = [1.0, 0.6] + [0.3**p for p in range(1, int(rng.integers(2, 4)) + 1)]
                    for off, factor in enumerate(train):
                        if hit + off < m:
                            sign = -1.0 if off % 2 else 1.0
                            acc[hit + off, 2] += sign * shock * factor
                            gyr[hit + off, 1] += sign * shock * factor * 0.4
            bump = bump_at.get(int(s))
            if bump is not None:
                base = j * POINTS_PER_SEGMENT
                pos = bump if forward else 1.0 - bump
                hit = base + min(POINTS_PER_SEGMENT - 1, int(pos * POINTS_PER_SEGMENT))
                if speed[hit] > 20:
                    spike = rng.uniform(3, 8) * (1.5 if device == "DTG" else 1.0)
                    acc[hit, 2] += spike
                    gyr[hit, 1] += spike * 0.3
                    # the spike is recorded where the wheel meets the bump
                    px[hit] = ax[s] + bump * (bx[s] - ax[s])
                    py[hit] = ay[s] + bump * (by[s] - ay[s])
        px = px + rng.normal(0, GPS_NOISE_M, m)
        py = py + rng.normal(0, GPS_NOISE_M, m)
        if rng.random() < off_road_share * 10:
            # a stop at a rest area ~80 m off the road: these points belong to no segment
            start = int(rng.integers(POINTS_PER_SEGMENT, max(POINTS_PER_SEGMENT + 1, m - 20)))
            px[start : start + 20] += 80.0
        lon, lat = network.projection.to_lonlat(px, py)
        bad = rng.random(m) < invalid_share
        lon[bad], lat[bad] = 0.0, 0.0  # GPS cold start: (0, 0) fixes
        vehicle = f"v{int(rng.integers(0, 100)):03d}"
        duration_ms = m * SAMPLING_MS
        start_ms = day_start_ms + int(rng.integers(0, 86_400_000 - duration_ms - 3_600_000))
        trip_id = f"TRIP-{day:%Y%m%d}-{vehicle}-{(start_ms // 1000) % 10000:04d}"
        frames.append(
            {
                "timestamp": start_ms + np.arange(m, dtype=np.int64) * SAMPLING_MS,
                "trip_id": np.repeat(trip_id, m),
                "vehicle_id": np.repeat(vehicle, m),
                "accel_x": acc[:, 0],
                "accel_y": acc[:, 1],
                "accel_z": acc[:, 2],
                "gyro_x": gyr[:, 0],
                "gyro_y": gyr[:, 1],
                "gyro_z": gyr[:, 2],
                "velocity": speed,
                "lon": lon,
                "lat": lat,
                "hdop": hdop,
                "satellites": sats,
            }
        )
        total += m
    return pd.DataFrame({c: np.concatenate([f[c] for f in frames]) for c in RAW_COLUMNS})


def raw_day_files(frame: pd.DataFrame, merge_trips: int = 2000) -> list[tuple[str, bytes]]:
    """The day as `merged_NNNN.parquet` files (Snappy) of `merge_trips` trips each."""
    trips = pd.unique(frame["trip_id"])
    files = []
    for n, start in enumerate(range(0, len(trips), merge_trips)):
        part = frame[frame["trip_id"].isin(set(trips[start : start + merge_trips]))]
        table = pa.Table.from_pandas(part, schema=RAW_ARROW_SCHEMA, preserve_index=False)
        sink = io.BytesIO()
        pq.write_table(table, sink, compression="snappy")
        files.append((f"merged_{n:04d}.parquet", sink.getvalue()))
    return files


def complaints_for(network: SampleNetwork, day_from: date, day_to: date) -> pd.DataFrame:
    """Citizen pothole complaints (create_dt, event_lat, event_lon), deterministic per day.

    Most are reported near planted potholes; some are far from the road (another road).
    """
    xy = network.xy
    rows = []
    day = day_from
    while day <= day_to:
        rng = np.random.default_rng(_seed("complaints", day.isoformat()))
        for _ in range(int(rng.poisson(0.8))):
            if rng.random() < 0.8:
                i = int(rng.choice(xy["hole_idx"]))
                f = rng.uniform(0, 1)
                x = xy["ax"][i] + f * (xy["bx"][i] - xy["ax"][i]) + rng.normal(0, 15)
                y = xy["ay"][i] + f * (xy["by"][i] - xy["ay"][i]) + rng.normal(0, 15)
            else:
                x = xy["ax"].mean() + rng.uniform(2_000, 6_000) * rng.choice([-1, 1])
                y = xy["ay"].mean() + rng.uniform(-5_000, 5_000)
            lon, lat = network.projection.to_lonlat(np.array([x]), np.array([y]))
            hour, minute = int(rng.integers(7, 22)), int(rng.integers(0, 60))
            rows.append(
                {
                    "create_dt": f"{day:%Y-%m-%d} {hour:02d}:{minute:02d}:00",
                    "event_lat": round(float(lat[0]), 6),
                    "event_lon": round(float(lon[0]), 6),
                }
            )
        day += timedelta(days=1)
    return pd.DataFrame(rows, columns=["create_dt", "event_lat", "event_lon"])


def district_for(lat: float) -> str:
    """Sample district by latitude band (Yeosu south, then Suncheon, then Gwangyang)."""
    if lat < 34.75:
        return "여수시"
    if lat < 34.9:
        return "순천시"
    return "광양시"
