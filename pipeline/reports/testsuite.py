"""After the jobs: one JUnit file, one coverage report, failures with their reproduce
commands, flaky and quarantined tests, durations stored for the next split, and
each shard's time with the imbalance (longest / mean).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pipeline.config.model import PytestStage
from pipeline.model.outcome import JobStatus
from pipeline.reports import coverage, junit
from pipeline.reports.paths import path_map
from pipeline.scheduler import JobRecord, SchedulerResult
from pipeline.stages.base import PipelineRun, safe_name
from pipeline.stages.pytest import durations as stored_durations
from pipeline.stages.pytest import shards
from pipeline.stages.pytest.junit import JUnitError

MERGED_JUNIT = "junit.xml"
JOB_JUNIT_DIR = "junit"  # one file per test job, for CI test reports that take a glob
MERGED_COVERAGE = "coverage.xml"


def _artifact(record: JobRecord, suffix: str) -> Path | None:
    for path in record.outcome.artifacts if record.outcome else ():
        if path.name == suffix and path.is_file():
            return path
    return None


def _pytest_records(result: SchedulerResult) -> list[JobRecord]:
    return [
        r
        for r in result.records
        if r.job.kind == "pytest" and r.outcome is not None and r.status is not JobStatus.SKIPPED
    ]


def merge_junit(run: PipelineRun, records: list[JobRecord]) -> Path | None:
    """Each job's JUnit as CI systems read it (``junit/<job>.xml``: repository paths,
    1-based lines), and all of them merged (``junit.xml``)."""
    paths = path_map(run.config)
    written: list[Path] = []
    for record in records:
        source = _artifact(record, "junit.xml")
        if source is None:
            continue
        rootdir = (record.outcome.data if record.outcome else {}).get("pytest_rootdir")
        stage = record.job.stage

        def to_repo(file: str, stage: str = stage, rootdir: object = rootdir) -> str | None:
            return paths.test_file(file, stage=stage, rootdir=rootdir if isinstance(rootdir, str) else None)

        dest = run.report_dir / JOB_JUNIT_DIR / f"{safe_name(record.job.name)}.xml"
        try:
            written.append(junit.ci_copy(source, dest, suite=record.job.name, to_repo=to_repo))
        except JUnitError:
            continue  # the job failed with that reason already (stages/pytest/results.py)
    if not written:
        return None
    target = run.report_dir / MERGED_JUNIT
    junit.merge(written, target)
    return target


def combine_coverage(run: PipelineRun, records: list[JobRecord]) -> float | None:
    """Combine every job's coverage data, container paths mapped back to the repository."""
    data_files = [p for r in records if (p := _artifact(r, ".coverage")) is not None]
    return coverage.combine(
        data_files,
        data_file=run.report_dir / ".coverage",
        xml_file=run.report_dir / MERGED_COVERAGE,
        root=run.config.project_root,
    )


def _threshold(run: PipelineRun) -> float | None:
    values = [
        s.coverage.threshold
        for s in run.config.model.stages
        if isinstance(s, PytestStage) and s.coverage is not None and s.coverage.threshold is not None
    ]
    return max(values) if values else None


def store_durations(run: PipelineRun, records: list[JobRecord]) -> None:
    by_stage: dict[str, dict[str, float]] = defaultdict(dict)
    for record in records:
        path = _artifact(record, "durations.json")
        if path is not None:
            by_stage[record.job.stage].update(shards.read_durations(path))
    for stage, found in by_stage.items():
        stored_durations.save_for(run, stage, found)


def shard_balance(jobs: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Per sharded stage: each shard's time and the imbalance (longest / mean), from
    report.json-shaped job entries (a run's own, or several runs' merged)."""
    by_stage: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for job in jobs:
        if job.get("shard"):
            by_stage[job["stage"]].append(job)
    out: dict[str, Any] = {}
    for stage, group in by_stage.items():
        group.sort(key=lambda j: int(str(j["shard"]).split("/")[0]))
        test_seconds = [float(j.get("test_seconds") or 0.0) for j in group]
        wall = [float(j.get("duration_s") or 0.0) for j in group]
        out[stage] = {
            "shards": [
                {"job": j["name"], "duration_s": j["duration_s"], "test_seconds": t}
                for j, t in zip(group, test_seconds, strict=True)
            ],
            # A shard's time is what a user (or a CI matrix runner) waits for: its wall
            # time. The summed test time, what the split itself balances, is kept too;
            # it is noisier, since each worker's first test carries its session set-up.
            "imbalance": round(shards.imbalance_of(wall), 3) if any(wall) else None,
            "test_imbalance": round(shards.imbalance_of(test_seconds), 3) if any(test_seconds) else None,
        }
        # What the split itself promised from the recorded durations (the same list in
        # every shard's entry): deterministic, unlike the two measured ratios above.
        planned = group[0].get("shard_estimates_s")
        if planned:
            out[stage]["planned_imbalance"] = round(shards.imbalance_of([float(t) for t in planned]), 3)
    return out


def _shard_entries(records: list[JobRecord]) -> list[dict[str, Any]]:
    return [
        {
            "name": r.job.name,
            "stage": r.job.stage,
            "shard": str(r.job.shard) if r.job.shard else None,
            "duration_s": r.duration_s,
            "test_seconds": (r.outcome.data if r.outcome else {}).get("test_seconds"),
            "shard_estimates_s": (r.outcome.data if r.outcome else {}).get("shard_estimates_s"),
        }
        for r in records
    ]


def finalize(run: PipelineRun, result: SchedulerResult) -> dict[str, Any]:
    records = _pytest_records(result)
    if not records:
        return {}
    extra: dict[str, Any] = {}
    merged = merge_junit(run, records)
    if merged is not None:
        extra["junit"] = merged.name
    percent = combine_coverage(run, records)
    if percent is not None:
        extra["coverage_percent"] = percent
        threshold = _threshold(run)
        extra["coverage_threshold"] = threshold
        if threshold is not None and percent < threshold:
            extra.setdefault("failed_checks", []).append(
                f"coverage {percent:.1f}% is below the threshold {threshold:.1f}%"
            )
    failures: list[dict[str, str]] = []
    flaky: list[dict[str, str]] = []
    quarantined: list[dict[str, str]] = []
    for record in records:
        data = record.outcome.data if record.outcome else {}
        failures += [{**f, "job": record.job.name} for f in data.get("failures", [])]
        flaky += [{"test": t, "job": record.job.name} for t in data.get("flaky_tests", [])]
        quarantined += [{"test": t, "job": record.job.name} for t in data.get("quarantined", [])]
    extra.update({"failures": failures, "flaky_tests": flaky, "quarantined_tests": quarantined})
    balance = shard_balance(_shard_entries(records))
    if balance:
        extra["shards"] = balance
    store_durations(
        run, [r for r in records if r.status is JobStatus.SUCCESS or r.status is JobStatus.FAILED]
    )
    return extra
