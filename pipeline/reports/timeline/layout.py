"""Where everything goes: rows, bars, worker sub-bars, the axis, the legend and the
critical path's links, as a list of shapes (``shapes.py``) for the SVG and the PNG."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

from pipeline.reports.timeline.model import JobSpan, Timeline
from pipeline.reports.timeline.shapes import (
    BAR,
    GRID,
    INK,
    MARGIN,
    MUTED,
    NICE_STEPS,
    RIGHT,
    ROW,
    SKIPPED_EDGE,
    STATUS_COLORS,
    STRIPE,
    UNKNOWN_COLOR,
    WIDTH,
    WORKER_BAR,
    WORKER_GAP,
    Layout,
    Line,
    Rect,
    Shape,
    Text,
)


def _text_width(text: str, size: float) -> float:
    # A generous average for DejaVu Sans: the label column must never clip a name.
    return len(text) * size * 0.62


def _tick_step(total: float) -> int:
    return next((s for s in NICE_STEPS if total / s <= 10), NICE_STEPS[-1])


def _duration_text(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds >= 100 else f"{seconds:.1f} s"


def _color(status: str) -> str:
    return STATUS_COLORS.get(status, UNKNOWN_COLOR)


def layout(timeline: Timeline) -> Layout:
    """The picture of ``timeline`` as shapes, top to bottom."""
    out = Layout(width=WIDTH)
    add = out.shapes.append
    add(Text(x=MARGIN, y=30, text=timeline.title, size=17, bold=True))
    add(Text(x=MARGIN, y=50, text=timeline.subtitle, size=12, fill=MUTED))
    _legend(out, y=72.0, workers=any(j.workers for j in timeline.jobs))

    label_w = min(320.0, max(120.0, *(_text_width(j.label, 12) for j in timeline.jobs)))
    plot_x = MARGIN + label_w + 12
    plot_w = WIDTH - plot_x - RIGHT
    scale = plot_w / timeline.total_s
    step = _tick_step(timeline.total_s)
    top = 112.0

    rows: list[tuple[JobSpan, float, float]] = []  # job, row top, row height
    y = top
    for job in timeline.jobs:
        height = ROW + len(job.workers) * (WORKER_BAR + WORKER_GAP)
        rows.append((job, y, height))
        y += height
    bottom = y

    # Stripes and grid first, so bars and labels sit on top.
    for index, (job, row_y, height) in enumerate(rows):
        if index % 2 == 0:
            add(Rect(x=MARGIN, y=row_y, w=WIDTH - 2 * MARGIN, h=height, fill=STRIPE))
        if index and job.stage != rows[index - 1][0].stage:
            add(Line(x1=MARGIN, y1=row_y, x2=WIDTH - MARGIN, y2=row_y, stroke=GRID))
    ticks = range(0, int(timeline.total_s) + 1, step)
    for tick in ticks:
        x = plot_x + tick * scale
        add(Line(x1=x, y1=top - 4, x2=x, y2=bottom + 4, stroke=GRID, css_class="tick"))
        add(Text(x=x, y=top - 8, text=f"{tick} s", size=11, fill=MUTED, anchor="middle"))
        add(Text(x=x, y=bottom + 18, text=f"{tick} s", size=11, fill=MUTED, anchor="middle"))
    add(
        Text(
            x=plot_x + plot_w / 2,
            y=bottom + 38,
            text="seconds since the run started",
            size=11,
            fill=MUTED,
            anchor="middle",
        )
    )

    links_at = len(out.shapes)  # the critical path's links go under the bars, over the grid
    ends = _resolved_ends(timeline.jobs)
    placed: dict[str, tuple[float, float, float]] = {}  # job -> bar x, x end, middle y
    for job, row_y, _height in rows:
        bar_y = row_y + (ROW - BAR) / 2
        add(
            Text(
                x=plot_x - 10,
                y=bar_y + BAR - 4,
                text=job.label,
                size=12,
                anchor="end",
                bold=job.critical,
                fill=INK if job.status != "skipped" else MUTED,
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
    out: Layout, job: JobSpan, ends: Mapping[str, float], *, plot_x: float, bar_y: float, scale: float
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
        Rect(
            x=x,
            y=bar_y,
            w=w,
            h=BAR,
            fill=_color(job.status) if ran else STATUS_COLORS["skipped"],
            stroke=INK if job.critical else (None if ran else SKIPPED_EDGE),
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
    inside = x + w + 6 + _text_width(note, 11) > WIDTH - MARGIN and w > _text_width(note, 11) + 12
    add(
        Text(
            x=x + w - 6 if inside else x + w + 6,
            y=bar_y + BAR - 4,
            text=note,
            size=11,
            fill="#ffffff" if inside else (_color(job.status) if job.status == "failed" else MUTED),
            anchor="end" if inside else "start",
            bold=job.status == "failed",
        )
    )
    worker_y = bar_y + BAR + 3
    for worker in job.workers:
        add(
            Rect(
                x=plot_x + worker.start_s * scale,
                y=worker_y,
                w=max(2.0, (worker.end_s - worker.start_s) * scale),
                h=WORKER_BAR,
                fill=_color(job.status),
                opacity=0.55,
                radius=1.0,
                css_class="worker",
                data=(("worker-of", job.name), ("worker", worker.worker)),
                title=f"{job.name} {worker.worker}: {worker.end_s - worker.start_s:.1f} s"
                + (f", {worker.tests} tests" if worker.tests is not None else ""),
            )
        )
        worker_y += WORKER_BAR + WORKER_GAP
    return x, x + w, bar_y + BAR / 2


def _critical_links(timeline: Timeline, placed: Mapping[str, tuple[float, float, float]]) -> list[Shape]:
    """An elbow from each critical job's end to the next one's start, so the chain reads
    as one: down from the bar's edge (clear of its duration text), then across."""
    chain = [placed[n] for n in timeline.critical_path if n in placed]
    links: list[Shape] = []
    for (_, end_x, end_y), (start_x, _, start_y) in itertools.pairwise(chain):
        if start_y == end_y:
            continue
        edge = end_y + BAR / 2 if start_y > end_y else end_y - BAR / 2
        x = end_x - 1
        links.append(
            Line(
                x1=x,
                y1=edge,
                x2=x,
                y2=start_y,
                stroke=INK,
                width=1.2,
                dashed=True,
                css_class="critical-link",
            )
        )
        links.append(
            Line(x1=x, y1=start_y, x2=start_x, y2=start_y, stroke=INK, width=1.2, css_class="critical-link")
        )
    return links


def _legend(out: Layout, *, y: float, workers: bool) -> None:
    add = out.shapes.append
    x = MARGIN
    for status in ("success", "failed", "cached", "skipped"):
        skipped = status == "skipped"
        add(
            Rect(
                x=x,
                y=y - 10,
                w=14,
                h=12,
                fill=STATUS_COLORS[status],
                radius=2,
                css_class="legend",
                stroke=SKIPPED_EDGE if skipped else None,
                stroke_width=1 if skipped else 0,
                dashed=skipped,
            )
        )
        add(Text(x=x + 20, y=y, text=status, size=12, fill=INK))
        x += 28 + _text_width(status, 12)
    add(
        Rect(
            x=x,
            y=y - 10,
            w=14,
            h=12,
            fill="#ffffff",
            stroke=INK,
            stroke_width=2,
            radius=2,
            css_class="legend",
        )
    )
    add(Text(x=x + 20, y=y, text="critical path", size=12, fill=INK))
    x += 28 + _text_width("critical path", 12)
    if workers:
        add(Rect(x=x, y=y - 6, w=14, h=WORKER_BAR, fill=MUTED, opacity=0.55, css_class="legend"))
        add(Text(x=x + 20, y=y, text="xdist worker", size=12, fill=INK))
