"""Geometry for the plain server-rendered SVG charts (no chart library, no script): the templates
draw rectangles at the positions computed here."""
from __future__ import annotations

from typing import Any

BAR_HEIGHT, GAP, LABEL_WIDTH, PLOT_WIDTH = 22, 8, 160, 330
PALETTE = 8  # CSS classes chart-0 .. chart-7


def bar_chart(rows: list[tuple[str, float]], unit: str = "") -> dict[str, Any]:
    """Horizontal bars, one per (label, value), scaled to the largest value."""
    top = max((v for _, v in rows), default=0) or 1
    bars = [{"label": label, "value": value, "y": i * (BAR_HEIGHT + GAP),
             "width": round(PLOT_WIDTH * value / top, 1), "text": f"{value:g}{unit}"}
            for i, (label, value) in enumerate(rows)]
    return {"bars": bars, "height": max(1, len(rows)) * (BAR_HEIGHT + GAP), "labelWidth": LABEL_WIDTH,
            "plotWidth": PLOT_WIDTH, "barHeight": BAR_HEIGHT, "width": LABEL_WIDTH + PLOT_WIDTH + 70}


def stacked_chart(rows: dict[str, list[tuple[str, int]]]) -> dict[str, Any]:
    """One horizontal bar per label, split into segments (name, count), all on one scale; segment
    names share a colour across bars."""
    names: list[str] = []
    for segments in rows.values():
        for name, _ in segments:
            if name not in names:
                names.append(name)
    colour = {name: f"chart-{i % PALETTE}" for i, name in enumerate(names)}
    top = max((sum(c for _, c in segs) for segs in rows.values()), default=0) or 1
    bars = []
    for i, (label, segments) in enumerate(rows.items()):
        x, parts = 0.0, []
        for name, count in segments:
            width = PLOT_WIDTH * count / top
            parts.append({"name": name, "count": count, "x": round(x, 1), "width": round(width, 1),
                          "cls": colour[name]})
            x += width
        bars.append({"label": label, "y": i * (BAR_HEIGHT + GAP), "segments": parts,
                     "total": sum(c for _, c in segments), "end": round(x, 1)})
    return {"bars": bars, "legend": [{"name": n, "cls": colour[n]} for n in names],
            "height": max(1, len(rows)) * (BAR_HEIGHT + GAP), "labelWidth": LABEL_WIDTH, "plotWidth": PLOT_WIDTH,
            "barHeight": BAR_HEIGHT, "width": LABEL_WIDTH + PLOT_WIDTH + 70}
