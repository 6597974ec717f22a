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
