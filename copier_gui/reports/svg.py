"""Small inline SVG charts for the drift report: a horizontal waterfall and a step line.

Built here rather than with a charting library: the report needs two plain charts that scale with
their viewBox, take their colours from the page's CSS (light and dark), carry a tooltip per bar or
point, and load nothing. The maintained pure-Python SVG libraries either point their output at
script and stylesheet URLs (pygal by default) or bring their own styling we would have to undo,
and none can be checked for escaping as easily as the hundred lines below. Every text that comes
from outside goes through ``escape``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

# Sizes in viewBox units. The charts are drawn to the width of their box (CSS), so these set the
# proportions and the text size relative to the chart: about 10 px text at a phone's width.
WIDTH = 380
ROW = 26
BAR = 16
FONT = 13
CHAR = FONT * 0.6  # the width of a digit, near enough for sizing a column of text


@dataclass(frozen=True, slots=True)
class Step:
    """One bar of a waterfall: from ``start`` to ``end``. A total starts at zero."""

    label: str
    start: float
    end: float
    total: bool = False
    value_text: str = ""
    tooltip: str = ""

    @property
    def change(self) -> float:
        return self.end - self.start


def _n(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def _text(x: float, y: float, text: str, *, anchor: str = "start", cls: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}"{c}>{escape(text)}</text>'


def _span(values: Sequence[float]) -> tuple[float, float]:
    lo, hi = min(0.0, *values), max(0.0, *values)
    if hi - lo < 1e-9:
        lo, hi = lo - 1.0, hi + 1.0
    return lo, hi


def waterfall(steps: Sequence[Step], *, label: str) -> str:
    """Rows top to bottom: a label, a bar from each step's start to its end, the value text.

    Dashed connectors carry each step's end to the next step's start, and a line marks zero.
    """
    gap = 8.0
    left = max(48.0, CHAR * max(len(s.label) for s in steps))
    right = max(48.0, CHAR * max(len(s.value_text) for s in steps) + 4)
    x0, x1 = left + gap, WIDTH - right - gap
    lo, hi = _span([v for s in steps for v in (s.start, s.end)])

    def x(v: float) -> float:
        return x0 + (v - lo) / (hi - lo) * (x1 - x0)

    top = 6.0
    height = top * 2 + ROW * len(steps)
    out = [f'<svg class="chart waterfall" viewBox="0 0 {WIDTH} {_n(height)}" role="img" '
           f'aria-label="{escape(label)}" font-size="{FONT}">',
           f"<title>{escape(label)}</title>"]
    zero = x(0.0)
    out.append(f'<line class="axis" x1="{_n(zero)}" y1="{_n(top)}" x2="{_n(zero)}" y2="{_n(height - top)}"/>')
    for i, step in enumerate(steps):
        y = top + i * ROW
        a, b = (0.0, step.end) if step.total else (step.start, step.end)
        xa, xb = sorted((x(a), x(b)))
        width = max(xb - xa, 1.5)  # a part of a few cents still shows as a sliver
        cls = "total" if step.total else ("up" if step.change >= 0 else "down")
        tip = step.tooltip or f"{step.label}: {step.value_text}"
        out.append(f'<g class="step {cls}"><title>{escape(tip)}</title>'
                   f'<rect x="{_n(xa)}" y="{_n(y + (ROW - BAR) / 2)}" width="{_n(width)}" height="{BAR}" rx="2"/>'
                   + _text(left, y + ROW / 2 + FONT * 0.35, step.label, anchor="end", cls="label")
                   + _text(WIDTH - 2, y + ROW / 2 + FONT * 0.35, step.value_text, anchor="end", cls="value")
                   + "</g>")
        if i + 1 < len(steps):
            level = x(step.end)
            out.append(f'<line class="link" x1="{_n(level)}" y1="{_n(y + (ROW + BAR) / 2)}" x2="{_n(level)}" '
                       f'y2="{_n(y + ROW + (ROW - BAR) / 2)}"/>')
    out.append("</svg>")
    return "".join(out)


def nice_ticks(lo: float, hi: float, count: int = 4) -> list[float]:
    """Round values from ``lo`` to ``hi`` (1, 2 or 5 times a power of ten apart), about ``count``."""
    if hi - lo < 1e-9:
        return [lo]
    raw = (hi - lo) / max(1, count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(lo / step) * step
    ticks = []
    v = first
    while v <= hi + step * 1e-9:
        if v >= lo - step * 1e-9:
            ticks.append(0.0 if abs(v) < step * 1e-9 else v)
        v += step
    return ticks


def step_line(points: Sequence[tuple[float, float]], *, label: str, x_text: Callable[[float], str],
              y_text: Callable[[float], str], point_text: Callable[[float, float], str]) -> str:
    """A running total over time: flat between points, a step at each one, from zero before the first.

    ``points`` are (x, y) in x order and must not be empty.
    """
    height = 220.0
    xs = [p[0] for p in points]
    t0, t1 = xs[0], xs[-1]
    if t1 - t0 < 1e-9:
        t0, t1 = t0 - 1.0, t1 + 1.0
    lo, hi = _span([p[1] for p in points])
    ticks = nice_ticks(lo, hi)
    left = max(40.0, CHAR * max(len(y_text(v)) for v in ticks) + 8)
    right, top, bottom = 14.0, 12.0, 30.0
    lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])
    pad = (hi - lo) * 0.04
    lo, hi = lo - pad, hi + pad

    def x(t: float) -> float:
        return left + (t - t0) / (t1 - t0) * (WIDTH - left - right)

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * (height - top - bottom)

    out = [f'<svg class="chart line" viewBox="0 0 {WIDTH} {_n(height)}" role="img" aria-label="{escape(label)}" '
           f'font-size="{FONT}">', f"<title>{escape(label)}</title>"]
    for v in ticks:
        cls = "axis" if v == 0 else "grid"
        out.append(f'<line class="{cls}" x1="{_n(left)}" y1="{_n(y(v))}" x2="{_n(WIDTH - right)}" y2="{_n(y(v))}"/>')
        out.append(_text(left - 5, y(v) + FONT * 0.35, y_text(v), anchor="end", cls="tick"))
    if 0.0 not in ticks:
        out.append(f'<line class="axis" x1="{_n(left)}" y1="{_n(y(0))}" x2="{_n(WIDTH - right)}" y2="{_n(y(0))}"/>')
    base = height - bottom + FONT + 4
    out.append(_text(left, base, x_text(xs[0]), anchor="start", cls="tick"))
    if xs[-1] - xs[0] >= 1e-9:
        out.append(_text(WIDTH - right, base, x_text(xs[-1]), anchor="end", cls="tick"))
    path = [f"M{_n(x(xs[0]))},{_n(y(0.0))}"]
    for t, v in points:
        path.append(f"V{_n(y(v))}" if t == xs[0] and len(path) == 1 else f"H{_n(x(t))}V{_n(y(v))}")
    out.append(f'<path class="series" d="{"".join(path)}"/>')
    for t, v in points:
        out.append(f'<circle class="point" cx="{_n(x(t))}" cy="{_n(y(v))}" r="3">'
                   f"<title>{escape(point_text(t, v))}</title></circle>")
    out.append("</svg>")
    return "".join(out)
