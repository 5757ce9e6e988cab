"""The timeline as PNG, drawn with Pillow from the same layout as the SVG (Pillow's
wheels bundle FreeType, so no system library is needed)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from pipeline.reports.timeline.layout import layout
from pipeline.reports.timeline.model import Timeline, timeline_from_report
from pipeline.reports.timeline.shapes import Line, Text

# DejaVu Sans when the system has it (Debian's fonts-dejavu-core), else Pillow's own font.
_FONT_FILES = {
    False: "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    True: "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
}


def render_png(source: Mapping[str, Any] | Timeline, path: Path, *, scale: float = 2.0) -> Path:
    """Draw the timeline to ``path`` as PNG (``scale`` pixels per SVG unit); ``path``."""
    timeline = source if isinstance(source, Timeline) else timeline_from_report(source)
    drawn = layout(timeline)
    image = Image.new("RGB", (math.ceil(drawn.width * scale), math.ceil(drawn.height * scale)), "#ffffff")
    draw = ImageDraw.Draw(image, "RGBA")
    fonts: dict[tuple[float, bool], Any] = {}

    def font(size: float, bold: bool) -> Any:
        key = (size, bold)
        if key not in fonts:
            try:
                fonts[key] = ImageFont.truetype(_FONT_FILES[bold], size * scale)
            except OSError:
                fonts[key] = ImageFont.load_default(size * scale)
        return fonts[key]

    def s(value: float) -> float:
        return value * scale

    for shape in drawn.shapes:
        if isinstance(shape, Text):
            anchor = {"start": "ls", "middle": "ms", "end": "rs"}[shape.anchor]
            draw.text(
                (s(shape.x), s(shape.y)),
                shape.text,
                fill=shape.fill,
                font=font(shape.size, shape.bold),
                anchor=anchor,
            )
        elif isinstance(shape, Line):
            _png_line(
                draw,
                [s(shape.x1), s(shape.y1), s(shape.x2), s(shape.y2)],
                shape.stroke,
                max(1, round(s(shape.width))),
                dashed=shape.dashed,
                unit=s(4),
            )
        else:
            box = (s(shape.x), s(shape.y), s(shape.x + shape.w), s(shape.y + shape.h))
            fill = _rgba(shape.fill, shape.opacity) if shape.fill else None
            width = round(s(shape.stroke_width)) if shape.stroke else 0
            if shape.dashed and shape.stroke:
                draw.rounded_rectangle(box, radius=s(shape.radius), fill=fill)
                x0, y0, x1, y1 = box
                for segment in ((x0, y0, x1, y0), (x1, y0, x1, y1), (x1, y1, x0, y1), (x0, y1, x0, y0)):
                    _png_line(draw, list(segment), shape.stroke, max(1, width), dashed=True, unit=s(3))
            else:
                draw.rounded_rectangle(
                    box,
                    radius=s(shape.radius),
                    fill=fill,
                    outline=shape.stroke if width else None,
                    width=width,
                )
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG")
    return path


def _rgba(color: str, opacity: float) -> tuple[int, int, int, int]:
    value = color.lstrip("#")
    red, green, blue = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return red, green, blue, round(255 * opacity)


def _png_line(draw: Any, xy: list[float], color: str, width: int, *, dashed: bool, unit: float) -> None:
    if not dashed:
        draw.line(xy, fill=color, width=width)
        return
    x1, y1, x2, y2 = xy
    length = math.hypot(x2 - x1, y2 - y1)
    if length == 0:
        return
    dx, dy = (x2 - x1) / length, (y2 - y1) / length
    pos = 0.0
    while pos < length:
        end = min(length, pos + unit)
        draw.line([x1 + dx * pos, y1 + dy * pos, x1 + dx * end, y1 + dy * end], fill=color, width=width)
        pos += unit * 1.75
