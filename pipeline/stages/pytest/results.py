"""A pytest job's outcome from what its container exported: JUnit, coverage, exit code.

Failures get their reproduce command, whether they failed or errored, and their
cause (``verdict``); quarantined tests run and are reported but count neither in the
totals nor against the build; the job's durations are
written for the next shard split. A JUnit file that cannot be read (pytest
killed while writing it) fails the job with that reason, as any failed job.
"""

from __future__ import annotations

import shlex
from typing import Any

from pipeline.model.outcome import JobOutcome, JobStatus
from pipeline.stages.base import JobContext
from pipeline.stages.pytest import junit
from pipeline.stages.pytest import shards as sharding
from pipeline.stages.pytest.container import OUT_DIR, stage_of
from pipeline.stages.pytest.session import session_data
from pipeline.stages.pytest.verdict import plugin_report, verdict

# pytest's own exit codes (pytest.ExitCode) that mean "tests ran, some failed".
TESTS_FAILED = 1
NO_TESTS_COLLECTED = 5


def reproduce_command(ctx: JobContext, node_id: str) -> str:
    return f"python -m pipeline reproduce {shlex.quote(node_id)} --job {shlex.quote(ctx.job.name)}"


def quarantined(node_id: str, quarantine: tuple[str, ...]) -> bool:
    return any(
        node_id == q or node_id.startswith(q.rstrip(":") + "::") or node_id.startswith(q + "[")
        for q in quarantine
    )


def workers_text(data: dict[str, Any]) -> str:
    weight = data.get("cpu_weight")
    return f"{data.get('workers')} workers" + (f", CPU weight {weight}" if weight else "")


def read_results(  # noqa: PLR0911  one return per kind of outcome, in the order they are checked
    ctx: JobContext, exit_code: int, data: dict[str, Any]
) -> JobOutcome:
    """Turn the exported JUnit / coverage / exit code into the job's outcome."""
    stage = stage_of(ctx)
    out = ctx.artifacts_dir / OUT_DIR.lstrip("/")
    junit_path = out / "junit.xml"
    artifacts = sorted(p for p in out.rglob("*") if p.is_file()) if out.is_dir() else []
    data.update(session_data(out))  # pytest's rootdir, the xdist workers' timings

    def failed(detail: str, **more: Any) -> JobOutcome:
        return JobOutcome(
            status=JobStatus.FAILED, artifacts=tuple(artifacts), detail=detail, data=data, **more
        )

    if not junit_path.is_file():
        return failed(f"pytest exited {exit_code} and wrote no JUnit report; see {ctx.log_path.name}")
    try:
        cases = junit.results(junit_path, root=ctx.run.config.project_root / stage.workdir)
    except junit.JUnitError as exc:
        return failed(f"pytest exited {exit_code} and its JUnit report is unreadable ({exc}); "
                      f"see {ctx.log_path.name}")
    totals = junit.totals(cases)
    durations = junit.durations(cases)
    durations_path = out / "durations.json"
    sharding.write_durations(durations_path, durations)
    if durations_path not in artifacts:
        artifacts.append(durations_path)
    failing = junit.failing(cases)
    held = [t for t in failing if quarantined(t, stage.quarantine)]
    real_failures = [t for t in failing if t not in held]
    plugin = plugin_report(out)
    found = verdict(cases, set(held), plugin)
    data["failures"] = found.failures(lambda t: reproduce_command(ctx, t))
    data["flaky_tests"] = junit.flaky(cases)
    data["quarantined"] = held
    data["test_seconds"] = round(sum(durations.values()), 2)
    # What the plugin did and saw, under the report's names for it.
    names = (("database", "databases"), ("coverage", "coverage_note"), ("early_stop", "early_stop"))
    for theirs, ours in names:
        if theirs in plugin:
            data[ours] = plugin[theirs]
    if found.network:
        data["needs_network"] = [{"test": c.node_id, "cause": c.cause} for c in found.network]
    # A quarantined test runs and is reported, but cannot fail the build or the totals.
    tests = junit.totals(c for c in cases if c.node_id not in held)
    if exit_code == NO_TESTS_COLLECTED and (data.get("impact") or {}).get("deselected"):
        # Impact analysis left every test out: nothing the change touched is tested here.
        return JobOutcome(status=JobStatus.SUCCESS, artifacts=tuple(artifacts), tests=tests, data=data,
                          detail=f"no test affected by the change ({data['impact']['deselected']} left out)")
    if exit_code == NO_TESTS_COLLECTED:
        return failed("no tests collected: check the stage's paths and markers", tests=tests)
    ok_exit = exit_code == 0 or (exit_code == TESTS_FAILED and not real_failures and held)
    if ok_exit and not real_failures:
        left_out = (data.get("impact") or {}).get("deselected")
        parts = [f"{totals.passed} passed", workers_text(data)] + (
            [f"{left_out} left out by impact analysis"] if left_out else []
        )
        if totals.flaky:
            parts.append(f"{totals.flaky} flaky")
        if held:
            parts.append(f"{len(held)} quarantined failing")
        return JobOutcome(
            status=JobStatus.SUCCESS,
            artifacts=tuple(artifacts),
            tests=tests,
            detail=", ".join(parts),
            data=data,
        )
    if real_failures:
        return failed(found.detail(), tests=tests)
    return failed(f"pytest exited {exit_code}; see {ctx.log_path.name}", tests=tests)
