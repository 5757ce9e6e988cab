"""The timeline as SVG, written by hand: every job bar carries ``data-job``,
``data-status`` and ``data-critical`` so tests and tools can read the picture."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from pipeline.reports.timeline.layout import layout
from pipeline.reports.timeline.model import Timeline, timeline_from_report
from pipeline.reports.timeline.shapes import FONT_FAMILY, Line, Shape, Text

# Characters XML 1.0 forbids; a job name or detail must never make the file unreadable.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _XML_INVALID.sub("?", text)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def render_svg(source: Mapping[str, Any] | Timeline) -> str:
    """The timeline as a standalone SVG document (also fit to inline in HTML)."""
    timeline = source if isinstance(source, Timeline) else timeline_from_report(source)
    drawn = layout(timeline)
    w, h = _num(drawn.width), _num(drawn.height)
    lines = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        f'role="img" class="slipway-timeline">',
        f"<title>{escape(_clean(timeline.title))}</title>",
        # Attributes, not a <style> element: inlined in HTML a <style> would leak to the page.
        f'<g font-family="{FONT_FAMILY}">',
        f'<rect width="{w}" height="{h}" fill="#ffffff"/>',
    ]
    lines += [_svg_shape(shape) for shape in drawn.shapes]
    lines += ["</g>", "</svg>"]
    return "\n".join(lines) + "\n"


def _svg_shape(shape: Shape) -> str:
    if isinstance(shape, Text):
        weight = ' font-weight="bold"' if shape.bold else ""
        return (
            f'<text x="{_num(shape.x)}" y="{_num(shape.y)}" font-size="{_num(shape.size)}" '
            f'fill="{shape.fill}" text-anchor="{shape.anchor}"{weight}>{escape(_clean(shape.text))}</text>'
        )
    if isinstance(shape, Line):
        attrs = f' class="{shape.css_class}"' if shape.css_class else ""
        dash = ' stroke-dasharray="4 3"' if shape.dashed else ""
        return (
            f'<line x1="{_num(shape.x1)}" y1="{_num(shape.y1)}" x2="{_num(shape.x2)}" y2="{_num(shape.y2)}" '
            f'stroke="{shape.stroke}" stroke-width="{_num(shape.width)}"{dash}{attrs}/>'
        )
    parts = [f'x="{_num(shape.x)}" y="{_num(shape.y)}" width="{_num(shape.w)}" height="{_num(shape.h)}"']
    parts.append(f'fill="{shape.fill or "none"}"')
    if shape.radius:
        parts.append(f'rx="{_num(shape.radius)}"')
    if shape.stroke:
        parts.append(f'stroke="{shape.stroke}" stroke-width="{_num(shape.stroke_width)}"')
    if shape.dashed:
        parts.append('stroke-dasharray="3 2"')
    if shape.opacity < 1:
        parts.append(f'fill-opacity="{shape.opacity}"')
    if shape.css_class:
        parts.append(f'class="{shape.css_class}"')
    parts += [f"data-{key}={quoteattr(_clean(value))}" for key, value in shape.data]
    if shape.title is None:
        return f"<rect {' '.join(parts)}/>"
    return f"<rect {' '.join(parts)}><title>{escape(_clean(shape.title))}</title></rect>"
