"""Charts and maps drawn as SVG on the server, for PDFs (no JavaScript, no network).

Small on purpose: a line chart, a bar chart and a point map cover the reports. Output is
markup for `{{ svg|safe }}`; every label is escaped here.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

PALETTE = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#0969da")


def _frame(width: int, height: int, body: list[str], title: str) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">')
    return Markup(head + "".join(body) + "</svg>")


def line_chart(series: dict[str, Sequence[float | None]], labels: Sequence[str], *, title: str = "",
               width: int = 640, height: int = 220, y_max: float | None = None) -> Markup:
    """One line per series over shared x labels; None leaves a gap."""
    pad_l, pad_r, pad_t, pad_b = 40, 10, 10, 40
    values = [v for s in series.values() for v in s if v is not None]
    top = y_max if y_max is not None else (max(values) if values else 1.0) or 1.0
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b
    n = max(len(labels), 1)

    def x(i: int) -> float:
        return pad_l + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return pad_t + plot_h - plot_h * min(v, top) / top

    body = [f'<line x1="{pad_l}" y1="{pad_t + plot_h}" x2="{width - pad_r}" y2="{pad_t + plot_h}" stroke="#888"/>',
            f'<text x="2" y="{pad_t + 8}" font-size="9">{top:g}</text>',
            f'<text x="2" y="{pad_t + plot_h}" font-size="9">0</text>']
    step = max(1, n // 8)
    for i, label in enumerate(labels):
        if i % step == 0:
            body.append(f'<text x="{x(i):.1f}" y="{height - 22}" font-size="8" text-anchor="middle">'
                        f'{escape(str(label))}</text>')
    for k, (name, points) in enumerate(series.items()):
        color = PALETTE[k % len(PALETTE)]
        segment: list[str] = []
        for i, v in enumerate(points):
            if v is None:
                if len(segment) > 1:
                    body.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{" ".join(segment)}"/>')
                segment = []
                continue
            segment.append(f"{x(i):.1f},{y(v):.1f}")
            body.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="1.8" fill="{color}"/>')
        if len(segment) > 1:
            body.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{" ".join(segment)}"/>')
        body.append(f'<rect x="{pad_l + 110 * k}" y="{height - 12}" width="8" height="8" fill="{color}"/>'
                    f'<text x="{pad_l + 110 * k + 11}" y="{height - 5}" font-size="9">{escape(name)}</text>')
    return _frame(width, height, body, title)


def bar_chart(bars: Sequence[tuple[str, float]], *, title: str = "", width: int = 640,
              height: int = 220) -> Markup:
    """Vertical bars with their label under and their value over each."""
    pad_l, pad_b, pad_t = 10, 30, 14
    top = max((v for _, v in bars), default=0) or 1
    slot = (width - 2 * pad_l) / max(len(bars), 1)
    plot_h = height - pad_b - pad_t
    body = []
    for i, (label, value) in enumerate(bars):
        h = plot_h * value / top
        bx = pad_l + i * slot + slot * 0.15
        body.append(f'<rect x="{bx:.1f}" y="{pad_t + plot_h - h:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" '
                    f'fill="{PALETTE[0]}"/>'
                    f'<text x="{bx + slot * 0.35:.1f}" y="{pad_t + plot_h - h - 2:.1f}" font-size="9" '
                    f'text-anchor="middle">{value:g}</text>'
                    f'<text x="{bx + slot * 0.35:.1f}" y="{height - 16}" font-size="8" text-anchor="middle">'
                    f'{escape(str(label))[:18]}</text>')
    return _frame(width, height, body, title)


def point_map(points: Sequence[tuple[float, float]], *, home: tuple[float, float] | None = None,
              title: str = "", width: int = 480, height: int = 320) -> Markup:
    """Positions (lat, lon) scaled into the box (equirectangular, fine at city scale); home is a square."""
    everything = list(points) + ([home] if home else [])
    body = [f'<rect x="0" y="0" width="{width}" height="{height}" fill="#f6f8fa" stroke="#ccc"/>']
    if not everything:
        body.append(f'<text x="{width / 2}" y="{height / 2}" font-size="11" text-anchor="middle">No positions</text>')
        return _frame(width, height, body, title)
    lats = [p[0] for p in everything]
    lons = [p[1] for p in everything]
    span = max(max(lats) - min(lats), max(lons) - min(lons), 1e-4)
    pad = 16

    def xy(lat: float, lon: float) -> tuple[float, float]:
        return (pad + (lon - min(lons)) / span * (width - 2 * pad),
                height - pad - (lat - min(lats)) / span * (height - 2 * pad))

    for lat, lon in points:
        px, py = xy(lat, lon)
        body.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{PALETTE[1]}" fill-opacity="0.7"/>')
    if home:
        hx, hy = xy(*home)
        body.append(f'<rect x="{hx - 5:.1f}" y="{hy - 5:.1f}" width="10" height="10" fill="{PALETTE[2]}"/>'
                    f'<text x="{hx + 8:.1f}" y="{hy + 4:.1f}" font-size="10">Home</text>')
    body.append(f'<text x="{pad}" y="{height - 4}" font-size="8">{span * 111:.1f} km across</text>')
    return _frame(width, height, body, title)
