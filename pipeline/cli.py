"""The command line: thin typer commands that parse, call, and return an exit code.

One top-level handler (``main``) turns expected errors into their message and
exit code (2 usage/config/engine, 1 failed, 130 interrupted) and anything
unexpected into one line saying where the traceback was written.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import anyio
import typer
from rich.console import Console

from pipeline.config import Config, load_config
from pipeline.model.errors import EXIT_INTERRUPTED, EXIT_USAGE, SlipwayError, UsageError
from pipeline.plan import Plan, Shard, build_plan
from pipeline.run import execute, last_durations

app = typer.Typer(
    name="slipway",
    help="Slipway: the whole CI/CD pipeline of a Python web backend and its frontend, "
    "run the same on a laptop and in CI.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="The pipeline file.")]
OnlyOpt = Annotated[
    list[str] | None,
    typer.Option("--only", help="Run only these stages (name, group or kind), with their needs."),
]
SkipOpt = Annotated[list[str] | None, typer.Option("--skip", help="Leave these stages out.")]
NoNeedsOpt = Annotated[bool, typer.Option("--no-needs", help="With --only: not their needs.")]
ShardOpt = Annotated[
    str | None, typer.Option("--shard", help="i/N: run shard i of N of every sharded stage.")
]


class EngineChoice(StrEnum):
    auto = "auto"
    dagger = "dagger"
    docker = "docker"


class PlanFormat(StrEnum):
    text = "text"
    json = "json"
    mermaid = "mermaid"


def _plan(
    config: Config, only: list[str] | None, skip: list[str] | None, no_needs: bool, shard: str | None
) -> Plan:
    return build_plan(
        config,
        only=only or (),
        skip=skip or (),
        with_needs=not no_needs,
        shard=Shard.parse(shard) if shard else None,
        durations=last_durations(config),
    )


@app.command()
def plan(
    config: ConfigOpt = Path("pipeline.yaml"),
    format: Annotated[PlanFormat, typer.Option("--format", "-f")] = PlanFormat.text,
    only: OnlyOpt = None,
    skip: SkipOpt = None,
    no_needs: NoNeedsOpt = False,
    shard: ShardOpt = None,
    calls: Annotated[
        str | None, typer.Option("--calls", help="Print the engine calls JOB would make.")
    ] = None,
    engine: Annotated[EngineChoice, typer.Option("--engine")] = EngineChoice.auto,
) -> None:
    """Print the jobs, their needs and the critical path, before anything runs."""
    cfg = load_config(config)
    the_plan = _plan(cfg, only, skip, no_needs, shard)
    if calls is not None:
        from pipeline.describe import describe_job

        out.print(describe_job(cfg, the_plan.job(calls), engine.value), markup=False)
        return
    text = {
        PlanFormat.text: the_plan.to_text,
        PlanFormat.json: the_plan.to_json,
        PlanFormat.mermaid: the_plan.to_mermaid,
    }[format]()
    out.print(text, markup=False, soft_wrap=True)


@app.command()
def run(
    config: ConfigOpt = Path("pipeline.yaml"),
    engine: Annotated[EngineChoice, typer.Option("--engine", help="Which engine runs the jobs.")] = (
        EngineChoice.auto
    ),
    only: OnlyOpt = None,
    skip: SkipOpt = None,
    no_needs: NoNeedsOpt = False,
    shard: ShardOpt = None,
    report_dir: Annotated[
        Path, typer.Option("--report-dir", help="Where report.json, summary.md and logs go.")
    ] = Path("slipway-report"),
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", help="Jobs at once (default: CPU count).")
    ] = None,
    fail_fast: Annotated[bool, typer.Option("--fail-fast", help="Cancel all at the first failure.")] = (
        False
    ),
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Run every job, ignore results.")] = (
        False
    ),
) -> None:
    """Run the pipeline (all stages, or a selection) and write its report."""
    from pipeline.engines.open import open_engine
    from pipeline.stages.base import RunOptions

    cfg = load_config(config)
    the_plan = _plan(cfg, only, skip, no_needs, shard)
    if jobs is not None and jobs < 1:
        raise UsageError("--jobs must be at least 1")
    from pipeline.testing.cpus import available_cpus

    # What this process may really use (a CI runner's own cgroup quota included).
    cpus = available_cpus()
    chosen = open_engine(cfg, engine.value)
    err.print(f"engine: {chosen.name} ({chosen.reason})", markup=False)
    outcome = anyio.run(
        lambda: execute(
            cfg,
            the_plan,
            engine_name=chosen.name,
            engine_factory=chosen.factory,
            report_dir=report_dir,
            options=RunOptions(
                no_cache=no_cache, max_parallel=jobs or max(cpus, 4), total_cpus=cpus
            ),
            fail_fast=fail_fast,
            emit=lambda line: err.print(line, markup=False),
            finalizers=chosen.finalizers,
        )
    )
    from pipeline.reports.summary import render_summary

    out.print(render_summary(outcome.report), markup=False)
    out.print(f"report: {report_dir / 'report.json'}", markup=False)
    raise typer.Exit(outcome.exit_code)


@app.command()
def report(report_dir: Annotated[Path, typer.Argument(help="The --report-dir of a run.")]) -> None:
    """Print the summary of an earlier run."""
    from pipeline.reports.run_report import read_report
    from pipeline.reports.summary import render_summary

    out.print(render_summary(read_report(report_dir)), markup=False)


@app.command()
def schema(
    check: Annotated[
        Path | None, typer.Option("--check", help="Fail if this file differs from the model.")
    ] = None,
) -> None:
    """Print the JSON Schema of pipeline.yaml, generated from the config model."""
    from pipeline.config.schema import schema_text

    text = schema_text()
    if check is not None:
        if not check.exists() or check.read_text(encoding="utf-8") != text:
            raise UsageError(f"{check} is out of date: run `python -m pipeline schema > {check}`")
        out.print(f"{check} is up to date", markup=False)
        return
    sys.stdout.write(text)


@app.command()
def reproduce(
    target: Annotated[str, typer.Argument(help="A test id (path::test) or a job name.")],
    config: ConfigOpt = Path("pipeline.yaml"),
    job: Annotated[str | None, typer.Option("--job", help="The job the test ran in.")] = None,
    shell: Annotated[
        bool, typer.Option("--shell", help="An interactive shell in that container, services up.")
    ] = False,
    engine: Annotated[EngineChoice, typer.Option("--engine")] = EngineChoice.auto,
    report_dir: Annotated[
        Path, typer.Option("--report-dir", help="An earlier run's report, to find a test's job.")
    ] = Path("slipway-report"),
) -> None:
    """Run one test, or one job, in the same image, services and environment as CI."""
    from pipeline.engines.open import open_engine
    from pipeline.reproduce import reproduce as do_reproduce

    cfg = load_config(config)
    the_plan = _plan(cfg, None, None, False, None)
    chosen = open_engine(cfg, engine.value)
    code = anyio.run(
        lambda: do_reproduce(
            cfg,
            the_plan,
            target,
            job_name=job,
            shell=shell,
            factory=chosen.factory,
            engine_name=chosen.name,
            last_report=report_dir,
            emit=lambda line: out.print(line, markup=False, highlight=False),
        )
    )
    raise typer.Exit(code)


@app.command("merge-reports")
def merge_reports(
    sources: Annotated[list[Path], typer.Argument(help="Report directories of shard runs.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where the merged report goes.")] = Path(
        "slipway-report-merged"
    ),
) -> None:
    """Merge the reports of several runs (a CI matrix of --shard i/N) into one."""
    from pipeline.reports.merge import merge_reports as do_merge
    from pipeline.reports.summary import render_summary

    merged = do_merge(sources, output)
    out.print(render_summary(merged), markup=False)
    raise typer.Exit(0 if merged["status"] == "success" else 1)


images_app = typer.Typer(help="Base images for runners that reach no image registry.")
app.add_typer(images_app, name="images")


def _optional_config(path: Path) -> Config | None:
    """pipeline.yaml when there is one: doctor and bootstrap work without it too."""
    return load_config(path) if path.exists() else None


@images_app.command("bootstrap")
def images_bootstrap(
    config: ConfigOpt = Path("pipeline.yaml"),
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Build again even if present.")] = False,
    mirror: Annotated[str | None, typer.Option("--mirror", help="Debian mirror URL.")] = None,
) -> None:
    """Build the base images (Python, PostgreSQL, Node) from a Debian mirror; quick if present."""
    from pipeline.engines.docker import bootstrap as images

    cfg = _optional_config(config)
    bundle = None
    if cfg is not None and cfg.model.ca_bundle:
        from pipeline.engines.open import ca_bundle

        bundle = ca_bundle(cfg)
    elif images.DEFAULT_CA_BUNDLE.is_file():
        bundle = images.DEFAULT_CA_BUNDLE
    images.bootstrap(
        rebuild=rebuild,
        mirror=mirror or images.DEFAULT_MIRROR,
        ca_bundle=bundle,
        echo=lambda line: err.print(line, markup=False),
    )


@app.command()
def doctor(
    config: ConfigOpt = Path("pipeline.yaml"),
    engine: Annotated[EngineChoice, typer.Option("--engine")] = EngineChoice.auto,
) -> None:
    """Check the engine, the daemon, the base images, the CA bundle and the CPU a container gets."""
    from pipeline.doctor import run_doctor
    from pipeline.engines.open import ca_bundle
    from pipeline.model.aliases import DEFAULT_ALIASES

    cfg = _optional_config(config)
    aliases = dict(cfg.model.images.aliases) if cfg else dict(DEFAULT_ALIASES)
    raise typer.Exit(
        run_doctor(
            requested=engine.value,
            aliases=aliases,
            ca_bundle=ca_bundle(cfg) if cfg else None,
            console=out,
        )
    )


@app.command()
def gc(
    all_runs: Annotated[
        bool, typer.Option("--all", help="Also objects of runs that may still be going.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would go.")] = False,
) -> None:
    """Remove the containers, networks and volumes that dead runs left behind."""
    from pipeline.engines.docker.gc import collect

    report = collect(all_runs=all_runs, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for kind, names in (
        ("containers", report.containers),
        ("networks", report.networks),
        ("volumes", report.volumes),
    ):
        out.print(f"{verb} {len(names)} {kind}" + (f": {', '.join(names)}" if names else ""))


cache_app = typer.Typer(help="The job-result and cache-volume store (local, and S3 when configured).")
app.add_typer(cache_app, name="cache")


@cache_app.command("ls")
def cache_ls(
    config: ConfigOpt = Path("pipeline.yaml"),
    prefix: Annotated[
        str, typer.Option("--prefix", help="Only keys starting with this (jobs/, volumes/).")
    ] = "",
) -> None:
    """List the stored entries, most recently used first."""
    from pipeline.cache.admin import format_size, ls
    from pipeline.cache.runstore import admin_store

    store = admin_store(_optional_config(config))
    err.print(f"cache: {store.description}", markup=False)
    rows = ls(store, prefix)
    for row in rows:
        out.print(
            f"{row.key:<50} {format_size(row.size):>10}  used {row.last_used:%Y-%m-%d %H:%M}  "
            f"{row.where:<8} {row.job}",
            markup=False,
        )
    out.print(f"{len(rows)} entries, {format_size(sum(r.size for r in rows))}", markup=False)


@cache_app.command("prune")
def cache_prune(
    config: ConfigOpt = Path("pipeline.yaml"),
    older_than: Annotated[
        str | None, typer.Option("--older-than", help="Remove entries unused for this long (7d, 12h).")
    ] = None,
    max_size: Annotated[
        str | None, typer.Option("--max-size", help="Then drop least recently used ones down to this (5G).")
    ] = None,
    prefix: Annotated[str, typer.Option("--prefix", help="Only keys starting with this.")] = "",
) -> None:
    """Remove old entries (by last use), then the least recently used beyond a size."""
    from pipeline.cache.admin import format_size, prune
    from pipeline.cache.runstore import admin_store

    store = admin_store(_optional_config(config))
    err.print(f"cache: {store.description}", markup=False)
    removed = prune(store, older_than=older_than, max_size=max_size, prefix=prefix)
    for row in removed:
        out.print(f"removed {row.key} ({format_size(row.size)}) {row.job}", markup=False)
    out.print(f"removed {len(removed)} entries, {format_size(sum(r.size for r in removed))}", markup=False)


def main(argv: list[str] | None = None) -> int:
    """Entry point: the one place that turns errors into messages and exit codes."""
    try:
        # Without standalone mode click returns a typer.Exit's code instead of raising it.
        code = app(args=argv, standalone_mode=False)
    except SlipwayError as exc:
        err.print(f"error: {exc}", markup=False, style="red")
        return exc.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted", style="yellow")
        return EXIT_INTERRUPTED
    except Exception as exc:  # click's own usage errors are handled below
        import click

        if isinstance(exc, click.exceptions.Abort):
            return EXIT_INTERRUPTED
        if isinstance(exc, click.ClickException):
            exc.show()
            return EXIT_USAGE
        fd, name = tempfile.mkstemp(prefix="slipway-crash-", suffix=".txt")
        with os.fdopen(fd, "w") as fh:
            fh.write("".join(traceback.format_exception(exc)))
        err.print(
            f"internal error: {type(exc).__name__}: {exc}\n"
            f"this is a bug in Slipway; the traceback is in {name}",
            markup=False,
            style="red",
        )
        return 1
    return code if isinstance(code, int) else 0
