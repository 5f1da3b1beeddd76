"""Line charts as inline SVG, drawn from the same rows as the tables beside them.

Each point is a circle carrying its series, x and y in ``data-*`` attributes and a
``<title>`` tooltip, so what a chart shows can be read back from the page itself.
"""

from __future__ import annotations

import math

from justeval.page.html import esc

WIDTH, HEIGHT = 560, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 150, 28, 44
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f"]


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        return [low]
    raw = (high - low) / count
    step = 10 ** math.floor(math.log10(raw))
    step = next(s * step for s in (1, 2, 2.5, 5, 10) if s * step >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _label(value: float) -> str:
    return f"{value:g}"


def line_chart(
    series: dict[str, list[tuple[float, float]]],
    title: str,
    x_label: str,
    y_label: str,
    chart_id: str,
    log2_x: bool = False,
    y_range: tuple[float, float] | None = (0.0, 100.0),
) -> str:
    """An SVG line chart: one line per series (points sorted by x, NaN y skipped)."""
    clean = {
        name: sorted((float(x), float(y)) for x, y in points if y is not None and not math.isnan(float(y)))
        for name, points in series.items()
    }
    xs = [x for pts in clean.values() for x, _ in pts]
    ys = [y for pts in clean.values() for _, y in pts]
    fx = (lambda v: math.log2(v)) if log2_x else (lambda v: v)
    x_low, x_high = (min(map(fx, xs)), max(map(fx, xs))) if xs else (0.0, 1.0)
    if x_high == x_low:
        x_low, x_high = x_low - 1, x_high + 1
    if y_range is None:
        y_low, y_high = (min(ys), max(ys)) if ys else (0.0, 1.0)
        pad = (y_high - y_low) * 0.05 or 1.0
        y_low, y_high = y_low - pad, y_high + pad
    else:
        y_low, y_high = y_range
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (fx(x) - x_low) / (x_high - x_low) * plot_w

    def py(y: float) -> float:
        return TOP + (1 - (y - y_low) / (y_high - y_low)) * plot_h

    parts = [
        f'<svg class="chart" id="{esc(chart_id)}" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{esc(title)}">',
        f'<text class="chart-title" x="{LEFT}" y="16">{esc(title)}</text>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#bbb"/>',
    ]
    for t in _ticks(y_low, y_high):
        y = py(t)
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_label(t)}</text>'
        )
    x_ticks = sorted(set(xs)) if log2_x or len(set(xs)) <= 8 else [t for t in _ticks(min(xs), max(xs))]
    for t in x_ticks:
        x = px(t)
        parts.append(
            f'<text class="tick" x="{x:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">{_label(t)}</text>'
        )
    middle = LEFT + plot_w / 2
    parts.append(
        f'<text class="axis" x="{middle:.1f}" y="{HEIGHT - 6}" text-anchor="middle">{esc(x_label)}</text>'
    )
    parts.append(
        f'<text class="axis" transform="rotate(-90)" x="{-(TOP + plot_h / 2):.1f}" y="14" '
        f'text-anchor="middle">{esc(y_label)}</text>'
    )
    for i, (name, pts) in enumerate(clean.items()):
        colour = COLOURS[i % len(COLOURS)]
        if len(pts) > 1:
            path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        for x, y in pts:
            parts.append(
                f'<circle class="point" cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{colour}" '
                f'data-series="{esc(name)}" data-x="{x!r}" data-y="{y!r}">'
                f"<title>{esc(name)}: {_label(x)} → {y:.2f}</title></circle>"
            )
        ly = TOP + 12 + 16 * i
        parts.append(f'<rect x="{WIDTH - RIGHT + 10}" y="{ly - 8}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text class="legend" x="{WIDTH - RIGHT + 24}" y="{ly + 1}">{esc(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)
