"""The daily pothole email: top-5 repair priorities, key figures and a map (no Dagster)."""

import html
import io
import math
from datetime import date

import pandas as pd

MAP_CID = "pothole-map"


def subject(day: date) -> str:
    """The report's subject line: `[포트홀 탐지] 일일 리포트 - YYYY-MM-DD`."""
    return f"[포트홀 탐지] 일일 리포트 - {day.isoformat()}"


def _road_cell(row: pd.Series) -> str:
    name = row.get("road_name")
    name = name if isinstance(name, str) and name else "-"
    return f"{name} ({float(row['centroid_lat']):.4f}, {float(row['centroid_lon']):.4f})"


def _district(row: pd.Series) -> str:
    value = row.get("district")
    return value if isinstance(value, str) and value else "-"


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | float) else 0


def _change(value: object) -> str:
    if value is None:
        return ""
    number = _int(value)
    return f" ({'+' if number >= 0 else ''}{number:,} vs 전일)"


def render_html(day: date, top: pd.DataFrame, figures: dict[str, object], with_map: bool) -> str:
    """The HTML body: heading, key figures, the TOP 5 table and the map picture."""
    title = f"포트홀 보수 우선순위 리포트 ({day.isoformat()})"
    if top.empty:
        return (
            f"<html><body><h2>{html.escape(title)}</h2>"
            f"<p>No data available for {day.isoformat()}</p></body></html>"
        )
    rows = []
    for i, (_, row) in enumerate(top.iterrows()):
        background = "#ffffff" if i % 2 == 0 else "#f8f9fa"
        cells = [
            str(int(row["priority_rank"])),
            html.escape(_road_cell(row)),
            html.escape(_district(row)),
            f"{float(row['priority_score']):.1f}",
            f"{int(row['complaint_count'])}건",
        ]
        tds = "".join(f'<td style="padding:6px;border:1px solid #dee2e6">{c}</td>' for c in cells)
        rows.append(f'<tr style="background:{background}">{tds}</tr>')
    headers = "".join(
        f'<th style="padding:6px;border:1px solid #dee2e6;background:#343a40;color:#fff">{h}</th>'
        for h in ("순위", "도로명", "관할 구역", "위험 점수", "민원")
    )
    kpi = [
        ("분석 측정값", f"{_int(figures.get('readings')):,}"),
        (
            "포트홀 충격",
            f"{_int(figures.get('impacts')):,}{_change(figures.get('impacts_change'))}",
        ),
        (
            "충격 발생 구간",
            f"{_int(figures.get('active_segments')):,}{_change(figures.get('active_change'))}",
        ),
        ("신규 민원", f"{_int(figures.get('complaints')):,}건"),
    ]
    kpi_rows = "".join(
        f"<li>{html.escape(label)}: <b>{html.escape(value)}</b></li>" for label, value in kpi
    )
    picture = (
        f'<h3>위치</h3><img src="cid:{MAP_CID}" alt="map of the top segments" width="640">'
        if with_map
        else ""
    )
    return (
        '<html><body style="font-family:sans-serif">'
        f"<h2>{html.escape(title)}</h2>"
        f"<h3>주요 지표</h3><ul>{kpi_rows}</ul>"
        "<h3>보수 우선순위 TOP 5</h3>"
        f'<table style="border-collapse:collapse"><tr>{headers}</tr>{"".join(rows)}</table>'
        f"{picture}"
        '<p style="color:#6c757d;font-size:12px">이 리포트는 자동으로 생성되었습니다.</p>'
        "</body></html>"
    )


def render_text(day: date, top: pd.DataFrame) -> str:
    """Plain-text alternative of the report."""
    if top.empty:
        return f"No data available for {day.isoformat()}"
    lines = [f"포트홀 보수 우선순위 리포트 ({day.isoformat()})", "", "보수 우선순위 TOP 5"]
    for _, row in top.iterrows():
        lines.append(
            f"{int(row['priority_rank'])}. {_road_cell(row)} | {_district(row)} | "
            f"{float(row['priority_score']):.1f} | {int(row['complaint_count'])}건"
        )
    return "\n".join(lines)


def render_map(segments: pd.DataFrame, top: pd.DataFrame, day: date) -> bytes:
    """PNG map: the road network in grey, the day's top segments as numbered red markers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    fig, ax = plt.subplots(figsize=(6.4, 6.4), dpi=100)
    try:
        lines = [
            [(a, b), (c, d)]
            for a, b, c, d in segments[["start_lon", "start_lat", "end_lon", "end_lat"]].itertuples(
                index=False
            )
        ]
        ax.add_collection(LineCollection(lines, colors="#adb5bd", linewidths=1.2))
        for _, row in top.iterrows():
            lon, lat = float(row["centroid_lon"]), float(row["centroid_lat"])
            ax.scatter([lon], [lat], s=160, color="#dc3545", zorder=3, edgecolors="white")
            ax.annotate(
                str(int(row["priority_rank"])),
                (lon, lat),
                ha="center",
                va="center",
                color="white",
                fontsize=8,
                fontweight="bold",
                zorder=4,
            )
            ax.annotate(
                str(row["s_id"]),
                (lon, lat),
                xytext=(8, 8),
                textcoords="offset points",
                fontsize=7,
                color="#212529",
            )
        ax.set_title(f"Repair priority TOP {len(top)} - {day.isoformat()}")
        ax.set_xlabel("longitude")
        ax.set_ylabel("latitude")
        # a square window in metres around the network, so the road keeps its shape
        lons = pd.concat([segments["start_lon"], segments["end_lon"]])
        lats = pd.concat([segments["start_lat"], segments["end_lat"]])
        cos_lat = max(0.2, math.cos(math.radians(float(lats.mean()))))
        half = max(float(lons.max() - lons.min()) * cos_lat, float(lats.max() - lats.min()))
        half = half * 0.55 or 0.005
        mid_lon, mid_lat = float(lons.mean()), float(lats.mean())
        ax.set_xlim(mid_lon - half / cos_lat, mid_lon + half / cos_lat)
        ax.set_ylim(mid_lat - half, mid_lat + half)
        ax.set_aspect(1 / cos_lat)
        ax.ticklabel_format(useOffset=False, style="plain")
        ax.grid(True, linewidth=0.3)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()
    finally:
        plt.close(fig)
