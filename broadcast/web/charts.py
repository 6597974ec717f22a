"""Horizontal bar charts as standalone SVG: no plotting library, readable in any browser and in <img>.

One job: labels and values in, an SVG document out. Text is escaped; Vietnamese diacritics render with the
viewer's sans-serif font, so nothing is rasterised here.
"""
from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

WIDTH = 760
LABEL_WIDTH = 260
VALUE_WIDTH = 90
ROW_HEIGHT = 26
TOP = 48
BAR_COLOR = "#2f6f9f"


def _number(value: float) -> str:
    """Vietnamese style: 1.234,5 (dot for thousands, comma for decimals)."""
    text = f"{value:,.2f}".rstrip("0").rstrip(".") if not float(value).is_integer() else f"{int(value):,}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def _clip(label: str, limit: int = 38) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def bar_chart_svg(title: str, bars: Sequence[tuple[str, float]], unit: str = "") -> str:
    """An SVG document with one bar per (label, value); an empty chart says there is no data."""
    height = TOP + max(len(bars), 1) * ROW_HEIGHT + 16
    plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 20
    peak = max((v for _, v in bars), default=0) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
             f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="13" role="img" '
             f'aria-label="{escape(title, {chr(34): "&quot;"})}">',
             f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
             f'<text x="12" y="26" font-size="16" font-weight="bold">{escape(title)}</text>']
    if not bars:
        parts.append(f'<text x="12" y="{TOP + 16}" fill="#666666">Không có dữ liệu trong kỳ.</text>')
    for n, (label, value) in enumerate(bars):
        y = TOP + n * ROW_HEIGHT
        length = max(value, 0) / peak * plot
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{y + 17}" text-anchor="end">{escape(_clip(label))}</text>')
        parts.append(f'<rect x="{LABEL_WIDTH}" y="{y + 4}" width="{length:.1f}" height="{ROW_HEIGHT - 8}" '
                     f'fill="{BAR_COLOR}"><title>{escape(label)}: {value} {escape(unit)}</title></rect>')
        parts.append(f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + 17}">'
                     f'{escape(_number(value))} {escape(unit)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


LINE_HEIGHT = 220
LINE_COLOR = "#b5542d"


def line_chart_svg(title: str, points: Sequence[tuple[str, float]], unit: str = "",
                   band: Sequence[tuple[float, float]] | None = None) -> str:
    """An SVG line of (label, value) points in order, with the first and last labels under the axis; `band`
    (low, high per point) shades the range each point stands for (a bucket's minimum and maximum)."""
    height, left, right, top, bottom = LINE_HEIGHT, 70, 20, 44, 40
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
             f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="13" role="img" '
             f'aria-label="{escape(title, {chr(34): "&quot;"})}">',
             f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
             f'<text x="12" y="26" font-size="16" font-weight="bold">{escape(title)}</text>']
    if not points:
        parts.append(f'<text x="12" y="{top + 20}" fill="#666666">Chưa có số liệu.</text></svg>')
        return "\n".join(parts)
    values = [v for _, v in points] + [x for pair in (band or ()) for x in pair]
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 1, high + 1

    def x(n: int) -> float:
        return left + (n / max(len(points) - 1, 1)) * plot_w

    def y(v: float) -> float:
        return top + (high - v) / (high - low) * plot_h

    if band:
        upper = " ".join(f"{x(n):.1f},{y(hi):.1f}" for n, (_, hi) in enumerate(band))
        lower = " ".join(f"{x(n):.1f},{y(lo):.1f}" for n, (lo, _) in reversed(list(enumerate(band))))
        parts.append(f'<polygon points="{upper} {lower}" fill="{LINE_COLOR}" fill-opacity="0.15"/>')
    line = " ".join(f"{x(n):.1f},{y(v):.1f}" for n, (_, v) in enumerate(points))
    parts.append(f'<polyline points="{line}" fill="none" stroke="{LINE_COLOR}" stroke-width="2"/>')
    for value in (high, low):
        parts.append(f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end">'
                     f'{escape(_number(value))} {escape(unit)}</text>')
    parts.append(f'<text x="{left}" y="{height - 14}">{escape(points[0][0])}</text>')
    parts.append(f'<text x="{WIDTH - right}" y="{height - 14}" text-anchor="end">{escape(points[-1][0])}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
