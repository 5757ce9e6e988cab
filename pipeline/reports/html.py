"""report.html: one self-contained page of a run, for a person who opens the CI artifact.

Jobs with status and duration, the timeline picture (the SVG inlined), failing
tests with their reproduce command and log excerpt, flaky and quarantined tests,
coverage, and for a merged run every shard with the run it came from. Nothing on
the page loads from the network: the CSS is inline, fonts are the system's, no
script. Rendered with jinja2, autoescape on: test names and logs are data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

HTML_FILE = "report.html"
TIMELINE_SVG = "timeline.svg"
EXCERPT_LINES = 60
_LOG_TAIL_BYTES = 512 * 1024  # of a failed job's log read for excerpts: a failure is near the end
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_PYTEST_HEADER = re.compile(r"^_{3,} (.+?) _{3,}$")
# Where a failure's block ends: the next block, the next "=== ... ===" section, or the
# "--- generated xml file: ... ---" line pytest prints after the last one.
_PYTEST_END = re.compile(r"^(?:_{3,} .+ _{3,}|={3,}.*={3,}|-+ generated xml file: .*)$")


def _float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0


def _when(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _entries(value: object) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


# -- log excerpts ---------------------------------------------------------------------------------


def _clip(lines: list[str], max_lines: int) -> list[str]:
    if len(lines) <= max_lines:
        return lines
    # The head names the test, the tail holds the assertion and where it failed.
    head = max(3, max_lines // 6)
    return [
        *lines[:head],
        f"... ({len(lines) - max_lines} lines left out) ...",
        *lines[-(max_lines - head) :],
    ]


def log_excerpt(log_text: str, node_id: str | None = None, *, max_lines: int = EXCERPT_LINES) -> str:
    """The part of a job's log about one test: pytest's FAILURES block for ``node_id``
    (``____ Class.test[p] ____`` up to the next block), else the log's last lines."""
    lines = _ANSI.sub("", log_text).splitlines()
    if node_id and "::" in node_id:
        head_line = ".".join(node_id.split("::")[1:])  # how pytest titles a failure
        for start, line in enumerate(lines):
            match = _PYTEST_HEADER.match(line.strip())
            if match and match.group(1) == head_line:
                end = next(
                    (i for i in range(start + 1, len(lines)) if _PYTEST_END.match(lines[i].strip())),
                    len(lines),
                )
                return "\n".join(_clip(lines[start:end], max_lines))
    return "\n".join(_clip(lines[-max_lines:], max_lines))


def read_logs(report: Mapping[str, Any], report_dir: Path) -> dict[str, str]:
    """The logs (their last 512 KiB) of the failed jobs, by job name, for ``render_html``."""
    logs: dict[str, str] = {}
    for job in _entries(report.get("jobs")):
        if job.get("status") != "failed" or not job.get("log"):
            continue
        path = report_dir / str(job["log"])
        try:
            with path.open("rb") as handle:
                size = path.stat().st_size
                handle.seek(max(0, size - _LOG_TAIL_BYTES))
                logs[str(job.get("name"))] = handle.read().decode("utf-8", "replace")
        except OSError:
            continue
    return logs


# -- the page -------------------------------------------------------------------------------------

_CSS = """
:root { --ok: #1a7f37; --fail: #cf222e; --cached: #8250df; --skip: #6e7781; --ink: #1f2328;
        --muted: #57606a; --line: #d0d7de; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial,
       sans-serif; color: var(--ink); background: #fff; }
main { max-width: 1260px; margin: 0 auto; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 0 0 6px; word-break: break-all; }
h3 code { font-size: 14px; }
code, pre { font: 12.5px/1.45 ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas,
            monospace; }
pre { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px;
      overflow-x: auto; white-space: pre; margin: 4px 0 12px; }
pre.command { background: #0d1117; color: #e6edf3; border-color: #0d1117; }
.facts { color: var(--muted); margin: 0; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px; font-weight: 600;
         color: #fff; vertical-align: middle; white-space: nowrap; }
.success { background: var(--ok); } .failed { background: var(--fail); }
.cached { background: var(--cached); }
.skipped, .unknown { background: var(--skip); } .interrupted { background: #9a6700; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px; min-width: 110px; }
.card b { display: block; font-size: 22px; }
.card.bad b { color: var(--fail); }
.alert { border-left: 4px solid var(--fail); background: #ffebe9; padding: 8px 12px; margin: 8px 0;
         border-radius: 4px; }
.alert.warn { border-color: #9a6700; background: #fff8c5; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
td.wrap { overflow-wrap: anywhere; }  /* node ids have no spaces; only they may break anywhere */
th { background: var(--soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.critical td:first-child { font-weight: 700; }
.failure { border: 1px solid var(--line); border-left: 4px solid var(--fail); border-radius: 6px;
           padding: 12px 14px; margin: 12px 0; }
.label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.timeline { overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; }
.timeline svg { display: block; max-width: 100%; height: auto; }
.meter { height: 10px; background: var(--soft); border: 1px solid var(--line); border-radius: 5px;
         width: 240px; position: relative; margin-top: 6px; }
.meter span { display: block; height: 100%; background: var(--ok); border-radius: 5px; }
.meter i { position: absolute; top: -4px; bottom: -4px; width: 2px; background: var(--ink); }
.muted { color: var(--muted); }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
"""

_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Slipway run {{ run_id }}: {{ status }}</title>
<style>{{ css }}</style>
</head>
<body>
<main>
<header>
<h1>Slipway run {{ run_id }} <span class="badge {{ status_class }}">{{ status }}</span></h1>
<p class="facts">{{ facts | join(" · ") }}</p>
</header>
{% for check in failed_checks %}<div class="alert">{{ check }}</div>
{% endfor %}{% for warning in warnings %}<div class="alert warn">{{ warning }}</div>
{% endfor %}
<section class="cards">
{% for card in cards %}<div class="card{{ ' bad' if card.bad else '' }}">
<b>{{ card.value }}</b>{{ card.label }}</div>
{% endfor %}{% if coverage is not none %}<div class="card"><b>{{ coverage.percent }}</b>coverage
<div class="meter"><span style="width: {{ coverage.width }}%"></span>
{%- if coverage.threshold is not none %}
<i style="left: {{ coverage.threshold_at }}%" title="threshold {{ coverage.threshold }}"></i>{% endif %}</div>
{% if coverage.threshold is not none %}<div class="muted">threshold {{ coverage.threshold }}</div>{% endif %}
</div>{% endif %}
</section>

{% if failures %}
<h2 id="failures">Failing tests ({{ failures | length }})</h2>
{% for failure in failures %}
<article class="failure">
<h3><code>{{ failure.test }}</code></h3>
<div class="muted">in job {{ failure.job }}</div>
<div class="label">Reproduce</div>
<pre class="command"><code>{{ failure.reproduce }}</code></pre>
{% if failure.excerpt %}<div class="label">Log excerpt</div>
<pre>{{ failure.excerpt }}</pre>{% endif %}
</article>
{% endfor %}
{% endif %}

{% if failed_jobs %}
<h2 id="failed-jobs">Failed jobs</h2>
{% for job in failed_jobs %}
<article class="failure">
<h3>{{ job.name }}</h3>
<div class="muted">{{ job.detail }}
{%- if job.log %} · log <a href="{{ job.log }}">{{ job.log }}</a>{% endif %}</div>
{% if job.excerpt %}<pre>{{ job.excerpt }}</pre>{% endif %}
</article>
{% endfor %}
{% endif %}

{% if timeline_svg %}
<h2 id="timeline">Timeline</h2>
<div class="timeline">{{ timeline_svg }}</div>
{% endif %}

<h2 id="jobs">Jobs ({{ jobs | length }})</h2>
<table>
<thead><tr><th>job</th>{% if merged %}<th>run</th>{% endif %}<th>stage</th><th>kind</th><th>status</th>
<th class="num">starts at</th>
<th class="num">duration</th><th class="num">tests</th><th>detail</th><th>log</th></tr></thead>
<tbody>
{% for job in jobs %}<tr class="{{ 'critical' if job.critical else '' }}">
<td>{{ job.name }}{% if job.critical %} ★{% endif %}</td>{% if merged %}<td>{{ job.run }}</td>{% endif %}
<td>{{ job.stage }}</td><td>{{ job.kind }}</td>
<td><span class="badge {{ job.status_class }}">{{ job.status }}</span></td>
<td class="num">{{ job.offset }}</td><td class="num">{{ job.duration }}</td>
<td class="num">{{ job.tests }}</td>
<td class="wrap">{{ job.detail }}</td><td>{% if job.log %}<a href="{{ job.log }}">log</a>{% endif %}</td></tr>
{% endfor %}
</tbody>
</table>
{% if critical_path %}
<p>★ <b>Critical path</b> ({{ critical_seconds }}): {{ critical_path | join(" → ") }}</p>
{% endif %}

{% if shards %}
<h2 id="shards">Shards</h2>
{% for stage in shards %}
<h3>{{ stage.name }}</h3>
<p class="muted">{{ stage.facts | join(" · ") }}</p>
<table>
<thead><tr><th>shard</th><th>job</th>{% if merged %}<th>run</th>{% endif %}<th>status</th>
<th class="num">duration</th><th class="num">test time</th><th class="num">tests</th></tr></thead>
<tbody>
{% for shard in stage.rows %}<tr><td>{{ shard.shard }}</td><td>{{ shard.job }}</td>
{% if merged %}<td>{{ shard.run }}</td>{% endif %}
<td><span class="badge {{ shard.status_class }}">{{ shard.status }}</span></td>
<td class="num">{{ shard.duration }}</td><td class="num">{{ shard.test_seconds }}</td>
<td class="num">{{ shard.tests }}</td></tr>
{% endfor %}
</tbody>
</table>
{% endfor %}
{% endif %}

{% if merged %}
<h2 id="runs">Merged runs</h2>
<table>
<thead><tr><th>run</th><th>from</th><th class="num">jobs</th><th class="num">failed</th></tr></thead>
<tbody>
{% for run in merged %}<tr><td>{{ run.run_id }}</td><td>{{ run.source }}</td>
<td class="num">{{ run.jobs }}</td>
<td class="num">{{ run.failed }}</td></tr>
{% endfor %}
</tbody>
</table>
{% endif %}

{% for group in test_lists %}
<h2 id="{{ group.id }}">{{ group.title }} ({{ group.entries | length }})</h2>
<p class="muted">{{ group.note }}</p>
<ul>
{% for entry in group.entries %}
<li><code>{{ entry.test }}</code> <span class="muted">in {{ entry.job }}</span></li>
{% endfor %}
</ul>
{% endfor %}

<footer>Slipway · report.json, junit.xml and the job logs sit next to this file.</footer>
</main>
</body>
</html>
"""

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
_PAGE = _ENV.from_string(_TEMPLATE)


def _status_class(status: str) -> str:
    return status if status in ("success", "failed", "cached", "skipped", "interrupted") else "unknown"


def _tests_text(value: object) -> str:
    if not isinstance(value, Mapping):
        return ""
    text = f"{value.get('passed', 0)} passed"
    for key in ("failed", "errors", "skipped", "flaky"):
        if value.get(key):
            text += f", {value[key]} {key}"
    return text


def _seconds_text(value: float) -> str:
    return f"{value:.1f} s"


def render_html(
    report: Mapping[str, Any],
    *,
    timeline_svg: str | None = None,
    logs: Mapping[str, str] | None = None,
    excerpt_lines: int = EXCERPT_LINES,
) -> str:
    """The page for a report.json mapping (a run's own or merged).

    ``timeline_svg``: the picture to inline (``timeline.render_svg(report)``);
    ``logs``: job name -> log text, for the failures' excerpts (``read_logs``).
    """
    logs = logs or {}
    jobs = _entries(report.get("jobs"))
    status = str(report.get("status") or "unknown")
    critical = [str(n) for n in report.get("critical_path") or []]
    origin = _when(report.get("started"))
    by_name = {str(j.get("name")): j for j in jobs}

    facts = [f"commit {str(report.get('git_sha') or '?')[:12]}", f"engine {report.get('engine') or '?'}"]
    if origin:
        facts.append(f"started {origin.isoformat(sep=' ', timespec='seconds')}")
    if report.get("duration_s") is not None:
        facts.append(f"took {_seconds_text(_float(report['duration_s']))}")
    facts.append(f"{len(jobs)} jobs")

    tests = report.get("tests") if isinstance(report.get("tests"), Mapping) else None
    cards = []
    if tests:
        for key in ("passed", "failed", "errors", "skipped", "flaky"):
            cards.append(
                {
                    "label": key,
                    "value": tests.get(key, 0),
                    "bad": key in ("failed", "errors") and bool(tests.get(key)),
                }
            )
    for job_status in ("failed",):
        count = sum(1 for j in jobs if j.get("status") == job_status)
        if count:
            cards.append({"label": "jobs failed", "value": count, "bad": True})

    failures = []
    for failure in _entries(report.get("failures")):
        job_name = str(failure.get("job", ""))
        log = logs.get(job_name)
        failures.append(
            {
                "test": str(failure.get("test", "")),
                "job": job_name,
                "reproduce": str(failure.get("reproduce", "")),
                "excerpt": log_excerpt(log, str(failure.get("test", "")), max_lines=excerpt_lines)
                if log
                else "",
            }
        )
    failing_jobs = {f["job"] for f in failures}
    failed_jobs = [
        {
            "name": str(j.get("name")),
            "detail": str(j.get("detail") or ""),
            "log": str(j.get("log") or ""),
            "excerpt": log_excerpt(logs[str(j.get("name"))], max_lines=excerpt_lines)
            if str(j.get("name")) in logs
            else "",
        }
        for j in jobs
        if j.get("status") == "failed" and str(j.get("name")) not in failing_jobs
    ]

    job_rows = []
    for job in jobs:
        started = _when(job.get("started"))
        offset = ""
        if origin and started:
            try:
                offset = f"+{(started - origin).total_seconds():.1f} s"
            except TypeError:
                offset = ""
        name = str(job.get("name"))
        job_status = str(job.get("status") or "unknown")
        job_rows.append(
            {
                "name": name + (f" ({job['shard']})" if job.get("shard") else ""),
                "run": str(job.get("run_id") or ""),
                "stage": str(job.get("stage") or ""),
                "kind": str(job.get("kind") or ""),
                "status": job_status,
                "status_class": _status_class(job_status),
                "offset": offset,
                "duration": _seconds_text(_float(job.get("duration_s")))
                if started or job_status != "skipped"
                else "",
                "tests": _tests_text(job.get("tests")),
                "detail": str(job.get("detail") or ""),
                "log": str(job.get("log") or ""),
                "critical": name in critical,
            }
        )

    coverage = None
    raw_coverage = report.get("coverage")
    if isinstance(raw_coverage, Mapping) and raw_coverage.get("percent") is not None:
        percent = _float(raw_coverage["percent"])
        threshold = report.get("coverage_threshold")
        coverage = {
            "percent": f"{percent:.1f}%",
            "width": f"{max(0.0, min(100.0, percent)):.1f}",
            "threshold": f"{_float(threshold):.1f}%" if threshold is not None else None,
            "threshold_at": f"{max(0.0, min(100.0, _float(threshold))):.1f}"
            if threshold is not None
            else "0",
        }

    merged = _merged_runs(report, jobs)
    page = _PAGE.render(
        css=Markup(_CSS),  # noqa: S704 -- our own constant
        run_id=str(report.get("run_id") or "?"),
        status=status,
        status_class=_status_class(status),
        facts=facts,
        failed_checks=[str(c) for c in report.get("failed_checks") or []],
        warnings=[str(w) for w in report.get("warnings") or []],
        cards=cards,
        coverage=coverage,
        failures=failures,
        failed_jobs=failed_jobs,
        # Drawn by our own timeline module, which escapes every text it writes.
        timeline_svg=Markup(_strip_xml_declaration(timeline_svg)) if timeline_svg else None,  # noqa: S704
        jobs=job_rows,
        critical_path=critical,
        critical_seconds=_seconds_text(sum(_float(by_name.get(n, {}).get("duration_s")) for n in critical)),
        shards=_shards(report, by_name, jobs),
        merged=merged,
        test_lists=_test_lists(report),
    )
    return page


def _strip_xml_declaration(svg: str) -> str:
    # Inline in HTML an SVG must start at <svg>: a declaration or doctype would show as text.
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else ""


def _shards(
    report: Mapping[str, Any], by_name: Mapping[str, Mapping[str, Any]], jobs: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Every sharded stage: its shards (from every run, for a merged report) and imbalance."""
    balance = report.get("shards") if isinstance(report.get("shards"), Mapping) else {}
    stages: dict[str, list[Mapping[str, Any]]] = {}
    for job in jobs:
        if job.get("shard"):
            stages.setdefault(str(job.get("stage") or job.get("name")), []).append(job)
    out = []
    for stage, group in stages.items():
        info = balance.get(stage) if isinstance(balance, Mapping) else None
        info = info if isinstance(info, Mapping) else {}
        facts = []
        for key, label in (
            ("imbalance", "imbalance (longest / mean wall time)"),
            ("test_imbalance", "test-time imbalance"),
            ("planned_imbalance", "planned imbalance"),
        ):
            if info.get(key) is not None:
                facts.append(f"{label} {_float(info[key]):.2f}")
        test_seconds = {str(s.get("job")): s.get("test_seconds") for s in _entries(info.get("shards"))}
        rows = []
        for job in sorted(group, key=lambda j: (_shard_index(j.get("shard")), str(j.get("run_id") or ""))):
            seconds = job.get("test_seconds", test_seconds.get(str(job.get("name"))))
            job_status = str(job.get("status") or "unknown")
            rows.append(
                {
                    "shard": str(job.get("shard")),
                    "job": str(job.get("name")),
                    "run": str(job.get("run_id") or ""),
                    "status": job_status,
                    "status_class": _status_class(job_status),
                    "duration": _seconds_text(_float(job.get("duration_s"))),
                    "test_seconds": _seconds_text(_float(seconds)) if seconds is not None else "",
                    "tests": _tests_text(job.get("tests")),
                }
            )
        out.append({"name": stage, "facts": facts, "rows": rows})
    return out


def _shard_index(shard: object) -> int:
    try:
        return int(str(shard).split("/")[0])
    except ValueError:
        return 0


def _merged_runs(report: Mapping[str, Any], jobs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    sources = [str(s) for s in report.get("merged_from") or []]
    if not sources:
        return []
    run_ids: list[str] = []
    for job in jobs:
        run = str(job.get("run_id") or "")
        if run and run not in run_ids:
            run_ids.append(run)
    # merge-reports keeps the sources' order, and jobs in that order: pair them up.
    out = []
    for index, run in enumerate(run_ids):
        mine = [j for j in jobs if str(j.get("run_id") or "") == run]
        out.append(
            {
                "run_id": run,
                "source": sources[index] if index < len(sources) and len(sources) == len(run_ids) else "",
                "jobs": len(mine),
                "failed": sum(1 for j in mine if j.get("status") == "failed"),
            }
        )
    return out


def _test_lists(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key, title, note, anchor in (
        ("flaky_tests", "Flaky tests", "Failed, then passed on a rerun.", "flaky"),
        (
            "quarantined_tests",
            "Quarantined tests",
            "Failed, but quarantined in pipeline.yaml: they neither count nor fail the build.",
            "quarantined",
        ),
    ):
        entries = [
            {"test": str(e.get("test", "")), "job": str(e.get("job", ""))} for e in _entries(report.get(key))
        ]
        if entries:
            out.append({"id": anchor, "title": title, "note": note, "entries": entries})
    return out


def write_html(report: Mapping[str, Any], report_dir: Path, *, timeline_svg: str | None = None) -> Path:
    """Write ``report_dir/report.html``; the timeline is the given SVG or the
    timeline.svg already in the directory, the excerpts come from the failed jobs' logs."""
    if timeline_svg is None:
        try:
            timeline_svg = (report_dir / TIMELINE_SVG).read_text(encoding="utf-8")
        except OSError:
            timeline_svg = None
    page = render_html(report, timeline_svg=timeline_svg, logs=read_logs(report, report_dir))
    report_dir.mkdir(parents=True, exist_ok=True)
    path = report_dir / HTML_FILE
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path
