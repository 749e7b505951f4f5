"""The daily pothole email: top-5 repair priorities and key figures (no Dagster).

The map it embeds is drawn by `report_map`.
"""

import html
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


def render_html(day: date, top: pd.DataFrame, figures: dict[str, object]) -> str:
    """The HTML body: heading, key figures, the TOP 5 table and the map picture.

    A day without priorities has no report (the asset mails nothing for it), so `top` has rows.
    """
    title = f"포트홀 보수 우선순위 리포트 ({day.isoformat()})"
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
    picture = f'<h3>위치</h3><img src="cid:{MAP_CID}" alt="보수 우선순위 구간 지도" width="640">'
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
    lines = [f"포트홀 보수 우선순위 리포트 ({day.isoformat()})", "", "보수 우선순위 TOP 5"]
    for _, row in top.iterrows():
        lines.append(
            f"{int(row['priority_rank'])}. {_road_cell(row)} | {_district(row)} | "
            f"{float(row['priority_score']):.1f} | {int(row['complaint_count'])}건"
        )
    return "\n".join(lines)
