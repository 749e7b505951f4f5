"""The report's map: the top segments on the road network, in Korean, with a scale (no Dagster).

No tile server is reachable, so the map is drawn from what the platform holds: the road network
(`road_segments`, every 50 m segment), the road names and districts Kakao gave the segments
(`segment_address`), and the day's top priorities with the road name the report's table shows.
Coordinates are projected to metres around the points, so the scale bar is exact and roads keep
their shape. Hangul is drawn with NanumGothic, shipped by the `koreanize-matplotlib` package.
"""

import importlib.util
import io
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib import font_manager, patheffects
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Annotation, Text
from matplotlib.transforms import Bbox
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

from pothole_assets.geo import LocalProjection

FONT_PACKAGE = "koreanize_matplotlib"
FONT_FILE = "NanumGothic.ttf"
BOLD_FONT_FILE = "NanumGothicBold.ttf"
# The window shows at least this many metres around the points, so their surroundings show.
MIN_HALF_WINDOW_M = 1_500.0
SCALE_STEPS_M = (50, 100, 200, 250, 500, 1_000, 2_000, 2_500, 5_000, 10_000, 20_000, 50_000)
# Label offsets (points) tried in turn until a label overlaps no other label, point or edge.
LABEL_OFFSETS = tuple(
    (dx * r, dy * r)
    for r in (1, 2, 3)
    for dx, dy in ((14, 10), (14, -18), (-14, 10), (-14, -18), (0, 18), (0, -26))
)
NETWORK_COLOUR = "#868e96"
POINT_COLOUR = "#dc3545"


def hangul_font_path(file: str = FONT_FILE) -> Path:
    """A packaged NanumGothic file (regular unless named).

    The package is located, not imported: importing it would change matplotlib's global
    settings for every plot in the process.
    """
    spec = importlib.util.find_spec(FONT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"pothole report map: the font package {FONT_PACKAGE!r} is not installed "
            "(it is a dependency of the project: run `uv sync`)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "fonts" / file
    if not path.is_file():
        raise RuntimeError(f"pothole report map: {path} is missing from {FONT_PACKAGE}")
    return path


def hangul_font() -> font_manager.FontProperties:
    """The Hangul font (regular and bold registered with matplotlib once)."""
    known = {Path(f.fname).name for f in font_manager.fontManager.ttflist}
    for file in (FONT_FILE, BOLD_FONT_FILE):
        if file not in known:
            font_manager.fontManager.addfont(str(hangul_font_path(file)))
    return font_manager.FontProperties(fname=str(hangul_font_path()))


def point_label(row: pd.Series) -> str:
    """`1위 국도863호선 (여수시)`: the rank and the road name and district the table shows.

    Without a road name the label falls back to the table's coordinates.
    """
    name = row.get("road_name")
    district = row.get("district")
    where = (
        name
        if isinstance(name, str) and name
        else f"({float(row['centroid_lat']):.4f}, {float(row['centroid_lon']):.4f})"
    )
    if isinstance(district, str) and district:
        where = f"{where} ({district})"
    return f"{int(row['priority_rank'])}위 {where}"


def scale_length(window_m: float) -> int:
    """The longest round length (m) that fits in a quarter of the map's width."""
    fitting = [s for s in SCALE_STEPS_M if s <= window_m / 4]
    return fitting[-1] if fitting else SCALE_STEPS_M[0]


def scale_text(metres: int) -> str:
    """`500 m`, `1 km`, `2.5 km`."""
    return f"{metres} m" if metres < 1_000 else f"{metres / 1000:g} km"


@dataclass
class MapFrame:
    """The projected network and points, and the square window around the points."""

    proj: LocalProjection
    network: np.ndarray  # (n, 2, 2) segment end points in metres
    points: pd.DataFrame  # top rows with x, y
    half: float

    @classmethod
    def build(cls, segments: pd.DataFrame, top: pd.DataFrame) -> "MapFrame":
        """Project everything around the centre of the points."""
        lon, lat = top["centroid_lon"].astype(float), top["centroid_lat"].astype(float)
        proj = LocalProjection(
            float((lon.min() + lon.max()) / 2), float((lat.min() + lat.max()) / 2)
        )
        ax, ay = proj.to_xy(segments["start_lon"].to_numpy(), segments["start_lat"].to_numpy())
        bx, by = proj.to_xy(segments["end_lon"].to_numpy(), segments["end_lat"].to_numpy())
        px, py = proj.to_xy(lon.to_numpy(), lat.to_numpy())
        spread = max(float(np.ptp(px)), float(np.ptp(py)))
        half = max(MIN_HALF_WINDOW_M, spread / 2 * 1.3)
        network = np.stack([np.column_stack([ax, ay]), np.column_stack([bx, by])], axis=1)
        return cls(proj, network, top.assign(x=px, y=py), half)

    def inside(self, x: np.ndarray, y: np.ndarray, margin: float = 0.9) -> np.ndarray:
        """Which positions lie well inside the window."""
        limit = self.half * margin
        return (np.abs(x) <= limit) & (np.abs(y) <= limit)


def place_point_labels(
    ax: Axes, points: pd.DataFrame, family: str, taken: list[Bbox]
) -> list[Annotation]:
    """Label each point at the first offset where its label overlaps nothing placed yet.

    `taken` holds what labels must not cover (points, road names, scale bar); the boxes are in
    display units, so the axes' aspect is applied first.
    """
    renderer = ax.figure.canvas.get_renderer()
    ax.apply_aspect()
    frame = ax.get_window_extent(renderer)
    taken = taken + [
        Bbox.from_bounds(x - 9, y - 9, 18, 18)
        for x, y in ax.transData.transform(points[["x", "y"]].to_numpy())
    ]
    labels = []
    for _, row in points.iterrows():
        label, box = None, None
        for offset in LABEL_OFFSETS:
            if label is not None:
                label.remove()
            label = ax.annotate(
                point_label(row),
                (row["x"], row["y"]),
                xytext=offset,
                textcoords="offset points",
                family=family,
                fontsize=8,
                color="#212529",
                ha="left" if offset[0] > 0 else "right" if offset[0] < 0 else "center",
                va="center",
                zorder=5,
                gid="point-label",
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "#ced4da", "alpha": 0.9},
                arrowprops={"arrowstyle": "-", "color": "#adb5bd", "lw": 0.8, "shrinkB": 8},
            )
            # the text's own box, padded for its frame (an Annotation's box includes its leader)
            label.update_positions(renderer)
            box = Text.get_window_extent(label, renderer).padded(3)
            inside = frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1)
            if inside and not any(box.overlaps(other) for other in taken):
                break
        taken.append(box)
        labels.append(label)
    return labels


def road_name_labels(
    frame: MapFrame, segments: pd.DataFrame, addresses: pd.DataFrame
) -> list[tuple[str, float, float, float]]:
    """(road name, x, y, angle) once per named road in the window, away from the points."""
    if addresses.empty:
        return []
    mid = frame.network.mean(axis=1)
    placed = pd.DataFrame(
        {
            "s_id": segments["s_id"].to_numpy(),
            "x": mid[:, 0],
            "y": mid[:, 1],
            "dx": frame.network[:, 1, 0] - frame.network[:, 0, 0],
            "dy": frame.network[:, 1, 1] - frame.network[:, 0, 1],
        }
    ).merge(addresses[["s_id", "road_name"]].dropna(), on="s_id")
    placed = placed[frame.inside(placed["x"].to_numpy(), placed["y"].to_numpy(), 0.8)]
    px, py = frame.points["x"].to_numpy(), frame.points["y"].to_numpy()
    placed["clearance"] = np.hypot(
        placed["x"].to_numpy()[:, None] - px[None, :], placed["y"].to_numpy()[:, None] - py[None, :]
    ).min(axis=1)
    labels = []
    for name, group in placed.groupby("road_name", sort=True):
        row = group.loc[group["clearance"].idxmax()]
        angle = math.degrees(math.atan2(row["dy"], row["dx"]))
        angle = angle - 180 if angle > 90 else angle + 180 if angle < -90 else angle
        labels.append((str(name), float(row["x"]), float(row["y"]), angle))
    return labels


def _draw_network(
    ax: Axes, frame: MapFrame, segments: pd.DataFrame, addresses: pd.DataFrame, family: str
) -> list[Text]:
    """The road network's segments, and each road's name once."""
    ax.add_collection(
        LineCollection(frame.network, colors=NETWORK_COLOUR, linewidths=2.0, zorder=1)
    )
    return [
        ax.text(
            x,
            y,
            name,
            family=family,
            fontsize=8,
            color="#495057",
            rotation=angle,
            rotation_mode="anchor",
            ha="center",
            va="bottom",
            zorder=2,
            gid="road-name",
            path_effects=[patheffects.withStroke(linewidth=3, foreground="white")],
        )
        for name, x, y, angle in road_name_labels(frame, segments, addresses)
    ]


def _draw_points(ax: Axes, points: pd.DataFrame, family: str) -> None:
    """Red discs numbered with their rank."""
    ax.scatter(points["x"], points["y"], s=220, color=POINT_COLOUR, edgecolors="white", zorder=3)
    for _, row in points.iterrows():
        ax.text(
            row["x"],
            row["y"],
            str(int(row["priority_rank"])),
            family=family,
            ha="center",
            va="center",
            color="white",
            fontsize=8,
            fontweight="semibold",
            zorder=4,
        )


def _draw_furniture(
    ax: Axes, frame: MapFrame, font: font_manager.FontProperties, title: str
) -> list[Artist]:
    """Title, legend under the map, scale bar and north arrow; the last two are returned."""
    family = font.get_name()
    ax.set_title(title, family=family, fontsize=12)
    ax.legend(
        handles=[
            Line2D([], [], color=NETWORK_COLOUR, lw=2.0, label="도로망 (50 m 구간)"),
            Line2D(
                [],
                [],
                color=POINT_COLOUR,
                marker="o",
                lw=0,
                markersize=10,
                markeredgecolor="white",
                label="보수 우선순위 구간 (숫자: 순위)",
            ),
        ],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.01),
        ncol=2,
        prop=font,
        frameon=False,
    )
    metres = scale_length(2 * frame.half)
    scale = AnchoredSizeBar(
        ax.transData,
        metres,
        scale_text(metres),
        loc="lower right",
        pad=0.5,
        sep=4,
        frameon=True,
        size_vertical=frame.half / 150,
        fontproperties=font,
    )
    scale.set_gid("scale-bar")
    ax.add_artist(scale)
    north = ax.annotate(
        "북",
        xy=(0.05, 0.2),
        xytext=(0.05, 0.09),
        xycoords="axes fraction",
        ha="center",
        family=family,
        fontsize=9,
        arrowprops={"arrowstyle": "-|>", "color": "#212529"},
    )
    return [scale, north]


def build_map(
    segments: pd.DataFrame, top: pd.DataFrame, addresses: pd.DataFrame, day: date
) -> Figure:
    """The figure: network, named roads, numbered points with their labels, legend and scale."""
    font = hangul_font()
    family = font.get_name()
    frame = MapFrame.build(segments, top)
    points = frame.points.sort_values("priority_rank", kind="stable")
    fig = Figure(figsize=(6.4, 6.4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    with mpl.rc_context({"font.family": family, "axes.unicode_minus": False}):
        names = _draw_network(ax, frame, segments, addresses, family)
        _draw_points(ax, points, family)
        title = f"포트홀 보수 우선순위 TOP {len(points)} 위치 ({day.isoformat()})"
        furniture = _draw_furniture(ax, frame, font, title)
        ax.set_xlim(-frame.half, frame.half)
        ax.set_ylim(-frame.half, frame.half)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_facecolor("#f8f9fa")
        renderer = fig.canvas.get_renderer()
        ax.apply_aspect()
        taken = [a.get_window_extent(renderer) for a in [*names, *furniture]]
        place_point_labels(ax, points, family, taken)
    return fig


def render_map(
    segments: pd.DataFrame, top: pd.DataFrame, addresses: pd.DataFrame, day: date
) -> bytes:
    """The map as PNG."""
    fig = build_map(segments, top, addresses, day)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()
