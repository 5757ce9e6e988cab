"""The picture's vocabulary: colours, sizes and the shapes the layout places.

One layout (a list of rectangles, lines and texts) is drawn twice, as SVG and as
PNG, so both pictures are the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

STATUS_COLORS: dict[str, str] = {
    "success": "#2da44e",
    "failed": "#cf222e",
    "cached": "#8250df",
    "skipped": "#eaeef2",
}
SKIPPED_EDGE = "#8c959f"
UNKNOWN_COLOR = "#6e7781"
INK = "#1f2328"
MUTED = "#57606a"
GRID = "#d8dee4"
STRIPE = "#f6f8fa"
FONT_FAMILY = "DejaVu Sans, Verdana, Helvetica, Arial, sans-serif"

WIDTH = 1200.0
MARGIN = 16.0
ROW = 26.0
BAR = 16.0
WORKER_BAR = 4.0
WORKER_GAP = 2.0
RIGHT = 96.0  # room for the duration written after the longest bar
NICE_STEPS = (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200)

Anchor = Literal["start", "middle", "end"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str | None
    stroke: str | None = None
    stroke_width: float = 0.0
    dashed: bool = False
    radius: float = 0.0
    opacity: float = 1.0
    css_class: str | None = None
    data: tuple[tuple[str, str], ...] = ()
    title: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str
    width: float = 1.0
    dashed: bool = False
    css_class: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Text:
    x: float
    y: float
    text: str
    size: float = 12.0
    fill: str = INK
    anchor: Anchor = "start"
    bold: bool = False


Shape = Rect | Line | Text


@dataclass(slots=True)
class Layout:
    width: float
    height: float = 0.0
    shapes: list[Shape] = field(default_factory=list)
