"""The timeline picture of a run: one bar per job on a time axis, coloured by status.

The critical path is outlined and linked, test shards get a row each, and the
xdist workers of a job, when the report carries their timings, are thin bars
under it. One layout (a list of rectangles, lines and texts) is drawn twice: as
SVG, written by hand, and as PNG with Pillow when it is installed (its wheels
bundle FreeType, so no system library is needed).

Input is a report.json-shaped mapping (DESIGN.md), read leniently: a job's
optional ``needs`` place a skipped job after what it waited for, and optional
``worker_timings`` (``[{"worker": "gw0", "started": ISO, "finished": ISO,
"tests": int}]``) draw the workers. Every job bar carries ``data-job``,
``data-status`` and ``data-critical`` so tests and tools can read the picture.

``python -m pipeline.reports.timeline REPORT_DIR`` renders an existing report.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape, quoteattr

SVG_FILE = "timeline.svg"
PNG_FILE = "timeline.png"

STATUS_COLORS: dict[str, str] = {
    "success": "#2da44e",
    "failed": "#cf222e",
    "cached": "#8250df",
    "skipped": "#eaeef2",
}
_SKIPPED_EDGE = "#8c959f"
_UNKNOWN_COLOR = "#6e7781"
_INK = "#1f2328"
_MUTED = "#57606a"
_GRID = "#d8dee4"
_STRIPE = "#f6f8fa"
_FONT_FAMILY = "DejaVu Sans, Verdana, Helvetica, Arial, sans-serif"
# DejaVu Sans when the system has it (Debian's fonts-dejavu-core), else Pillow's own font.
_FONT_FILES = {
    False: "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    True: "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
}

_WIDTH = 1200.0
_MARGIN = 16.0
_ROW = 26.0
_BAR = 16.0
_WORKER_BAR = 4.0
_WORKER_GAP = 2.0
_RIGHT = 96.0  # room for the duration written after the longest bar
_NICE_STEPS = (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200)
# Characters XML 1.0 forbids; a job name or detail must never make the file unreadable.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerSpan:
    """One xdist worker of a job, in seconds since the run started."""

    worker: str
    start_s: float
    end_s: float
    tests: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobSpan:
    """One job of the run, in seconds since the run started (None: it never ran)."""

    name: str
    stage: str
    shard: str | None
    status: str
    start_s: float | None
    end_s: float | None
    duration_s: float
    critical: bool = False
    detail: str = ""
    run_id: str | None = None
    needs: tuple[str, ...] = ()
    workers: tuple[WorkerSpan, ...] = ()
    worker_count: int | None = None  # xdist workers, when only their number is known

    @property
    def label(self) -> str:
        return f"{self.name}  {self.shard}" if self.shard and self.shard not in self.name else self.name


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeline:
    """What the picture shows: the run's jobs on one time axis."""

    title: str
    subtitle: str
    total_s: float
    jobs: tuple[JobSpan, ...]
    critical_path: tuple[str, ...] = ()


# -- from report.json ---------------------------------------------------------------------------


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _seconds(value: datetime | None, origin: datetime) -> float | None:
    if value is None:
        return None
    try:
        return (value - origin).total_seconds()
    except TypeError:  # one naive and one aware timestamp: the report is inconsistent
        return None


def _float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0


def _shard_index(shard: str | None) -> int:
    try:
        return int(str(shard).split("/")[0])
    except ValueError:
        return 0


def timeline_from_report(report: Mapping[str, Any]) -> Timeline:
    """The picture's model from a report.json mapping (a run's own or a merged one)."""
    raw_jobs: list[Mapping[str, Any]] = [j for j in report.get("jobs") or [] if isinstance(j, Mapping)]
    starts = [t for j in raw_jobs if (t := _parse_time(j.get("started"))) is not None]
    origin = _parse_time(report.get("started")) or (min(starts) if starts else None)
    critical = tuple(str(n) for n in report.get("critical_path") or [])
    names = [str(j.get("name", "?")) for j in raw_jobs]
    # In a merged report the same job can come from several runs; the run id tells them apart.
    duplicated = {n for n in names if names.count(n) > 1}
    jobs: list[JobSpan] = []
    for job in raw_jobs:
        name = str(job.get("name", "?"))
        run_id = str(job["run_id"]) if job.get("run_id") else None
        start = _seconds(_parse_time(job.get("started")), origin) if origin else None
        end = _seconds(_parse_time(job.get("finished")), origin) if origin else None
        duration = _float(job.get("duration_s"))
        if start is not None and end is None:
            end = start + duration
        workers = tuple(_workers(job.get("worker_timings"), origin)) if origin else ()
        jobs.append(
            JobSpan(
                name=f"{name} ({run_id})" if name in duplicated and run_id else name,
                stage=str(job.get("stage") or name),
                shard=str(job["shard"]) if job.get("shard") else None,
                status=str(job.get("status") or "unknown"),
                start_s=start,
                end_s=end,
                duration_s=duration if duration else max(0.0, (end or 0.0) - (start or 0.0)),
                critical=name in critical,
                detail=str(job.get("detail") or ""),
                run_id=run_id,
                needs=tuple(str(n) for n in job.get("needs") or []),
                workers=workers,
                worker_count=job["workers"] if isinstance(job.get("workers"), int) else None,
            )
        )
    ends = [j.end_s for j in jobs if j.end_s is not None]
    finished = _parse_time(report.get("finished"))
    run_s = _seconds(finished, origin) if finished and origin else None
    total = max([*ends, run_s or 0.0, _float(report.get("duration_s")), 1.0])
    return Timeline(
        title=f"Slipway run {report.get('run_id', '?')} · {report.get('status', '?')}",
        subtitle=_subtitle(report, jobs, total),
        total_s=total,
        jobs=tuple(_ordered(jobs)),
        critical_path=critical,
    )


def _workers(raw: object, origin: datetime) -> Iterable[WorkerSpan]:
    if not isinstance(raw, list):
        return
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        start = _seconds(_parse_time(item.get("started")), origin)
        end = _seconds(_parse_time(item.get("finished")), origin)
        if start is None or end is None:
            continue
        tests = item.get("tests")
        yield WorkerSpan(
            worker=str(item.get("worker", "?")),
            start_s=start,
            end_s=max(start, end),
            tests=int(tests) if isinstance(tests, int) else None,
        )


def _subtitle(report: Mapping[str, Any], jobs: Sequence[JobSpan], total: float) -> str:
    parts = []
    if report.get("git_sha"):
        parts.append(f"commit {str(report['git_sha'])[:12]}")
    if report.get("engine"):
        parts.append(f"engine {report['engine']}")
    parts.append(f"{len(jobs)} jobs in {total:.1f} s")
    failed = sum(1 for j in jobs if j.status == "failed")
    if failed:
        parts.append(f"{failed} failed")
    critical = [j for j in jobs if j.critical]
    if critical:
        parts.append(f"critical path {sum(j.duration_s for j in critical):.1f} s")
    return " · ".join(parts)


def _ordered(jobs: list[JobSpan]) -> list[JobSpan]:
    """Stages in the order they started (never-run ones last), a stage's shards together."""
    first_seen: dict[str, int] = {}
    for index, job in enumerate(jobs):
        first_seen.setdefault(job.stage, index)
    stage_start: dict[str, float] = {}
    for job in jobs:
        if job.start_s is not None:
            stage_start[job.stage] = min(stage_start.get(job.stage, math.inf), job.start_s)
    return sorted(
        jobs,
        key=lambda j: (
            stage_start.get(j.stage, math.inf),
            first_seen[j.stage],
            _shard_index(j.shard),
            j.start_s if j.start_s is not None else math.inf,
        ),
    )


# -- layout: shapes shared by the SVG and the PNG -----------------------------------------------

Anchor = Literal["start", "middle", "end"]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Rect:
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
class _Line:
    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str
    width: float = 1.0
    dashed: bool = False
    css_class: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class _Text:
    x: float
    y: float
    text: str
    size: float = 12.0
    fill: str = _INK
    anchor: Anchor = "start"
    bold: bool = False


_Shape = _Rect | _Line | _Text


@dataclass(slots=True)
class _Layout:
    width: float
    height: float = 0.0
    shapes: list[_Shape] = field(default_factory=list)


def _text_width(text: str, size: float) -> float:
    # A generous average for DejaVu Sans: the label column must never clip a name.
    return len(text) * size * 0.62


def _tick_step(total: float) -> int:
    return next((s for s in _NICE_STEPS if total / s <= 10), _NICE_STEPS[-1])


def _duration_text(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds >= 100 else f"{seconds:.1f} s"


def _color(status: str) -> str:
    return STATUS_COLORS.get(status, _UNKNOWN_COLOR)


def _layout(timeline: Timeline) -> _Layout:
    out = _Layout(width=_WIDTH)
    add = out.shapes.append
    add(_Text(x=_MARGIN, y=30, text=timeline.title, size=17, bold=True))
    add(_Text(x=_MARGIN, y=50, text=timeline.subtitle, size=12, fill=_MUTED))
    _legend(out, y=72.0, workers=any(j.workers for j in timeline.jobs))

    label_w = min(320.0, max(120.0, *(_text_width(j.label, 12) for j in timeline.jobs)))
    plot_x = _MARGIN + label_w + 12
    plot_w = _WIDTH - plot_x - _RIGHT
    scale = plot_w / timeline.total_s
    step = _tick_step(timeline.total_s)
    top = 112.0

    rows: list[tuple[JobSpan, float, float]] = []  # job, row top, row height
    y = top
    for job in timeline.jobs:
        height = _ROW + len(job.workers) * (_WORKER_BAR + _WORKER_GAP)
        rows.append((job, y, height))
        y += height
    bottom = y

    # Stripes and grid first, so bars and labels sit on top.
    for index, (job, row_y, height) in enumerate(rows):
        if index % 2 == 0:
            add(_Rect(x=_MARGIN, y=row_y, w=_WIDTH - 2 * _MARGIN, h=height, fill=_STRIPE))
        if index and job.stage != rows[index - 1][0].stage:
            add(_Line(x1=_MARGIN, y1=row_y, x2=_WIDTH - _MARGIN, y2=row_y, stroke=_GRID))
    ticks = range(0, int(timeline.total_s) + 1, step)
    for tick in ticks:
        x = plot_x + tick * scale
        add(_Line(x1=x, y1=top - 4, x2=x, y2=bottom + 4, stroke=_GRID, css_class="tick"))
        add(_Text(x=x, y=top - 8, text=f"{tick} s", size=11, fill=_MUTED, anchor="middle"))
        add(_Text(x=x, y=bottom + 18, text=f"{tick} s", size=11, fill=_MUTED, anchor="middle"))
    add(
        _Text(
            x=plot_x + plot_w / 2,
            y=bottom + 38,
            text="seconds since the run started",
            size=11,
            fill=_MUTED,
            anchor="middle",
        )
    )

    links_at = len(out.shapes)  # the critical path's links go under the bars, over the grid
    ends = _resolved_ends(timeline.jobs)
    placed: dict[str, tuple[float, float, float]] = {}  # job -> bar x, x end, middle y
    for job, row_y, _height in rows:
        bar_y = row_y + (_ROW - _BAR) / 2
        add(
            _Text(
                x=plot_x - 10,
                y=bar_y + _BAR - 4,
                text=job.label,
                size=12,
                anchor="end",
                bold=job.critical,
                fill=_INK if job.status != "skipped" else _MUTED,
            )
        )
        placed[job.name] = _job_bar(out, job, ends, plot_x=plot_x, bar_y=bar_y, scale=scale)
    out.shapes[links_at:links_at] = _critical_links(timeline, placed)
    out.height = bottom + 52
    return out


def _resolved_ends(jobs: Sequence[JobSpan]) -> dict[str, float]:
    """Where each job ends on the axis; a job that never ran ends where its needs did,
    so a chain of skipped jobs lines up after the failure that stopped it."""
    by_name = {j.name: j for j in jobs}
    ends: dict[str, float] = {}

    def end_of(name: str, seen: frozenset[str]) -> float:
        if name in ends:
            return ends[name]
        job = by_name[name]
        if job.end_s is not None:
            value = job.end_s
        else:
            value = max(
                (end_of(n, seen | {name}) for n in job.needs if n in by_name and n not in seen),
                default=0.0,
            )
        ends[name] = value
        return value

    for job in jobs:
        end_of(job.name, frozenset())
    return ends


def _job_bar(
    out: _Layout, job: JobSpan, ends: Mapping[str, float], *, plot_x: float, bar_y: float, scale: float
) -> tuple[float, float, float]:
    add = out.shapes.append
    ran = job.start_s is not None and job.end_s is not None
    if ran:
        start = job.start_s or 0.0
        x = plot_x + start * scale
        w = max(3.0, ((job.end_s or start) - start) * scale)
    else:
        # Never started: a hollow box where it would have begun, after what it waited for.
        after = max((ends[n] for n in job.needs if n in ends), default=0.0)
        x, w = plot_x + after * scale, 14.0
    data = [
        ("job", job.name),
        ("stage", job.stage),
        ("status", job.status),
        ("critical", "true" if job.critical else "false"),
        ("duration-s", f"{job.duration_s:.3f}"),
    ]
    if job.shard:
        data.append(("shard", job.shard))
    if job.start_s is not None:
        data.append(("start-s", f"{job.start_s:.3f}"))
    if job.run_id:
        data.append(("run", job.run_id))
    tooltip = f"{job.name}: {job.status}, {job.duration_s:.1f} s" + (
        f" (from {job.start_s:.1f} s)" if job.start_s is not None else ""
    )
    if job.detail:
        tooltip += f"\n{job.detail}"
    add(
        _Rect(
            x=x,
            y=bar_y,
            w=w,
            h=_BAR,
            fill=_color(job.status) if ran else STATUS_COLORS["skipped"],
            stroke=_INK if job.critical else (None if ran else _SKIPPED_EDGE),
            stroke_width=2.0 if job.critical else (0.0 if ran else 1.0),
            dashed=not ran,
            radius=3.0,
            css_class="bar critical" if job.critical else "bar",
            data=tuple(data),
            title=tooltip,
        )
    )
    note = _duration_text(job.duration_s)
    if job.status in ("cached", "skipped", "failed"):
        note = f"{note} {job.status}" if ran else job.status
        if job.status == "skipped" and job.detail in ("cancelled", "interrupted"):
            note = f"skipped ({job.detail})"
    if ran and job.worker_count and not job.workers:
        note += f" · {job.worker_count} workers"
    # After the bar; inside it, in white, when the bar runs up to the picture's edge.
    inside = x + w + 6 + _text_width(note, 11) > _WIDTH - _MARGIN and w > _text_width(note, 11) + 12
    add(
        _Text(
            x=x + w - 6 if inside else x + w + 6,
            y=bar_y + _BAR - 4,
            text=note,
            size=11,
            fill="#ffffff" if inside else (_color(job.status) if job.status == "failed" else _MUTED),
            anchor="end" if inside else "start",
            bold=job.status == "failed",
        )
    )
    worker_y = bar_y + _BAR + 3
    for worker in job.workers:
        add(
            _Rect(
                x=plot_x + worker.start_s * scale,
                y=worker_y,
                w=max(2.0, (worker.end_s - worker.start_s) * scale),
                h=_WORKER_BAR,
                fill=_color(job.status),
                opacity=0.55,
                radius=1.0,
                css_class="worker",
                data=(("worker-of", job.name), ("worker", worker.worker)),
                title=f"{job.name} {worker.worker}: {worker.end_s - worker.start_s:.1f} s"
                + (f", {worker.tests} tests" if worker.tests is not None else ""),
            )
        )
        worker_y += _WORKER_BAR + _WORKER_GAP
    return x, x + w, bar_y + _BAR / 2


def _critical_links(timeline: Timeline, placed: Mapping[str, tuple[float, float, float]]) -> list[_Shape]:
    """An elbow from each critical job's end to the next one's start, so the chain reads
    as one: down from the bar's edge (clear of its duration text), then across."""
    chain = [placed[n] for n in timeline.critical_path if n in placed]
    links: list[_Shape] = []
    for (_, end_x, end_y), (start_x, _, start_y) in itertools.pairwise(chain):
        if start_y == end_y:
            continue
        edge = end_y + _BAR / 2 if start_y > end_y else end_y - _BAR / 2
        x = end_x - 1
        links.append(
            _Line(
                x1=x,
                y1=edge,
                x2=x,
                y2=start_y,
                stroke=_INK,
                width=1.2,
                dashed=True,
                css_class="critical-link",
            )
        )
        links.append(
            _Line(x1=x, y1=start_y, x2=start_x, y2=start_y, stroke=_INK, width=1.2, css_class="critical-link")
        )
    return links


def _legend(out: _Layout, *, y: float, workers: bool) -> None:
    add = out.shapes.append
    x = _MARGIN
    for status in ("success", "failed", "cached", "skipped"):
        skipped = status == "skipped"
        add(
            _Rect(
                x=x,
                y=y - 10,
                w=14,
                h=12,
                fill=STATUS_COLORS[status],
                radius=2,
                css_class="legend",
                stroke=_SKIPPED_EDGE if skipped else None,
                stroke_width=1 if skipped else 0,
                dashed=skipped,
            )
        )
        add(_Text(x=x + 20, y=y, text=status, size=12, fill=_INK))
        x += 28 + _text_width(status, 12)
    add(
        _Rect(
            x=x,
            y=y - 10,
            w=14,
            h=12,
            fill="#ffffff",
            stroke=_INK,
            stroke_width=2,
            radius=2,
            css_class="legend",
        )
    )
    add(_Text(x=x + 20, y=y, text="critical path", size=12, fill=_INK))
    x += 28 + _text_width("critical path", 12)
    if workers:
        add(_Rect(x=x, y=y - 6, w=14, h=_WORKER_BAR, fill=_MUTED, opacity=0.55, css_class="legend"))
        add(_Text(x=x + 20, y=y, text="xdist worker", size=12, fill=_INK))


# -- SVG ------------------------------------------------------------------------------------------


def _clean(text: str) -> str:
    return _XML_INVALID.sub("?", text)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def render_svg(source: Mapping[str, Any] | Timeline) -> str:
    """The timeline as a standalone SVG document (also fit to inline in HTML)."""
    timeline = source if isinstance(source, Timeline) else timeline_from_report(source)
    layout = _layout(timeline)
    w, h = _num(layout.width), _num(layout.height)
    lines = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        f'role="img" class="slipway-timeline">',
        f"<title>{escape(_clean(timeline.title))}</title>",
        # Attributes, not a <style> element: inlined in HTML a <style> would leak to the page.
        f'<g font-family="{_FONT_FAMILY}">',
        f'<rect width="{w}" height="{h}" fill="#ffffff"/>',
    ]
    lines += [_svg_shape(shape) for shape in layout.shapes]
    lines += ["</g>", "</svg>"]
    return "\n".join(lines) + "\n"


def _svg_shape(shape: _Shape) -> str:
    if isinstance(shape, _Text):
        weight = ' font-weight="bold"' if shape.bold else ""
        return (
            f'<text x="{_num(shape.x)}" y="{_num(shape.y)}" font-size="{_num(shape.size)}" '
            f'fill="{shape.fill}" text-anchor="{shape.anchor}"{weight}>{escape(_clean(shape.text))}</text>'
        )
    if isinstance(shape, _Line):
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


# -- PNG ------------------------------------------------------------------------------------------


def render_png(source: Mapping[str, Any] | Timeline, path: Path, *, scale: float = 2.0) -> bool:
    """Draw the timeline to ``path`` as PNG; False (nothing written) without Pillow."""
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:
        return False
    timeline = source if isinstance(source, Timeline) else timeline_from_report(source)
    layout = _layout(timeline)
    image = Image.new("RGB", (math.ceil(layout.width * scale), math.ceil(layout.height * scale)), "#ffffff")
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

    for shape in layout.shapes:
        if isinstance(shape, _Text):
            anchor = {"start": "ls", "middle": "ms", "end": "rs"}[shape.anchor]
            draw.text(
                (s(shape.x), s(shape.y)),
                shape.text,
                fill=shape.fill,
                font=font(shape.size, shape.bold),
                anchor=anchor,
            )
        elif isinstance(shape, _Line):
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
    return True


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


# -- files ----------------------------------------------------------------------------------------


def write_timeline(report: Mapping[str, Any], report_dir: Path) -> list[Path]:
    """Write timeline.svg (always) and timeline.png (with Pillow) into ``report_dir``."""
    timeline = timeline_from_report(report)
    report_dir.mkdir(parents=True, exist_ok=True)
    svg = report_dir / SVG_FILE
    svg.write_text(render_svg(timeline), encoding="utf-8")
    written = [svg]
    png = report_dir / PNG_FILE
    if render_png(timeline, png):
        written.append(png)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pipeline.reports.timeline REPORT_DIR``: render that run's report.json."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m pipeline.reports.timeline REPORT_DIR", file=sys.stderr)
        return 2
    report_dir = Path(args[0])
    try:
        report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"{report_dir / 'report.json'}: cannot read the report: {exc}", file=sys.stderr)
        return 2
    for path in write_timeline(report, report_dir):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
