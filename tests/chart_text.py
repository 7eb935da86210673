"""Overlapping text on a matplotlib chart: the cheap visual check of issue 15 items 4 and 10.

:func:`text_overlaps` draws a figure and compares the boxes of every visible piece of text on
it (the tick labels drawn, axis labels, titles, annotations, legend entries): two that overlap
by more than ``tolerance`` pixels are a finding, named by their text. A rotated label is its
rotated rectangle (the same centre as its drawn bounding box, turned by its angle), not that
bounding box, so that slanted tick labels side by side are not taken for overlapping.
"""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.text import Text


def _texts(fig: Figure) -> list[Text]:
    out: list[Text] = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        out += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label]
        for axis in (ax.xaxis, ax.yaxis):  # only the ticks inside the view are drawn
            for tick in axis._update_ticks():
                out += [tick.label1, tick.label2]
        out += list(ax.texts)
        legend = ax.get_legend()
        if legend is not None:
            out += legend.get_texts()
    out += list(fig.texts)
    return [t for t in out if t.get_visible() and t.get_text().strip()]


def _corners(text: Text, renderer: object) -> np.ndarray:
    box = text.get_window_extent(renderer)
    angle = math.radians(text.get_rotation() % 180)
    if angle == 0:
        return np.array([[box.x0, box.y0], [box.x1, box.y0], [box.x1, box.y1], [box.x0, box.y1]])
    rotation = text.get_rotation()
    text.set_rotation(0)
    flat = text.get_window_extent(renderer)
    text.set_rotation(rotation)
    w, h = flat.width / 2, flat.height / 2
    c, s = math.cos(angle), math.sin(angle)
    centre = np.array([(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2])
    return np.array([centre + [dx * c - dy * s, dx * s + dy * c] for dx, dy in
                     ((-w, -h), (w, -h), (w, h), (-w, h))])  # fmt: skip


def _overlap(a: np.ndarray, b: np.ndarray, tolerance: float) -> bool:
    """Whether two convex quadrilaterals overlap by more than ``tolerance`` (separating axes)."""
    for poly in (a, b):
        for i in range(4):
            edge = poly[(i + 1) % 4] - poly[i]
            normal = np.array([-edge[1], edge[0]])
            length = np.hypot(*normal)
            if length == 0:
                continue
            normal /= length
            pa, pb = a @ normal, b @ normal
            if min(pa.max(), pb.max()) - max(pa.min(), pb.min()) <= tolerance:
                return False
    return True


def text_overlaps(fig: Figure, tolerance: float = 1.0) -> list[str]:
    """Return ``"'a' overlaps 'b'"`` for every two visible texts of ``fig`` whose boxes overlap."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = [(t.get_text(), _corners(t, renderer)) for t in _texts(fig)]
    return [
        f"{a!r} overlaps {b!r}"
        for (a, box_a), (b, box_b) in combinations(boxes, 2)
        if _overlap(box_a, box_b, tolerance)
    ]
